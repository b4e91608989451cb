"""Over HTTP, a contractor declares an SIAE subcontract by its invoice (JSON or CSV): 10,000 €
at the convention's 30 €/h is 333.33 h; a placement names its ETTI, whose SIRET is checked."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clausier.auth.models import Role
from clausier.partnerships.models import Convention
from tests import factories as make

C, F = Role.contractor, Role.facilitator
EI_SIRET, ETTI_SIRET = make.siret(8_601), make.siret(8_602)
WRONG_SIRET = ETTI_SIRET[:-1] + str((int(ETTI_SIRET[-1]) + 1) % 10)


@pytest.fixture
def priced(world, store):
    """The own market's convention counts 30 € an hour."""
    with store.session() as session:
        convention = session.get(Convention, world.own.convention.id)
        convention.hourly_cost = Decimal("30")
        session.add(convention)
        session.commit()
    return world


def _months(world) -> list[str]:
    url = f"/api/lots/{world.own.lot.id}/declarations"
    return [s["period"] for s in world.call(C, "GET", url).json()["statements"]]


def _csv(world, text: str):
    return world.call(C, "POST", f"/api/lots/{world.own.lot.id}/declarations.csv",
                      content=text.encode(), headers={"Content-Type": "text/csv"})  # fmt: skip


def test_an_siae_subcontract_sent_as_csv_counts_its_invoice_at_the_convention_s_rate(priced):
    world = priced
    ref = world.own.convention.ref
    # the line of before: a subcontract with hours and no person
    refused = _csv(world, "mois;beneficiaire;modalite;heures\n2026-10;;subcontracting;333\n")
    assert refused.status_code == 422
    problems = refused.json()["error"]["problems"]
    # it names no body either: a subcontract goes through an EI, an ACI, an EA or an ESAT
    assert [(p["line"], p["field"]) for p in problems] == [
        (2, "body_siret"), (2, "body_kind"), (2, "beneficiary")]  # fmt: skip
    problem = problems[-1]
    assert "sa référence et son montant HT" in problem["message"]
    assert f"30 € de l'heure (convention {ref})" in problem["message"]
    assert _months(world) == ["2026-09"]

    response = _csv(world, (
        "mois;beneficiaire;modalite;heures;siret_organisme;type_organisme;facture;montant_ht\n"
        f"2026-10;;sous-traitance;;{EI_SIRET};EI;F-2026-101;10 000,00\n"
        f"2026-10;{world.own.beneficiary};direct_hire;35;;;;\n"
    ))  # fmt: skip
    assert response.status_code == 200, response.text
    [october] = response.json()["months"]
    invoice, person = october["statement"]["lines"]
    assert (invoice["beneficiary"], invoice["modality"], invoice["hours"]) == (
        None, "subcontracting", "333.33")  # fmt: skip
    assert (invoice["invoice_ref"], invoice["invoice_amount"]) == ("F-2026-101", "10000.00")
    assert (invoice["hourly_cost"], invoice["hourly_cost_source"]) == ("30.00", f"convention {ref}")
    assert (invoice["body_kind"], invoice["body_siret"]) == ("ei", EI_SIRET)
    assert person["hours"] == "35.00" and person["body_kind"] is None

    reviewed = world.call(F, "POST", "/api/declarations/review",
                          json={"decisions": [{"line": invoice["id"], "decision": "validate"}]})  # fmt: skip
    assert reviewed.status_code == 200, reviewed.text
    lot = world.call(C, "GET", f"/api/lots/{world.own.lot.id}/declarations").json()
    assert Decimal(lot["hours_validated"]) == Decimal("333.33")  # the only line validated


def test_an_siae_subcontract_put_as_json_counts_333_33_hours(priced):
    world = priced
    url = f"/api/lots/{world.own.lot.id}/declarations/2026-10"
    line = {"modality": "subcontracting", "body_siret": EI_SIRET, "body_kind": "ei",
            "invoice_ref": "F-2026-101", "invoice_amount": 10000}  # fmt: skip
    response = world.call(C, "PUT", url, json={"lines": [line]})
    assert response.status_code == 200, response.text
    [shown] = response.json()["statement"]["lines"]
    assert (shown["hours"], shown["invoice_amount"], shown["hourly_cost"]) == (
        "333.33", "10000.00", "30.00")  # fmt: skip


def test_a_placement_through_an_etti_with_a_wrong_siret_is_refused_over_http(priced):
    world = priced
    url = f"/api/lots/{world.own.lot.id}/declarations/2026-10"
    line = {"beneficiary": world.own.beneficiary, "modality": "placement", "hours": 20,
            "contract_type": "temporary", "body_siret": WRONG_SIRET, "body_kind": "etti"}  # fmt: skip
    response = world.call(C, "PUT", url, json={"lines": [line]})
    assert response.status_code == 422
    [problem] = response.json()["error"]["problems"]
    assert (problem["line"], problem["field"]) == (1, "body_siret")
    assert "clé de contrôle incorrecte" in problem["message"]
    assert _months(world) == ["2026-09"]

    missing = world.call(C, "PUT", url, json={"lines": [line | {"body_siret": None, "body_kind": None}]})  # fmt: skip
    assert missing.status_code == 422
    assert [p["field"] for p in missing.json()["error"]["problems"]] == ["body_siret", "body_kind"]

    response = world.call(C, "PUT", url, json={"lines": [line | {"body_siret": ETTI_SIRET}]})
    assert response.status_code == 200, response.text
    [shown] = response.json()["statement"]["lines"]
    assert shown["body_kind_label"] == "entreprise de travail temporaire d'insertion (ETTI)"
