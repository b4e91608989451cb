"""Decimal numbers bounded once: their bounds, their digits and their decimal places, which pydantic
checks and the API's description states from the same figures (pydantic's own schema of a
``Decimal`` says neither the digits nor the places, and takes any text for one)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import Field, WithJsonSchema


@dataclass(frozen=True)
class DecimalRule:
    places: int
    digits: int | None = None  # in all, the places included
    gt: int | None = None
    ge: int | None = None
    lt: int | None = None
    le: int | None = None

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

    def checked(self) -> Any:
        """The type pydantic checks against the rule, described by it."""
        bounds = {"gt": self.gt, "ge": self.ge, "lt": self.lt, "le": self.le}
        return Annotated[
            Decimal,
            Field(max_digits=self.digits, decimal_places=self.places, **bounds),
            WithJsonSchema(self.schema()),
        ]

    def described(self) -> Any:
        """A ``Decimal`` the description bounds by the rule, left for a service to check (one
        that answers in its own words, for a file's line or a form's field as well)."""
        return Annotated[Decimal, WithJsonSchema(self.schema())]


AMOUNT = DecimalRule(places=2, digits=14, ge=0)  # euros, excluding VAT
HOURLY_COST = DecimalRule(places=2, digits=8, gt=0)
INSERTION_RATE = DecimalRule(places=4, digits=5, gt=0, le=1)
MONTH_HOURS = DecimalRule(places=2, gt=0, lt=1000)  # a person's hours on a lot in a month
