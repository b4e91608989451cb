"""A contractor's monthly statement (relevé) for a lot, and its lines.

One statement per lot and month: declaring the month again amends it. Each line (beneficiary,
modality; or a subcontract's invoice) is reviewed on its own by a facilitator; only validated
lines count.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from clausier import clock
from clausier.db.types import UTCDateTime


class LineStatus(StrEnum):
    submitted = "submitted"
    validated = "validated"
    rejected = "rejected"


LINE_STATUS_LABELS = {
    LineStatus.submitted: "à contrôler",
    LineStatus.validated: "validée",
    LineStatus.rejected: "rejetée",
}


class Statement(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("lot_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(foreign_key="lot.id", ondelete="CASCADE", index=True)
    period: str = Field(max_length=7)  # YYYY-MM
    declared_by: str
    declared_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    amendments: int = 0  # how many times the month was declared again


class DeclarationLine(SQLModel, table=True):
    __tablename__ = "declaration_line"
    __table_args__ = (
        UniqueConstraint("statement_id", "beneficiary_id", "modality"),
        UniqueConstraint("statement_id", "invoice_ref"),  # one line per invoice and month
        Index("ix_declaration_line_beneficiary_period", "beneficiary_id", "period"),
        Index("ix_declaration_line_lot_status", "lot_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    statement_id: int = Field(foreign_key="statement.id", ondelete="CASCADE", index=True)
    lot_id: int = Field(foreign_key="lot.id", ondelete="CASCADE")  # denormalised for sums
    period: str = Field(max_length=7)
    # None: a subcontract counted by its invoice (``declarations.bodies``), not by a person
    beneficiary_id: int | None = Field(default=None, foreign_key="beneficiary.id")
    modality: str = Field(max_length=20)
    # the body a placement or a subcontract goes through (``vocabulary.BODY_KINDS``)
    body_siret: str | None = Field(default=None, max_length=14)
    body_kind: str | None = Field(default=None, max_length=12)
    # a subcontract's invoice: its hours are its amount (excl. VAT) ÷ the hourly cost, kept
    # with its source as it was when the line was declared
    invoice_ref: str | None = Field(default=None, max_length=64)
    invoice_amount: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    hourly_cost: Decimal | None = Field(default=None, max_digits=8, decimal_places=2)
    hourly_cost_source: str | None = Field(default=None, max_length=200)
    contract_type: str | None = Field(default=None, max_length=20)
    hours: Decimal = Field(max_digits=7, decimal_places=2)
    status: str = Field(default=LineStatus.submitted, max_length=10)
    review_reason: str | None = None  # why it was rejected (or a note on validation)
    reviewed_by: str | None = None
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    updated_at: datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime, nullable=False)
    )
