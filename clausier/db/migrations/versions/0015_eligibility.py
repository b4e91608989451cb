"""Eligibility in time: several criteria per person, each dated with its validity; urban-renewal markets and their QPV target

Revision ID: 0015_eligibility
Revises: 0014_outcomes_iae
Create Date: 2026-12-02

Each beneficiary's single public, its reason and its check date become the person's first
criterion (``beneficiary_criterion``), checked by the facilitator who registered the person
(``beneficiary.checked_by_id`` stays: who registered). A market gets ``qpv_target``, empty: no
market is marked urban renewal. Going back, a person keeps the criterion checked first.

The columns are dropped in place (SQLite's own ``ALTER TABLE … DROP COLUMN``, 3.35 and later):
a batch copy of ``beneficiary`` or ``market`` would drop a table that other rows name, which
SQLite refuses with its foreign keys on.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import clausier.db.types

revision: str = "0015_eligibility"
down_revision: str | None = "0014_outcomes_iae"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOVED = ("public", "public_reason", "checked_on")


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    op.create_table(
        "beneficiary_criterion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("beneficiary_id", sa.Integer(), nullable=False),
        sa.Column("public", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("pass_iae", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("created_at", clausier.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["beneficiary_id"],
            ["beneficiary.id"],
            name=op.f("fk_beneficiary_criterion_beneficiary_id_beneficiary"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["checked_by_id"],
            ["facilitator.id"],
            name=op.f("fk_beneficiary_criterion_checked_by_id_facilitator"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_beneficiary_criterion")),
        sa.UniqueConstraint(
            "beneficiary_id",
            "public",
            "checked_on",
            name=op.f("uq_beneficiary_criterion_beneficiary_id_public_checked_on"),
        ),
    )
    op.create_index(
        op.f("ix_beneficiary_criterion_beneficiary_id"),
        "beneficiary_criterion",
        ["beneficiary_id"],
        unique=False,
    )
    op.execute(
        sa.text(
            "INSERT INTO beneficiary_criterion "
            "(beneficiary_id, public, reason, pass_iae, checked_by_id, checked_on, created_at) "
            "SELECT id, public, public_reason, :no, checked_by_id, checked_on, created_at "
            "FROM beneficiary ORDER BY id"
        ).bindparams(no=False)
    )
    for column in MOVED:
        _drop_column("beneficiary", column)
    op.add_column(
        "market", sa.Column("qpv_target", sa.Numeric(precision=5, scale=4), nullable=True)
    )


def downgrade() -> None:
    _drop_column("market", "qpv_target")
    sqlite = op.get_bind().dialect.name == "sqlite"
    # SQLite adds a NOT NULL column only with a default (altering it later would copy the table)
    filler = {"server_default": ""} if sqlite else {}
    op.add_column(
        "beneficiary",
        sa.Column("public", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=not sqlite,
                  **filler),
    )  # fmt: skip
    op.add_column(
        "beneficiary",
        sa.Column("public_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
    )
    op.add_column(
        "beneficiary",
        sa.Column("checked_on", sa.Date(), nullable=not sqlite,
                  **({"server_default": "1970-01-01"} if sqlite else {})),
    )  # fmt: skip
    first = (
        "SELECT {column} FROM beneficiary_criterion c WHERE c.beneficiary_id = beneficiary.id "
        "ORDER BY c.checked_on, c.id LIMIT 1"
    )
    op.execute(
        sa.text(
            "UPDATE beneficiary SET "
            + ", ".join(
                f"{column} = ({first.format(column=source)})"
                for column, source in (
                    ("public", "public"),
                    ("public_reason", "reason"),
                    ("checked_on", "checked_on"),
                )
            )
        )
    )
    if not sqlite:
        op.alter_column("beneficiary", "public", nullable=False)
        op.alter_column("beneficiary", "checked_on", nullable=False)
    op.drop_index(
        op.f("ix_beneficiary_criterion_beneficiary_id"), table_name="beneficiary_criterion"
    )
    op.drop_table("beneficiary_criterion")
