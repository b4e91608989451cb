"""The hours formula of DOMAIN.md, its rounding, its floor and the refusals."""

from decimal import Decimal

import pytest

from clausier.config import OfferSettings
from clausier.errors import InvalidInput
from clausier.offers.formula import Factor, compute, labour_share_for, parse_share


def hours_for(amount, share, rate, cost, **settings) -> int:
    return compute(
        amount=Decimal(amount),
        labour_share=Factor(Decimal(share), "test"),
        insertion_rate=Factor(Decimal(rate), "test"),
        hourly_cost=Factor(Decimal(cost), "test"),
        settings=OfferSettings(**settings),
    ).hours


def test_the_published_worked_examples():
    assert hours_for(1_000_000, "0.50", "0.05", 30, round_to=1) == 833
    assert hours_for(1_200_000, "0.45", "0.07", 38, round_to=1) == 995
    assert hours_for(1_200_000, "0.45", "0.07", 38) == 995
    assert hours_for(1_000_000, "0.50", "0.05", 30) == 835, "rounded to the nearest 5 by default"
    assert hours_for(1_000_000, "0.50", "0.05", 30, round_to=10, rounding="down") == 830


def test_under_the_floor_the_lot_carries_no_clause():
    computation = compute(
        amount=Decimal(40_000), labour_share=Factor(Decimal("0.5"), "t"), insertion_rate=Factor(Decimal("0.05"), "t"),
        hourly_cost=Factor(Decimal(30), "t"), settings=OfferSettings(),
    )  # fmt: skip
    assert (computation.rounded, computation.below_floor, computation.hours) == (35, False, 35)
    assert hours_for(30_000, "0.5", "0.05", 30) == 0
    assert hours_for(30_000, "0.5", "0.05", 30, floor_hours=0) == 25


def test_the_steps_explain_the_figure():
    computation = compute(
        amount=Decimal(1_000_000), labour_share=Factor(Decimal("0.5"), "table"), insertion_rate=Factor(Decimal("0.05"), "convention C-1"),
        hourly_cost=Factor(Decimal(30), "config.yaml"), settings=OfferSettings(),
    )  # fmt: skip
    assert (
        computation.steps[1]
        == "× part de main-d'œuvre 50 % (table) = 500\u202f000 € de main-d'œuvre"
    )
    assert computation.steps[3] == "÷ coût horaire moyen 30 € (config.yaml) = 833,33 heures"
    assert computation.steps[5] == "plancher de 35 heures atteint : 835 heures d'insertion"


def test_impossible_figures_are_refused_with_a_clear_message():
    with pytest.raises(InvalidInput, match="un montant ne peut pas être négatif"):
        hours_for(-1, "0.5", "0.05", 30)
    with pytest.raises(InvalidInput, match="taux d'insertion 120 % : attendu entre 0 et 100 %"):
        hours_for(1000, "0.5", "1.2", 30)
    with pytest.raises(
        InvalidInput, match="attendu : une valeur inférieure ou égale à 100 % \\(pour 7 %"
    ):
        parse_share("7", "Taux d'insertion")
    with pytest.raises(InvalidInput, match="attendu : un nombre"):
        parse_share("sept", "Taux d'insertion")


@pytest.mark.parametrize(
    ("text", "value"),
    [("7 %", "0.07"), ("7%", "0.07"), ("0,07", "0.07"), ("0.5", "0.5"), ("12,5 %", "0.125")],
)
def test_shares_as_people_write_them(text, value):
    assert parse_share(text, "Taux") == Decimal(value)


def test_labour_share_by_the_longest_cpv_prefix_with_the_configuration_first():
    settings = OfferSettings()
    assert labour_share_for("90911200", settings).value == Decimal("0.75")  # cleaning
    assert labour_share_for("45233140", settings).value == Decimal("0.25")  # roads
    assert labour_share_for("45210000-2", settings).value == Decimal("0.45")
    assert labour_share_for("03000000", settings) is None
    tuned = OfferSettings(
        labour_shares={"4523": Decimal("0.3")}, default_labour_share=Decimal("0.4")
    )
    assert labour_share_for("45233140", tuned).value == Decimal("0.3")
    assert labour_share_for("03000000", tuned).value == Decimal("0.4")


@pytest.mark.parametrize("text", ["1e999999999", "-1e999999999", "1e-999999999", "1e999999999 %"])
def test_a_share_past_what_a_decimal_holds_is_refused_in_words(text):
    """« 1e999999999 » in a field in % overflowed when divided by 100 (a 500 on the offer page)."""
    with pytest.raises(InvalidInput, match="Taux"):
        parse_share(text, "Taux", in_percent=True)
