"""A lot has its own CPV: a market split by trade has a labour share per lot

Revision ID: 0013_lot_cpv
Revises: 0012_org_active
Create Date: 2026-12-01

Every lot there takes its market's CPV (the column is empty), as before. Adding or dropping the
column copies no table.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0013_lot_cpv"
down_revision: str | None = "0012_org_active"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("lot", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("cpv", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )


def downgrade() -> None:
    # In place: SQLite (3.35 and later) drops a column without copying the table, whose copy
    # would delete, by cascade, the rows that name a lot (statements, lines, tasks). The
    # market-change triggers (``db.changes``) go first, and come back once the column is gone.
    changes.uninstall(op.get_bind(), metadata)
    if op.get_bind().dialect.name == "sqlite":
        op.execute(sa.text('ALTER TABLE "lot" DROP COLUMN "cpv"'))
    else:
        op.drop_column("lot", "cpv")
    changes.install(op.get_bind(), metadata)
