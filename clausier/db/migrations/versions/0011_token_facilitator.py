"""A facilitator's token names the person, not only the structure

Revision ID: 0011_token_facilitator
Revises: 0010_market_changes
Create Date: 2026-12-01

A token made before this revision names a structure only, as before: its holder acts for the
structure and takes no task in its own name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_token_facilitator"
down_revision: str | None = "0010_market_changes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facilitator_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_api_token_facilitator_id_facilitator"),
            "facilitator",
            ["facilitator_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_api_token_facilitator_id_facilitator"), type_="foreignkey"
        )
        batch_op.drop_column("facilitator_id")
