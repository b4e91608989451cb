"""A placement or subcontract names its body; a subcontract line may be an invoice instead of a person

Revision ID: 0016_bodies
Revises: 0015_eligibility
Create Date: 2026-12-02

Every line there keeps its person, its modality and its hours; its body is unknown (empty). On
SQLite, making the person optional copies ``declaration_line`` (Alembic's batch mode), which
drops its triggers: the triggers go first and come back after (``db.changes``), as in 0013.
Going back, the lines counted by an invoice (no person) cannot stay: they are deleted and the
hours validated of their lots recounted.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from clausier.db import changes
from clausier.db.tables import metadata

revision: str = "0016_bodies"
down_revision: str | None = "0015_eligibility"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TEXT = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    changes.uninstall(op.get_bind(), metadata)
    with op.batch_alter_table("declaration_line", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_siret", _TEXT(length=14), nullable=True))
        batch_op.add_column(sa.Column("body_kind", _TEXT(length=12), nullable=True))
        batch_op.add_column(sa.Column("invoice_ref", _TEXT(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("invoice_amount", sa.Numeric(precision=14, scale=2), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hourly_cost", sa.Numeric(precision=8, scale=2), nullable=True)
        )
        batch_op.add_column(sa.Column("hourly_cost_source", _TEXT(length=200), nullable=True))
        batch_op.alter_column("beneficiary_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_declaration_line_statement_id_invoice_ref"),
            ["statement_id", "invoice_ref"],
        )
    changes.install(op.get_bind(), metadata)


def downgrade() -> None:
    bind = op.get_bind()
    invoiced = "SELECT lot_id FROM declaration_line WHERE beneficiary_id IS NULL"
    lots = [row[0] for row in bind.execute(sa.text(invoiced)).all()]
    bind.execute(sa.text("DELETE FROM declaration_line WHERE beneficiary_id IS NULL"))
    for lot_id in sorted(set(lots)):
        bind.execute(
            sa.text(
                "UPDATE lot SET hours_validated = (SELECT coalesce(sum(hours), 0) "
                "FROM declaration_line WHERE declaration_line.lot_id = lot.id "
                "AND declaration_line.status = 'validated') WHERE lot.id = :lot_id"
            ),
            {"lot_id": lot_id},
        )
    changes.uninstall(bind, metadata)
    with op.batch_alter_table("declaration_line", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("uq_declaration_line_statement_id_invoice_ref"), type_="unique"
        )
        batch_op.alter_column("beneficiary_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("hourly_cost_source")
        batch_op.drop_column("hourly_cost")
        batch_op.drop_column("invoice_amount")
        batch_op.drop_column("invoice_ref")
        batch_op.drop_column("body_kind")
        batch_op.drop_column("body_siret")
    changes.install(bind, metadata)
