"""The geometry of the report's charts, drawn as inline SVG by the template (no JavaScript).

Python computes the scales and the coordinates; the template (``_rapport.html``) writes the
markup, so every label is escaped there like any other text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from clausier.formatting import fr_number
from clausier.reports.indicators import Month, Share

MONTH_INITIALS = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.",
                  "oct.", "nov.", "déc."]  # fmt: skip
PUBLIC_SHORT_LABELS = {
    "deld": "Chômage de longue durée",
    "minima_sociaux": "Minima sociaux",
    "jeune": "Jeunes sans qualification",
    "rqth": "Travailleurs handicapés",
    "senior": "Demandeurs de 50 ans et plus",
    "siae": "Salariés d'une SIAE",
    "plie": "Participants du PLIE",
    "qpv": "Résidents d'un QPV",
    "other": "Autres publics",
}


def nice_step(top: float, ticks: int = 4) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) that covers ``top`` in about ``ticks`` steps."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # the month
    value: str  # the figure, in French


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int  # the y of the x axis
    ticks: list[Tick]
    months: list[Point]  # the x axis labels
    validated: list[Point]  # cumulative validated hours, months begun only
    target: list[Point]  # cumulative planned hours

    @staticmethod
    def polyline(points: list[Point]) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)

    @property
    def validated_line(self) -> str:
        return self.polyline(self.validated)

    @property
    def target_line(self) -> str:
        return self.polyline(self.target)


def cumulative_chart(months: list[Month], width: int = 720, height: int = 320) -> LineChart:
    """Cumulative validated hours month by month, against the cumulative prorated target."""
    left, right, top, bottom = 72, width - 16, 24, height - 40
    highest = max(
        [0.0, *(float(m.target_cumulative) for m in months), *(float(m.cumulative) for m in months)]
    )
    step = nice_step(highest)
    top_value = step * max(math.ceil(highest / step), 1)
    band = (right - left) / len(months)

    def y_of(value: Decimal | float) -> float:
        return bottom - (float(value) / top_value) * (bottom - top)

    def x_of(index: int) -> float:
        return left + band * (index + 0.5)

    ticks = [
        Tick(y_of(step * i), f"{fr_number(Decimal(str(step * i)).normalize())}\u202fh")
        for i in range(round(top_value / step) + 1)
    ]
    axis = [Point(x_of(i), bottom, MONTH_INITIALS[i], "") for i in range(len(months))]
    validated = [
        Point(x_of(i), y_of(m.cumulative), m.label, fr_number(m.cumulative))
        for i, m in enumerate(months)
        if m.elapsed
    ]
    target = [
        Point(x_of(i), y_of(m.target_cumulative), m.label, fr_number(m.target_cumulative))
        for i, m in enumerate(months)
    ]
    return LineChart(width, height, left, right, top, bottom, ticks, axis, validated, target)


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str
    value: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]


def bar_chart(
    shares: list[Share],
    *,
    labels: dict[str, str] | None = None,
    hours: bool = False,
    width: int = 720,
    label_width: int = 250,
) -> BarChart:
    """Horizontal bars, one per share: beneficiaries (or validated hours), in the vocabulary's
    order so that two reports compare at a glance."""
    row, bar_height = 32, 20
    values = [float(share.hours if hours else share.beneficiaries) for share in shares]
    highest = max([*values, 0]) or 1
    room = width - label_width - 90  # leave room for the figure after the bar
    bars = [
        Bar(
            y=8 + index * row,
            width=max(room * value / highest, 1 if value else 0),
            label=(labels or {}).get(share.code, share.label),
            value=(f"{fr_number(share.hours)} h" if hours else fr_number(share.beneficiaries)),
        )
        for index, (share, value) in enumerate(zip(shares, values, strict=True))
    ]
    return BarChart(width, 16 + row * len(bars), label_width, bar_height, bars)
