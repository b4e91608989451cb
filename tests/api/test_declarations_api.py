"""A contractor declares over HTTP (JSON or CSV), a facilitator reviews; bad input is refused
line by line with nothing written, and a name never leaves the structure."""

from __future__ import annotations

from clausier.auth.models import Role
from tests import factories as make

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def _statements(world, role):
    return world.call(role, "GET", f"/api/lots/{world.own.lot.id}/declarations").json()


def test_a_bad_statement_is_refused_line_by_line_and_nothing_is_written(world):
    url = f"/api/lots/{world.own.lot.id}/declarations/2026-10"
    lines = [
        {"beneficiary": world.own.beneficiary, "modality": "direct_hire", "hours": "-3"},
        {"beneficiary": world.other.beneficiary, "modality": "direct_hire", "hours": 10},
    ]
    response = world.call(C, "PUT", url, json={"lines": lines})
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [(p["line"], p["field"]) for p in problems] == [(1, "hours"), (2, "beneficiary")]
    assert "strictement supérieure à 0" in problems[0]["message"]  # MONTH_HOURS
    # another structure's person is unknown here: codes do not leak across structures
    assert "inconnu de la structure qui suit ce marché" in problems[1]["message"]
    assert [s["period"] for s in _statements(world, C)["statements"]] == ["2026-09"]


def test_a_csv_with_one_bad_line_writes_nothing_and_names_the_line(world):
    code = world.own.beneficiary
    text = (
        "mois;beneficiaire;modalite;heures;type_contrat;siret_organisme;type_organisme\n"
        f"2026-10;{code};direct_hire;35,5;cdd;;\n"
        f"2026-10;{code};placement;douze;;{make.siret(9_301)};etti\n"
        f"2026-11;{code};direct_hire;20;cdd;;\n"
    )
    url = f"/api/lots/{world.own.lot.id}/declarations.csv"
    response = world.call(C, "POST", url, content=text.encode("cp1252"),
                          headers={"Content-Type": "text/csv"})  # fmt: skip
    assert response.status_code == 422
    [problem] = response.json()["error"]["problems"]
    assert (problem["file"], problem["line"], problem["field"]) == ("fichier CSV", 3, "hours")
    assert [s["period"] for s in _statements(world, C)["statements"]] == ["2026-09"]

    fixed = text.replace("douze", "12")
    response = world.call(
        C, "POST", url, content=fixed.encode(), headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    assert [m["period"] for m in response.json()["months"]] == ["2026-10", "2026-11"]
    october = response.json()["months"][0]["statement"]["lines"]
    assert {line["hours"] for line in october} == {"35.50", "12.00"}


def test_only_the_structures_facilitators_read_names(world):
    contractor, buyer, facilitator, admin = (_statements(world, role) for role in (C, B, F, A))
    assert facilitator["statements"][0]["lines"][0]["name"] == "Personne a"
    for body in (contractor, buyer, admin):
        assert body["statements"][0]["lines"][0]["beneficiary"] == world.own.beneficiary
        assert "Personne a" not in repr(body)
    people = world.call(F, "GET", "/api/beneficiaries").json()["items"]
    assert [p["name"] for p in people] == ["Personne a"]
    admin_view = world.call(A, "GET", f"/api/beneficiaries?structure={world.own.structure.ref}")
    assert admin_view.json()["items"][0]["name"] is None


def test_review_counts_validated_hours_and_a_rejection_needs_a_reason(world):
    line = world.own.line.id
    refused = world.call(F, "POST", "/api/declarations/review",
                         json={"decisions": [{"line": line, "decision": "reject"}]})  # fmt: skip
    assert refused.status_code == 422 and "un rejet se motive" in refused.json()["error"]["message"]
    ok = world.call(F, "POST", "/api/declarations/review",
                    json={"decisions": [{"line": line, "decision": "validate"}]})  # fmt: skip
    assert ok.json()["items"] == [{"id": line, "status": "validated", "reason": None}]
    status = world.call(B, "GET", f"/api/markets/{world.own.market.ref}").json()
    assert status["lots"][0]["hours_validated"] == "35.00"
    assert "check_declaration" not in {t["kind"] for t in status["open_tasks"]}


def test_a_beneficiary_is_registered_with_a_code_the_product_issues(world):
    body = {"public": "other", "sex": "M", "age_band": "50_plus",
            "checked_by": world.own.facilitator_email, "checked_on": "2026-11-20"}  # fmt: skip
    refused = world.call(F, "POST", "/api/beneficiaries", json=body)
    assert refused.status_code == 422 and "indiquez le motif" in refused.json()["error"]["message"]
    created = world.call(F, "POST", "/api/beneficiaries",
                         json={**body, "public_reason": "sortant de détention", "name": "Jo"})  # fmt: skip
    assert created.status_code == 201
    assert created.json()["code"].startswith("B-") and len(created.json()["code"]) == 10
    stranger = world.call(F, "POST", "/api/beneficiaries",
                          json={**body, "public": "deld", "checked_by": "f0@mde-b.example"})  # fmt: skip
    assert stranger.status_code == 422 and "n'est pas un facilitateur" in stranger.text


def test_a_contractor_past_the_monthly_maximum_learns_no_other_contractors_hours(world, store):
    """Another company declared 140 h for the same person in October on lot 2: the contractor of
    lot 1, declaring 50 h more, is told the monthly maximum is passed, not the 140 h nor the
    190 h total; an operator is told the detail, and the facilitator reads both lots."""
    from sqlmodel import select

    from clausier import clock
    from clausier.config import get_settings
    from clausier.declarations.service import LineInput, declare
    from clausier.markets.models import Lot

    own = world.own
    with store.session() as session:
        lot_2 = session.exec(
            select(Lot).where(Lot.market_id == own.market.id, Lot.number == 2)
        ).one()
        lot_2.contractor_id = world.other.contractor.id
        declare(session, lot=lot_2, period="2026-10", actor="contractor:autre",
                lines=[LineInput(own.beneficiary, "direct_hire", 140)], settings=get_settings(),
                today=clock.today(), now=clock.now())  # fmt: skip
        session.commit()
    url = f"/api/lots/{own.lot.id}/declarations"
    line = {"beneficiary": own.beneficiary, "modality": "direct_hire", "hours": 50}
    by_json = world.call(C, "PUT", f"{url}/2026-10", json={"lines": [line]})
    by_csv = world.call(C, "POST", f"{url}.csv?period=2026-10",
                        content=f"beneficiaire;modalite;heures\n{own.beneficiary};direct_hire;50\n",
                        headers={"Content-Type": "text/csv"})  # fmt: skip
    for refused in (by_json, by_csv):
        assert refused.status_code == 422, refused.text
        [problem] = refused.json()["error"]["problems"]
        assert problem["message"] == (
            f"{own.beneficiary} : en octobre 2026, avec ce relevé (50,00 h), ses heures dépassent "
            "le maximum plausible de 180 h par personne et par mois, tous lots confondus"
        )
        assert "140" not in refused.text and "190" not in refused.text
    operator = world.call(A, "PUT", f"{url}/2026-10", json={"lines": [line]})
    assert operator.status_code == 422
    assert (
        "190,00 h en octobre 2026, dont 140,00 h déjà déclarées sur d'autres lots"
        in (operator.json()["error"]["problems"][0]["message"])
    )
    seen = world.call(F, "GET", f"/api/lots/{lot_2.id}/declarations").json()
    assert [line["hours"] for s in seen["statements"] for line in s["lines"]] == ["140.00"]
