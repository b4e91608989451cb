"""Decimal numbers bounded once: their bounds, their digits and their decimal places, which every
entry point checks (a load row, an API body, a CSV line, a form's field, a CLI option) and the
API's description states, from the same figures and in the same French words (pydantic's own
schema of a ``Decimal`` says neither the digits nor the places, and takes any text for one).
``docs/input-rules.md`` lists who uses which rule."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

NOT_A_NUMBER = "attendu : un nombre"
_PLACES_WORDS = {
    1: "une décimale",
    2: "deux décimales",
    3: "trois décimales",
    4: "quatre décimales",
}
# what people type around a French number: spaces (also no-break and narrow ones), a unit
_TYPED_SPACES = re.compile(r"[\s\u00a0\u202f]")


def places_of(value: Decimal) -> int:
    """Decimal places that count: « 1.50 » has one, « 100 » none."""
    _sign, digits, exponent = value.as_tuple()  # not ``normalize``: its context rounds 1e-999999999
    if not isinstance(exponent, int) or not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def typed_number(text: str, *, units: tuple[str, ...] = ()) -> Decimal | None:
    """A number as typed in French: « 1 200,50 », or with one of ``units`` after it
    (« 32,50 € », « 7 % »); None if it is none (NaN and infinities included)."""
    raw = _TYPED_SPACES.sub("", text).replace(",", ".")
    for unit in units:
        raw = raw.removesuffix(unit)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


@dataclass(frozen=True)
class DecimalRule:
    places: int
    digits: int | None = None  # in all, the places included
    gt: int | None = None
    ge: int | None = None
    lt: int | None = None
    le: int | None = None
    percent: bool = False  # a share: its bounds are said in per cent (0.05 is « 5 % »)
    unit: str = ""  # what may follow a typed value (« 32,50 € »)
    low_hint: str = ""  # said after the words of a value equal to ``gt`` (« retirez la ligne »)

    def _said(self, bound: int) -> str:
        if not self.percent:
            return str(bound)
        return f"{format((Decimal(bound) * 100).normalize(), 'f')} %"

    def problem(self, value: Decimal, *, scale: int = 1) -> str | None:
        """Why ``value`` breaks the rule, in French, or None. ``scale`` 100: the value is in
        per cent as typed (« 7 » for 0.07), compared before dividing (« 1e999999999 » / 100
        overflows)."""
        if not isinstance(value, Decimal) or not value.is_finite():
            return NOT_A_NUMBER
        if self.gt is not None and not value > self.gt * scale:
            hint = self.low_hint if value == self.gt * scale else ""
            return f"attendu : une valeur strictement supérieure à {self._said(self.gt)}{hint}"
        if self.ge is not None and not value >= self.ge * scale:
            return f"attendu : une valeur supérieure ou égale à {self._said(self.ge)}"
        if self.lt is not None and not value < self.lt * scale:
            return f"attendu : une valeur strictement inférieure à {self._said(self.lt)}"
        if self.le is not None and not value <= self.le * scale:
            return f"attendu : une valeur inférieure ou égale à {self._said(self.le)}"
        shift = 2 if scale == 100 else 0  # the places a value in per cent gains once divided
        if places_of(value) + shift > self.places:
            shown = self.places - (2 if self.percent else 0)
            if shown <= 0:
                return "attendu : un nombre entier" + (" de pour cent" if self.percent else "")
            return f"attendu : {_PLACES_WORDS.get(shown, f'{shown} décimales')} au plus" + (
                " (en %)" if self.percent else ""
            )
        if self.digits is not None and value.adjusted() + 1 - shift > self.digits - self.places:
            return f"attendu : au plus {self.digits - self.places} chiffres avant la virgule"
        return None

    @property
    def step(self) -> Decimal:
        return Decimal(1).scaleb(-self.places)

    def schema(self) -> dict[str, Any]:
        """A JSON number on the grid of ``places``, within the bounds and the digits."""
        schema: dict[str, Any] = {"type": "number", "multipleOf": float(self.step)}
        for key, bound in (("exclusiveMinimum", self.gt), ("minimum", self.ge),
                           ("exclusiveMaximum", self.lt), ("maximum", self.le)):  # fmt: skip
            if bound is not None:
                schema[key] = bound
        if self.digits is not None:
            widest = Decimal(10) ** (self.digits - self.places) - self.step
            if self.le is None or widest < self.le:
                schema["maximum"] = float(widest)
        return schema

    def check(self, value: Decimal) -> Decimal:
        """``value``, or ``ValueError`` with the rule's words (pydantic says them as they are)."""
        problem = self.problem(value)
        if problem:
            raise ValueError(problem)
        return value

    def read(self, text: str, *, in_percent: bool = False) -> Decimal:
        """A value typed in a form or a CLI option, in French (« 32,50 € », « 7 % »), checked;
        ``ValueError`` with the rule's words. A share typed « 7 % » (or in a field labelled %,
        ``in_percent``) is 0.07."""
        value = typed_number(
            text, units=("%",) if self.percent else (self.unit,) if self.unit else ()
        )
        if value is None:
            raise ValueError(NOT_A_NUMBER)
        scale = 100 if self.percent and (in_percent or text.strip().endswith("%")) else 1
        problem = self.problem(value, scale=scale)
        if problem:
            raise ValueError(problem)
        return value / scale if scale != 1 else value

    def checked(self) -> Any:
        """The type pydantic checks against the rule, in its words, described by it."""
        return Annotated[Decimal, AfterValidator(self.check), WithJsonSchema(self.schema())]

    def checked_int(self) -> Any:
        """An integer (a lot's hours) checked against the rule, in its words."""
        schema = {"type": "integer"} | {
            key: bound for key, bound in (("exclusiveMinimum", self.gt), ("minimum", self.ge),
                                          ("exclusiveMaximum", self.lt), ("maximum", self.le))
            if bound is not None
        }  # fmt: skip
        return Annotated[int, AfterValidator(self._check_int), WithJsonSchema(schema)]

    def _check_int(self, value: int) -> int:
        self.check(Decimal(value))
        return value

    def described(self) -> Any:
        """A ``Decimal`` the description bounds by the rule, left for a service to check (one
        that answers in its own words, for a file's line or a form's field as well)."""
        return Annotated[Decimal, WithJsonSchema(self.schema())]


