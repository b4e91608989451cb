"""Sign-in: a web session records its credential; links name their facilitator; throttling counters

Revision ID: 0009_sign_in
Revises: 0008_declarations
Create Date: 2026-11-26

A session opened before this revision recorded no credential: it is no longer valid, and whoever
held it signs in again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import clausier.db.types

revision: str = "0009_sign_in"
down_revision: str | None = "0008_declarations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_counter",
        sa.Column("window_key", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("expires_at", clausier.db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("window_key", name=op.f("pk_sign_in_counter")),
    )
    with op.batch_alter_table("sign_in_counter", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sign_in_counter_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("login_link", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facilitator_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_login_link_facilitator_id_facilitator"),
            "facilitator",
            ["facilitator_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("facilitator_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("link_email", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_web_session_token_id_api_token"),
            "api_token",
            ["token_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_web_session_facilitator_id_facilitator"),
            "facilitator",
            ["facilitator_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("web_session", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_web_session_facilitator_id_facilitator"), type_="foreignkey"
        )
        batch_op.drop_constraint(
            batch_op.f("fk_web_session_token_id_api_token"), type_="foreignkey"
        )
        batch_op.drop_column("link_email")
        batch_op.drop_column("facilitator_id")
        batch_op.drop_column("token_id")

    with op.batch_alter_table("login_link", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_login_link_facilitator_id_facilitator"), type_="foreignkey"
        )
        batch_op.drop_column("facilitator_id")

    with op.batch_alter_table("sign_in_counter", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sign_in_counter_expires_at"))

    op.drop_table("sign_in_counter")
