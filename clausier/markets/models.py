"""Markets, lots and the transition log.

The market row holds the lifecycle state and a version used for the optimistic check: two
concurrent transitions read the same version, only one may bump it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class Market(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=64, unique=True)
    buyer_id: int = Field(foreign_key="buyer.id", index=True)
    title: str
    commune_code: str = Field(foreign_key="commune.code", max_length=5, index=True)
    cpv: str = Field(max_length=10)
    amount: Decimal = Field(max_digits=14, decimal_places=2)
    consultation_on: date | None = None
    award_on: date | None = None
    execution_starts_on: date | None = None
    execution_ends_on: date | None = None
    state: str = Field(max_length=20, index=True)
    version: int = 1
    # coverage: the structure assigned and the convention that assigned it
    structure_id: int | None = Field(default=None, foreign_key="structure.id", index=True)
    convention_id: int | None = Field(default=None, foreign_key="convention.id")
    assignment: str | None = Field(default=None, max_length=10)  # automatic | explicit
    coverage_flag: str | None = Field(default=None, max_length=12)  # uncovered | ambiguous
    exit_reason: str | None = None  # why it was declined or abandoned
    evaluation: str | None = None  # the evaluation report's summary (bilan)
    evaluated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # an urban-renewal market (ANRU / NPNRU) reserves a share of its insertion hours to the
    # residents of priority neighbourhoods (QPV): that share, None for any other market
    qpv_target: Decimal | None = Field(default=None, max_digits=5, decimal_places=4)
    created_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )


class Lot(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("market_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id", ondelete="CASCADE", index=True)
    number: int
    title: str
    # the lot's own CPV when its trade differs from the market's; None: the market's
    cpv: str | None = Field(default=None, max_length=10)
    amount: Decimal = Field(max_digits=14, decimal_places=2)
    hours: int | None = None  # insertion hours required; None until the offer sets them
    clause_text: str | None = None
    contractor_id: int | None = Field(default=None, foreign_key="contractor.id", index=True)
    hours_validated: Decimal = Field(default=Decimal(0), max_digits=10, decimal_places=2)
    # the insertion offer: the computed figure, the facilitator's override and its reason
    hours_computed: int | None = None
    hours_override_reason: str | None = None
    offer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))  # the computation
    modalities: list[str] | None = Field(default=None, sa_column=Column(JSON))  # None: all allowed
    clause_edited: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # the legal instrument the clause uses (``offers.instruments``): a condition of execution
    # (L2112-2) unless the lot is reserved (L2113-12, L2113-13) or insertion is an award criterion
    instrument: str = Field(
        default="execution_condition",
        max_length=24,
        sa_column_kwargs={"server_default": "execution_condition"},
    )

    @property
    def designation(self) -> str:
        return designation(self.number, self.title)

    @property
    def carries_clause(self) -> bool:
        return bool(self.hours and self.hours > 0)

    @property
    def clause_waived(self) -> bool:
        """No clause, and the offer says why: under the floor, or the facilitator's reason."""
        if self.hours != 0:
            return False
        return bool(self.hours_override_reason or (self.offer and self.offer.get("below_floor")))


class TransitionLog(SQLModel, table=True):
    __tablename__ = "transition_log"

    id: int | None = Field(default=None, primary_key=True)
    market_id: int = Field(foreign_key="market.id", ondelete="CASCADE", index=True)
    from_state: str | None = Field(default=None, max_length=20)
    to_state: str = Field(max_length=20)
    trigger: str = Field(max_length=32)
    actor: str
    at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


# whose CPV gives a lot its labour share, in words (the offer page, the status, the CLI)
CPV_SOURCES = {"lot": "CPV du lot", "market": "CPV du marché"}


def lot_cpv(lot: Lot, market: Market) -> tuple[str, str]:
    """The CPV of a lot's trade and whose it is (``lot`` | ``market``): a market split by trade
    gives each lot its own; a lot without one takes the market's."""
    return (lot.cpv, "lot") if lot.cpv else (market.cpv, "market")


def designation(number: int, title: str) -> str:
    """How a list tells one lot's line from another's: lot 2 « Signalisation »."""
    return f"lot {number} « {title} »"
