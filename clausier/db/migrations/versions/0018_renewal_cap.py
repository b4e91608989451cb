"""A tacit convention may cap its renewals

Revision ID: 0018_renewal_cap
Revises: 0017_shortfall_instrument
Create Date: 2026-12-02

Every convention there stays uncapped (the column is empty): a tacit one renews on, as before.
Adding a column copies no table; it is dropped in place (as 0017).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0018_renewal_cap"
down_revision: str | None = "0017_shortfall_instrument"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("convention", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_until", sa.Date(), nullable=True))


def downgrade() -> None:
    # in place: SQLite (3.35 and later) drops a column without copying the table, whose copy
    # would fail on the rows that name a convention (a market, its territories)
    changes.uninstall(op.get_bind(), metadata)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text('ALTER TABLE "convention" DROP COLUMN "renewal_until"'))
    else:
        op.drop_column("convention", "renewal_until")
    changes.install(op.get_bind(), metadata)
