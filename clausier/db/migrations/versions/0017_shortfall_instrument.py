"""A penalty per missing hour, and the legal instrument each lot's clause uses

Revision ID: 0017_shortfall_instrument
Revises: 0016_bodies
Create Date: 2026-12-02

A buyer and a convention may carry a penalty per missing insertion hour (empty: none). Every lot
there keeps the instrument its text named, a condition of execution (article L2112-2). Adding
columns copies no table; dropping them neither (SQLite's own DROP COLUMN).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0017_shortfall_instrument"
down_revision: str | None = "0016_bodies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("buyer", "convention"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("penalty_per_hour", sa.Numeric(precision=8, scale=2), nullable=True)
            )
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "instrument",
                sqlmodel.sql.sqltypes.AutoString(length=24),
                nullable=False,
                server_default="execution_condition",
            )
        )


def _drop(table: str, column: str) -> None:
    """Drop a column in place: SQLite (3.35 and later) drops it without copying the table,
    whose copy would fail on the rows that name it (a market names its buyer, its
    convention) and delete, by cascade, the rows that name a lot."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{column}"'))
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    # the market-change triggers (``db.changes``) go first, and come back once the columns are
    # gone
    changes.uninstall(op.get_bind(), metadata)
    _drop("lot", "instrument")
    for table in ("convention", "buyer"):
        _drop(table, "penalty_per_hour")
    changes.install(op.get_bind(), metadata)
