"""The rules of a line's body and of a subcontract's invoice, without a store."""

from __future__ import annotations

from decimal import Decimal

from clausier.beneficiaries.vocabulary import BODY_KINDS, INTEGRATION_KINDS, KINDS_BY_MODALITY
from clausier.declarations import bodies
from tests.factories import siret


def test_a_subcontract_of_10000_euros_at_30_an_hour_is_333_33_hours():
    assert bodies.invoice_hours(Decimal("10000"), Decimal("30")) == Decimal("333.33")
    assert bodies.invoice_hours(Decimal("10000"), Decimal("32")) == Decimal("312.50")


def test_each_modality_takes_its_kinds_and_the_integration_structures_are_the_siae_and_geiq():
    assert KINDS_BY_MODALITY["placement"] == ("etti", "ai", "geiq", "temp_agency")
    assert KINDS_BY_MODALITY["subcontracting"] == KINDS_BY_MODALITY["co_contracting"] == (
        "ei", "aci", "ea", "esat")  # fmt: skip
    assert {"ei", "aci", "etti", "ai", "geiq"} == INTEGRATION_KINDS
    assert set(BODY_KINDS) == {kind for kinds in KINDS_BY_MODALITY.values() for kind in kinds}


def test_a_body_is_checked_against_its_modality():
    etti = siret(77)
    assert bodies.body_problems("placement", etti, "etti") == []
    assert bodies.body_problems("direct_hire", None, None) == []
    [(field, message)] = bodies.body_problems("co_contracting", etti, "etti")
    assert field == "body_kind" and "ne passe pas par une ETTI" in message
    wrong = etti[:-1] + str((int(etti[-1]) + 1) % 10)
    [(field, message)] = bodies.body_problems("placement", wrong, "etti")
    assert field == "body_siret" and "algorithme de Luhn" in message


def test_an_invoice_beyond_the_lot_or_with_a_person_is_refused():
    problems, amount = bodies.invoice_problems(
        modality="subcontracting", beneficiary="B-7K2M4Q1A", hours="35", invoice_ref="F-1",
        invoice_amount="2 000 000", lot_amount=Decimal("1000000"),
    )  # fmt: skip
    assert amount is None
    assert [field for field, _message in problems] == ["beneficiary", "hours", "invoice_amount"]
    problems, amount = bodies.invoice_problems(
        modality="subcontracting", beneficiary=None, hours=None, invoice_ref="F-1",
        invoice_amount="10 000,00 €", lot_amount=Decimal("1000000"),
    )  # fmt: skip
    assert (problems, amount) == ([], Decimal("10000.00"))
