"""The end of execution, as the buyer hears it: the hours required and not validated (the
shortfall), per lot and for the market, and the penalty the contract may carry for them
(DOMAIN.md, "Execution, control and reporting": *typical* an amount per missing hour).

The penalty per missing hour is the one the clause text named (kept with the offer, frozen at
publication); for an offer stored before it was kept, the convention's that assigned the market,
else the buyer's; none set, there is no penalty. The figure is counted from the validated hours only; it is
**provisional** while they may still change — a month executed still declarable (until its
deadline, after ``complete``) or hours still to review — and **final** once neither is left
(``close`` waits for both, so a closed market's figure is always final).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlmodel import Session

from clausier.declarations import periods
from clausier.declarations.service import Settlement, settlement
from clausier.formatting import fr_date, fr_number
from clausier.markets.models import Lot, Market
from clausier.partnerships.penalty import Penalty, penalty_of

# the states after execution, where a shortfall is what it is (or is about to be)
ENDED_STATES = ("evaluation", "closed")
CENT = Decimal("0.01")


def euros(value: Decimal) -> str:
    """« 6 000 € », « 1 234,50 € » (a penalty is no price: no « HT »)."""
    return f"{fr_number(value)} €"


def penalty_text(penalty: Penalty) -> str:
    """« 30 € » as the clause names it."""
    return euros(penalty.per_hour)


@dataclass(frozen=True)
class LotShortfall:
    number: int
    title: str
    required: int
    validated: Decimal
    missing: Decimal  # required − validated, never below 0
    penalty: Decimal | None  # missing × the penalty per hour, to the cent


@dataclass(frozen=True)
class Shortfall:
    lots: list[LotShortfall]
    required: int
    validated: Decimal
    missing: Decimal
    penalty_per_hour: Penalty | None
    penalty: Decimal | None
    final: bool
    # while provisional: what may still change it (French, for the page, the report, the e-mail)
    pending: list[str]

    @property
    def status_label(self) -> str:
        return "définitif" if self.final else "provisoire"

    def as_dict(self) -> dict:
        """The document ``declarations.read.Shortfall`` describes (figures as text)."""
        return {
            "final": self.final,
            "status_label": self.status_label,
            "pending": self.pending,
            "required": self.required,
            "validated": str(self.validated),
            "missing": str(self.missing),
            "penalty_per_hour": str(self.penalty_per_hour.per_hour) if self.penalty_per_hour else None,
            "penalty_source": self.penalty_per_hour.source if self.penalty_per_hour else None,
            "penalty": None if self.penalty is None else str(self.penalty),
            "lots": [
                {"number": lot.number, "title": lot.title, "required": lot.required,
                 "validated": str(lot.validated), "missing": str(lot.missing),
                 "penalty": None if lot.penalty is None else str(lot.penalty)}
                for lot in self.lots
            ],
        }  # fmt: skip


def compute(
    lots: list[Lot], penalty: Penalty | None, *, final: bool = True, pending: list[str] = ()
) -> Shortfall:
    """The shortfall of the lots carrying a clause, and its penalty. Pure: 200 h missing at
    30 € an hour is 6 000 €."""
    rows = []
    for lot in sorted((lot for lot in lots if lot.carries_clause), key=lambda lot: lot.number):
        validated = Decimal(lot.hours_validated)
        missing = max(Decimal(lot.hours) - validated, Decimal(0))
        rows.append(
            LotShortfall(
                number=lot.number, title=lot.title, required=lot.hours, validated=validated,
                missing=missing,
                penalty=(missing * penalty.per_hour).quantize(CENT, ROUND_HALF_UP)
                if penalty else None,
            )
        )  # fmt: skip
    missing = sum((row.missing for row in rows), Decimal(0))
    return Shortfall(
        lots=rows,
        required=sum(row.required for row in rows),
        validated=sum((row.validated for row in rows), Decimal(0)),
        missing=missing,
        penalty_per_hour=penalty,
        penalty=sum((row.penalty for row in rows), Decimal(0)) if penalty else None,
        final=final,
        pending=list(pending),
    )


_READ = object()  # a penalty still to read from the store


def at_end(
    session: Session,
    market: Market,
    lots: list[Lot],
    *,
    today: date,
    declaration_day: int,
    settled: Settlement | None = None,
    penalty: Penalty | object | None = _READ,
) -> Shortfall | None:
    """The market's shortfall once execution is over (None before, or without a clause lot),
    final or provisional with what it waits for. ``settled`` and ``penalty``: what the caller
    has read already (the status document reads them once for ``close`` and its parties)."""
    if market.state not in ENDED_STATES or not any(lot.carries_clause for lot in lots):
        return None
    pending: list[str] = []
    if market.state != "closed":
        if settled is None:
            settled = settlement(
                session, market, lots, today=today, declaration_day=declaration_day
            )
        months = {}
        for _number, period, deadline in settled.undeclared:
            months.setdefault(period, deadline)
        pending += [
            f"le relevé de {periods.label(period)} se déclare jusqu'au {fr_date(deadline)}"
            for period, deadline in sorted(months.items())
        ]
        review = sum((hours for _n, _p, hours in settled.to_review), Decimal(0))
        if review:
            pending.append(f"{fr_number(review)} h déclarées restent à contrôler")
    published = contract_penalty(lots)
    if published is not _READ:
        penalty = published
    elif penalty is _READ:
        penalty = penalty_of(session, market)
    return compute(lots, penalty, final=not pending, pending=pending)


def contract_penalty(lots: list[Lot]) -> Penalty | object | None:
    """The penalty the clause text named when the offer was stored (``offers.service.save``
    keeps it with the offer, frozen at publication): the contract's, whatever the convention or
    the buyer set since. ``_READ`` for an offer stored before it was kept: the rule then."""
    for lot in sorted(lots, key=lambda lot: lot.number):
        stored = lot.offer or {}
        if lot.carries_clause and "penalty_per_hour" in stored:
            value = stored["penalty_per_hour"]
            return Penalty(Decimal(value), stored.get("penalty_source") or "") if value else None
    return _READ
