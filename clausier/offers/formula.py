"""The hours formula of the insertion offer, step by step.

    hours = amount excl. VAT × labour share × insertion rate ÷ average hourly cost

rounded to a multiple of ``round_to``; under the floor the lot carries no clause.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from clausier.config import OfferSettings
from clausier.errors import InvalidInput
from clausier.formatting import fr_number

TABLE = Path(__file__).parent / "labour_shares.csv"
_ROUNDING = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}
MIN_COST, MAX_COST = 1, 500  # an hourly cost typed, as config.yaml bounds its own
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
        }


def percent(value: Decimal) -> str:
    return f"{fr_number(value * 100, 2 if (value * 100) % 1 else 0)} %"


def parse_share(text: str, what: str, *, in_percent: bool = False) -> Decimal:
    """« 7 % », « 7% », « 0,07 » or « 0.07 » → 0.07; above 100 % is refused. ``in_percent``:
    a bare number is a percentage (a field labelled « % »: « 7 » → 0.07)."""
    raw = text.strip().replace("\u202f", "").replace(" ", "").replace(",", ".")
    is_percent = raw.endswith("%") or in_percent
    try:
        value = Decimal(raw.rstrip("%"))
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{what} « {text} » : attendu un nombre, par exemple 7 % ou 0,07."
        ) from exc
    if not value.is_finite():
        raise InvalidInput(f"{what} « {text} » : attendu un nombre, par exemple 7 % ou 0,07.")
    if value <= 0:
        raise InvalidInput(f"{what} « {text} » : doit être supérieur à 0.")
    if value > (100 if is_percent else 1):  # before dividing: « 1e999999999 » / 100 overflows
        hint = (
            f" (pour {text} %, écrivez « {text} % » ou {value / 100})"
            if not is_percent and value <= 100
            else ""
        )
        raise InvalidInput(f"{what} « {text} » : au-dessus de 100 %, c'est impossible{hint}.")
    if is_percent:
        value /= 100
    if value <= 0:  # too small to be written once divided (« 1e-999999999 % »)
        raise InvalidInput(f"{what} « {text} » : doit être supérieur à 0.")
    return value


def parse_cost(text: str, what: str) -> Decimal:
    """« 32 », « 32,50 », « 32,50 € » → 32.50; a positive amount in euros."""
    raw = text.strip().replace("\u202f", "").replace(" ", "").replace(",", ".").removesuffix("€")
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise InvalidInput(
            f"{what} « {text} » : attendu un montant en euros, par exemple 32 ou 32,50."
        ) from exc
    if not value.is_finite() or not MIN_COST <= value <= MAX_COST:
        raise InvalidInput(
            f"{what} « {text} » : attendu un montant entre {MIN_COST} et {MAX_COST} € de l'heure."
        )
    return value


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
    )
