"""``GET /api/reports``: every format, and each role reading only its own markets (the world of
``tests/reports_world.py``: the Région's R-1 and R-2, the Département's D-3, one structure)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from tests import factories as make
from tests import reports_world


@pytest.fixture
def api(store, clock):
    world = reports_world.build(store, clock)
    with store.session() as session:
        elsewhere = make.structure(session, "plie-caen")
        orgs = {
            "admin": (Role.admin, None),
            "region": (Role.buyer, world["region"].siret),
            "facilitator": (Role.facilitator, "mde-cotentin"),
            "contractor": (Role.contractor, world["winner"].siret),
        }
        issued = {
            name: tokens.create(session, role=role, org=org, expires_at=None, now=clock_now())[0]
            for name, (role, org) in orgs.items()
        }
        session.commit()
    client = TestClient(create_app(store.engine, get_settings()))

    def get(who: str, query: str):
        headers = {"Authorization": f"Bearer {issued[who]}"}
        return client.get(f"/api/reports?{query}", headers=headers)

    return {"get": get, "world": world, "elsewhere": elsewhere}


def clock_now():
    return clock.now()


def refs(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [market["ref"] for market in response.json()["markets"]]


def test_each_role_reads_its_own_markets_only(api):
    get, world = api["get"], api["world"]
    region, departement = world["region"].siret, world["departement"].siret
    everything = ["MKT-D-3", "MKT-R-1", "MKT-R-2"]
    # an operator reads any scope
    assert refs(get("admin", "territory=50&year=2027")) == everything
    assert refs(get("admin", f"buyer={departement}&year=2027")) == ["MKT-D-3"]
    # a buyer: its own report; another buyer or its market does not exist; a territory or a
    # structure is narrowed to its own markets, and the report says so
    own = get("region", f"buyer={region}&year=2027").json()
    assert own["totals"]["validated"] == "293.25" and own["note"] is None
    assert get("region", f"buyer={departement}&year=2027").status_code == 404
    assert get("region", "market=MKT-D-3&year=2027").status_code == 404
    assert refs(get("region", "market=MKT-R-2&year=2027")) == ["MKT-R-2"]
    for query in ("territory=50", "structure=mde-cotentin"):
        narrowed = get("region", f"{query}&year=2027")
        assert refs(narrowed) == ["MKT-R-1", "MKT-R-2"]
        assert narrowed.json()["note"] == "Limité aux marchés de Région Normandie."
    # a facilitator: its structure's markets, whoever the buyer
    assert refs(get("facilitator", "structure=mde-cotentin&year=2027")) == everything
    assert refs(get("facilitator", f"buyer={departement}&year=2027")) == ["MKT-D-3"]
    assert get("facilitator", "structure=plie-caen&year=2027").status_code == 404
    # a contractor has no report
    refused = get("contractor", f"buyer={region}&year=2027")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "Forbidden"


def test_formats_and_mistakes(api):
    get, region = api["get"], api["world"]["region"].siret
    csv = get("region", f"buyer={region}&year=2027&format=csv")
    assert csv.status_code == 200 and csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.headers["content-disposition"] == (
        f'attachment; filename="rapport-buyer-{region}-2027.csv"'
    )
    assert csv.content.startswith(b"\xef\xbb\xbf") and b"'=HYPERLINK" in csv.content
    xlsx = get("region", f"buyer={region}&year=2027&format=xlsx")
    assert xlsx.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert xlsx.headers["content-disposition"].endswith('-2027.xlsx"')
    book = load_workbook(io.BytesIO(xlsx.content))
    assert book.sheetnames == ["Synthèse", "Marchés", "Bénéficiaires", "Mois"]
    page = get("region", f"buyer={region}&year=2027&format=html")
    assert page.headers["content-type"].startswith("text/html")
    assert page.text.count('<svg class="chart') == 3 and "Nom secret" not in page.text
    assert get("region", f"buyer={region}&year=2027").headers["content-type"] == (
        "application/json"
    )

    def error(response, status):
        assert response.status_code == status, response.text
        return response.json()["error"]["message"]

    assert "un seul" in error(get("admin", "year=2027"), 422)
    assert "2 reçu(s)" in error(get("admin", f"buyer={region}&territory=50&year=2027"), 422)
    assert "year" in error(get("admin", f"buyer={region}"), 422)
    assert "ZZ" in error(get("admin", "territory=ZZ&year=2027"), 422)
    assert "Acheteur introuvable" in error(get("admin", "buyer=Personne&year=2027"), 404)
    assert error(get("admin", f"buyer={region}&year=2027&format=pdf"), 422)
