"""The employer does not learn why its workers are eligible: a contractor reads each worker's
code, modality and hours, never the criterion (« allocataire de minima sociaux », RQTH), nor the
sex or age band, that the facilitators keep from it (DOMAIN.md, "Personal data")."""

from __future__ import annotations

from clausier import clock
from clausier.auth.models import Role
from clausier.beneficiaries.vocabulary import AGE_BANDS, PUBLICS
from clausier.config import get_settings
from clausier.declarations.service import LineInput, declare
from clausier.markets.models import Lot
from clausier.partners.models import Structure
from tests import factories as make

B, F, C = Role.buyer, Role.facilitator, Role.contractor
CRITERIA = ("minima_sociaux", "rqth")
# what would say the criteria, the sex or the age band, in codes or in words
PERSONAL_WORDS = (*CRITERIA, PUBLICS["minima_sociaux"], PUBLICS["rqth"], "RSA", "RQTH", "handicap",
                  "allocataire", "26_to_49", AGE_BANDS["26_to_49"], "femme")  # fmt: skip


def _worker_on_the_lot(store, world) -> str:
    """An RSA recipient with a recognised disability, who works 35 h in October on lot 1."""
    with store.session() as session:
        structure = session.get(Structure, world.own.structure.id)
        person = make.beneficiary(session, structure, public=CRITERIA, sex="F", age_band="26_to_49")
        declare(
            session, lot=session.get(Lot, world.own.lot.id), period="2026-10",
            lines=[LineInput(person.code, "direct_hire", 35, "cdd")], actor="test",
            settings=get_settings(), today=clock.today(), now=clock.now(),
        )  # fmt: skip
        session.commit()
        return person.code


def _line_of(body: dict, code: str) -> dict:
    lines = [line for s in body["statements"] for line in s["lines"] if line["beneficiary"] == code]
    assert len(lines) == 1
    return lines[0]


def test_a_contractor_reads_its_workers_code_modality_and_hours_never_their_criterion(store, world):
    code = _worker_on_the_lot(store, world)
    url = f"/api/lots/{world.own.lot.id}/declarations"

    response = world.call(C, "GET", url)
    assert response.status_code == 200
    line = _line_of(response.json(), code)
    assert (line["beneficiary"], line["modality"], line["hours"]) == (code, "direct_hire", "35.00")
    assert [line[key] for key in ("name", "public", "public_label", "sex", "age_band")] == [
        None
    ] * 5
    said = response.text
    assert not [word for word in PERSONAL_WORDS if word in said], said

    # what the contractor's declaration answers (the month as it now stands) says no more
    put = world.call(C, "PUT", f"{url}/2026-10", json={"lines": [
        {"beneficiary": code, "modality": "direct_hire", "hours": 36, "contract_type": "cdd"}]})  # fmt: skip
    assert put.status_code == 200, put.text
    assert not [word for word in PERSONAL_WORDS if word in put.text], put.text
    csv = world.call(C, "POST", f"{url}.csv", content=f"mois;beneficiaire;modalite;heures\n2026-10;{code};direct_hire;37\n".encode(),
                     headers={"Content-Type": "text/csv"})  # fmt: skip
    assert csv.status_code == 200, csv.text
    assert not [word for word in PERSONAL_WORDS if word in csv.text], csv.text

    # the facilitators who checked the criteria, and the buyer, still read them
    for role in (F, B):
        seen = _line_of(world.call(role, "GET", url).json(), code)
        assert seen["public"] in CRITERIA and seen["sex"] == "F"
        assert seen["age_band"] == AGE_BANDS["26_to_49"]
