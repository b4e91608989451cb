"""Market changes: every write a market's status reads marks the market, by triggers

Revision ID: 0010_market_changes
Revises: 0009_sign_in
Create Date: 2026-12-01

The marks tell a kept status document that it is stale (clausier.db.changes).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0010_market_changes"
down_revision: str | None = "0009_sign_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "market_change",
        sa.Column("id", changes.MARK_ID, nullable=False),
        sa.Column("market_id", sa.Integer(), nullable=False),
        sa.Column("tx", sa.BigInteger(), nullable=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_change")),
        sa.UniqueConstraint("market_id", "tx", name=op.f("uq_market_change_market_id_tx")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_market_change_market_id_id", "market_change", ["market_id", "id"])
    changes.install(op.get_bind(), metadata)


def downgrade() -> None:
    changes.uninstall(op.get_bind(), metadata)
    op.drop_index("ix_market_change_market_id_id", table_name="market_change")
    op.drop_table("market_change")
