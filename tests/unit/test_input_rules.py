"""Issue 16: each number rule (``validation.numbers``) says its refusal in one set of French
words, whether pydantic checks a load row or an API body, or a form or a CLI option reads a
value typed in French (docs/input-rules.md)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from pydantic import ValidationError

from clausier.errors import InvalidInput
from clausier.loading.rows import BuyerRow, ConventionRow, DeclarationLineRow, LotRow
from clausier.offers.formula import parse_cost, parse_share
from clausier.validation.messages import french_message
from clausier.validation.numbers import (
    HOURLY_COST,
    INSERTION_RATE,
    LABOUR_SHARE,
    LOT_HOURS,
    MONTH_HOURS,
    places_of,
    typed_number,
)


def row_words(model, values: dict) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(values)
    return [french_message(error) for error in refused.value.errors()]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (
            "0",
            "attendu : une valeur strictement supérieure à 0 (0 heure : retirez la ligne plutôt)",
        ),
        ("-1", "attendu : une valeur strictement supérieure à 0"),
        ("1e9", "attendu : une valeur strictement inférieure à 1000"),
        ("12.345", "attendu : deux décimales au plus"),
    ],
)
def test_a_months_hours_say_the_same_words_in_a_row_and_typed(value, words):
    assert MONTH_HOURS.problem(Decimal(value)) == words
    line = {"beneficiary": "B-0123456A", "modality": "direct_hire", "hours": value}
    assert row_words(DeclarationLineRow, line) == [words]


@pytest.mark.parametrize(("value", "typed"), [("1.5", "150"), ("0", "0"), ("0.07125", "7,125")])
def test_a_rate_says_the_same_words_as_a_fraction_and_in_per_cent(value, typed):
    words = INSERTION_RATE.problem(Decimal(value))
    assert words and words == INSERTION_RATE.problem(
        typed_number(typed), scale=100
    )  # a load file's 1.5 as a form's « 150 » %
    row = {"siret": "41234567000019", "name": "A", "email": "a@a.fr", "insertion_rate": value}
    assert row_words(BuyerRow, row) == [words]
    with pytest.raises(InvalidInput, match=re.escape(f"« {typed} » : {words}")):
        parse_share(typed, "Taux d'insertion", in_percent=True)


def test_a_share_is_said_in_per_cent():
    assert (
        INSERTION_RATE.problem(Decimal("1.5")) == "attendu : une valeur inférieure ou égale à 100 %"
    )
    assert LABOUR_SHARE.problem(Decimal(0)) == "attendu : une valeur strictement supérieure à 0 %"
    assert INSERTION_RATE.read("7 %") == Decimal("0.07")
    assert INSERTION_RATE.read("5,5", in_percent=True) == Decimal("0.055")
    with pytest.raises(ValueError, match="inférieure ou égale à 100 %"):
        INSERTION_RATE.read("1e999999999", in_percent=True)  # compared before dividing
    with pytest.raises(ValueError, match="deux décimales au plus"):
        INSERTION_RATE.read("1e-999999999", in_percent=True)


@pytest.mark.parametrize("typed", ["0", "900", "32,505", "abc", "NaN"])
def test_an_hourly_cost_says_the_same_words_in_a_row_the_page_and_the_cli(typed):
    value = typed_number(typed)
    words = HOURLY_COST.problem(value) if value is not None else "attendu : un nombre"
    with pytest.raises(InvalidInput, match=re.escape(f"« {typed} » : {words}")):
        parse_cost(typed, "Coût horaire")
    if value is not None:
        row = {"siret": "41234567000019", "name": "A", "email": "a@a.fr", "hourly_cost": str(value)}
        assert row_words(BuyerRow, row) == [words]
    assert parse_cost("32,50 €", "Coût horaire") == Decimal("32.50")


@pytest.mark.parametrize("hours", [-1, 1_000_000_000, 10_000_001])
def test_a_lots_hours_say_the_same_words_in_a_row_and_typed(hours):
    words = LOT_HOURS.problem(Decimal(hours))
    assert words
    row = {"number": 1, "title": "Lot", "amount": "1000", "hours": hours}
    assert row_words(LotRow, row) == [words]
    with pytest.raises(ValueError, match=re.escape(words)):
        LOT_HOURS.read(str(hours))
    assert LOT_HOURS.problem(Decimal(0)) is None  # a lot without clause


def test_a_conventions_dates_are_within_the_years_its_periods_count():
    base = {"ref": "CONV-1", "buyer": "41234567000019", "structure": "mde", "renewal": "tacit",
            "territories": ["50129"], "services": ["advise"]}  # fmt: skip
    words = row_words(ConventionRow, base | {"starts_on": "1999-01-01", "ends_on": "2027-01-01"})
    assert words == ["attendu : une date entre 2000 et 2099"]
    words = row_words(ConventionRow, base | {"starts_on": "2027-01-01", "ends_on": "2026-01-01"})
    assert words == ["ends_on : la fin de la convention précède son début"]


def test_decimal_places_are_counted_without_a_context():
    assert [places_of(Decimal(t)) for t in ("1.50", "100", "1E+2", "0.00", "1e-999999999")] == [
        1, 0, 0, 0, 999_999_999,
    ]  # fmt: skip
    assert typed_number("1 200,50") == Decimal("1200.50")
    assert typed_number("32,50 €") is None  # a unit only where the rule has it
    assert typed_number("32,50 €", units=("€",)) == Decimal("32.50")
