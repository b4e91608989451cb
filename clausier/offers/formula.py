"""The hours formula of the insertion offer, step by step.

    hours = amount excl. VAT × labour share × insertion rate ÷ average hourly cost

rounded to a multiple of ``round_to``; under the floor the lot carries no clause.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

from clausier.config import OfferSettings
from clausier.errors import InvalidInput
from clausier.formatting import fr_number
from clausier.validation.numbers import HOURLY_COST, INSERTION_RATE, DecimalRule, typed_number

TABLE = Path(__file__).parent / "labour_shares.csv"
_ROUNDING = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
_ROUNDING_LABELS = {"nearest": "le plus proche", "up": "supérieur", "down": "inférieur"}


@dataclass(frozen=True)
class Factor:
    value: Decimal
    source: str  # where the figure comes from, shown to the facilitator


@dataclass(frozen=True)
class Computation:
    amount: Decimal
    labour_share: Factor
    insertion_rate: Factor
    hourly_cost: Factor
    raw: Decimal
    rounded: int
    floor: int
    steps: list[str] = field(default_factory=list)
    cpv: str | None = None  # the CPV whose family gave the labour share
    cpv_source: str | None = None  # ``lot`` (the lot's own) or ``market`` (the lot has none)

    @property
    def below_floor(self) -> bool:
        return self.rounded < self.floor

    @property
    def hours(self) -> int:
        return 0 if self.below_floor else self.rounded

    def as_dict(self) -> dict:
        return {
            "amount": str(self.amount),
            "labour_share": str(self.labour_share.value),
            "labour_share_source": self.labour_share.source,
            "insertion_rate": str(self.insertion_rate.value),
            "insertion_rate_source": self.insertion_rate.source,
            "hourly_cost": str(self.hourly_cost.value),
            "hourly_cost_source": self.hourly_cost.source,
            "raw": str(self.raw.quantize(Decimal("0.01"))),
            "rounded": self.rounded,
            "floor": self.floor,
            "below_floor": self.below_floor,
            "hours": self.hours,
            "steps": self.steps,
            "cpv": self.cpv,
            "cpv_source": self.cpv_source,
        }


def percent(value: Decimal) -> str:
    return f"{fr_number(value * 100, 2 if (value * 100) % 1 else 0)} %"


def parse_share(
    text: str, what: str, *, in_percent: bool = False, rule: DecimalRule = INSERTION_RATE
) -> Decimal:
    """« 7 % », « 7% », « 0,07 » or « 0.07 » → 0.07, checked against ``rule`` (the insertion
    rate's or the labour share's, as a load file's or an API body's). ``in_percent``: a bare
    number is a percentage (a field labelled « % »: « 7 » → 0.07)."""
    try:
        return rule.read(text, in_percent=in_percent)
    except ValueError as exc:
        hint = ""
        value = typed_number(text, units=("%",))
        if not in_percent and value is not None and 1 < value <= 100 and "%" not in text:
            hint = f" (pour {text} %, écrivez « {text} % » ou {value / 100})"
        raise InvalidInput(f"{what} « {text} » : {exc}{hint}.") from exc


def parse_cost(text: str, what: str) -> Decimal:
    """« 32 », « 32,50 », « 32,50 € » → 32.50; checked against ``HOURLY_COST``, as a load
    file's or an API body's."""
    try:
        return HOURLY_COST.read(text)
    except ValueError as exc:
        raise InvalidInput(f"{what} « {text} » : {exc}.") from exc


@cache
def _table() -> dict[str, tuple[Decimal, str]]:
    with TABLE.open(encoding="utf-8", newline="") as handle:
        return {
            row["cpv_prefix"]: (Decimal(row["labour_share"]), row["family"])
            for row in csv.DictReader(handle)
        }


def labour_share_for(cpv: str, settings: OfferSettings) -> Factor | None:
    """The labour share of a trade, by the longest CPV prefix known (configuration first)."""
    digits = cpv.split("-")[0]
    for length in range(len(digits), 1, -1):
        prefix = digits[:length]
        if prefix in settings.labour_shares:
            return Factor(settings.labour_shares[prefix], f"config.yaml, CPV {prefix}…")
        if prefix in _table():
            share, family = _table()[prefix]
            return Factor(share, f"table des parts de main-d'œuvre : {family} (CPV {prefix}…)")
    if settings.default_labour_share is not None:
        return Factor(settings.default_labour_share, "config.yaml, part par défaut")
    return None


def compute(
    *,
    amount: Decimal,
    labour_share: Factor,
    insertion_rate: Factor,
    hourly_cost: Factor,
    settings: OfferSettings,
    cpv: str | None = None,
    cpv_source: str | None = None,
) -> Computation:
    if amount < 0:
        raise InvalidInput(f"Montant {fr_number(amount)} € : un montant ne peut pas être négatif.")
    for factor, what in (
        (labour_share, "part de main-d'œuvre"),
        (insertion_rate, "taux d'insertion"),
    ):
        if not 0 < factor.value <= 1:
            raise InvalidInput(f"{what} {percent(factor.value)} : attendu entre 0 et 100 %.")
    if hourly_cost.value <= 0:
        raise InvalidInput(
            f"Coût horaire {fr_number(hourly_cost.value)} € : attendu un montant positif."
        )

    labour = amount * labour_share.value
    insertion = labour * insertion_rate.value
    raw = insertion / hourly_cost.value
    step = Decimal(settings.round_to)
    rounded = int((raw / step).quantize(Decimal(1), rounding=_ROUNDING[settings.rounding]) * step)
    floor = settings.floor_hours
    steps = [
        f"Montant HT du lot : {fr_number(amount)} €",
        f"× part de main-d'œuvre {percent(labour_share.value)} ({labour_share.source}) "
        f"= {fr_number(labour)} € de main-d'œuvre",
        f"× taux d'insertion {percent(insertion_rate.value)} ({insertion_rate.source}) "
        f"= {fr_number(insertion)} €",
        f"÷ coût horaire moyen {fr_number(hourly_cost.value)} € ({hourly_cost.source}) "
        f"= {fr_number(raw, 2)} heures",
        f"arrondi au multiple de {settings.round_to} {_ROUNDING_LABELS[settings.rounding]} : "
        f"{fr_number(rounded)} heures",
        (
            f"sous le plancher de {floor} heures : le lot ne porte pas de clause"
            if rounded < floor
            else f"plancher de {floor} heures atteint : {fr_number(rounded)} heures d'insertion"
        ),
    ]
    return Computation(
        amount=amount,
        labour_share=labour_share,
        insertion_rate=insertion_rate,
        hourly_cost=hourly_cost,
        raw=raw,
        rounded=rounded,
        floor=floor,
        steps=steps,
        cpv=cpv,
        cpv_source=cpv_source,
    )