AMOUNT = DecimalRule(places=2, digits=14, ge=0, unit="€")  # euros, excluding VAT
# a subcontract's invoice, euros excluding VAT (``declarations.bodies``: the lot's amount bounds it)
INVOICE_AMOUNT = DecimalRule(places=2, digits=14, gt=0, unit="€")
# euros an hour, excluding VAT: config.yaml's offer.hourly_cost is bounded the same way
HOURLY_COST = DecimalRule(places=2, digits=8, gt=0, le=500, unit="€")
# euros per missing insertion hour, the penalty a contract may carry (a convention's or a buyer's)
PENALTY_PER_HOUR = DecimalRule(places=2, digits=8, gt=0, le=1000, unit="€")
INSERTION_RATE = DecimalRule(places=4, digits=5, gt=0, le=1, percent=True)
# an urban-renewal market's share of insertion hours reserved to QPV residents
QPV_TARGET = DecimalRule(places=4, digits=5, gt=0, le=1, percent=True)
LABOUR_SHARE = DecimalRule(places=4, digits=5, gt=0, le=1, percent=True)  # of a lot's amount
MONTH_HOURS = DecimalRule(  # a person's hours on a lot in a month
    places=2, gt=0, lt=1000, low_hint=" (0 heure : retirez la ligne plutôt)"
)
# a lot's hours (computed, loaded, or an override of the offer): 0 is a lot without clause; a
# lot of a billion euros at a 10 % rate carries about 1.7 million hours: room to spare
MAX_LOT_HOURS = 10_000_000
LOT_HOURS = DecimalRule(places=0, ge=0, le=MAX_LOT_HOURS)
