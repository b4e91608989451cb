"""A lot's statements as people read them, with each beneficiary's name only for those whose
role needs it (the facilitators of the structure that registered the person)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.service import visible_name
from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
    PUBLICS,
)
from clausier.declarations import periods
from clausier.declarations.models import LINE_STATUS_LABELS, DeclarationLine, Statement
from clausier.markets.models import Lot


def line_dict(line: DeclarationLine, person: Beneficiary, *, role: str, org_id: int | None) -> dict:
    return {
        "id": line.id,
        "period": line.period,
        "beneficiary": person.code,
        "name": visible_name(person, role=role, org_id=org_id),
        "public": person.public,
        "public_label": PUBLICS.get(person.public, person.public),
        "sex": person.sex,
        "age_band": AGE_BANDS.get(person.age_band, person.age_band),
        "modality": line.modality,
        "modality_label": MODALITY_SHORT_LABELS.get(line.modality, line.modality),
        "contract_type": line.contract_type,
        "contract_type_label": CONTRACT_TYPES.get(line.contract_type)
        if line.contract_type
        else None,
        "hours": str(line.hours),
        "status": line.status,
        "status_label": LINE_STATUS_LABELS.get(line.status, line.status),
        "review_reason": line.review_reason,
        "reviewed_by": line.reviewed_by,
        "reviewed_at": line.reviewed_at.isoformat() if line.reviewed_at else None,
    }


def lot_statements(
    session: Session, lot: Lot, *, role: str, org_id: int | None, only: Collection[str] = ()
) -> list[dict]:
    """Every month declared for ``lot`` (or ``only`` these months), newest first, with its
    lines."""
    months = select(Statement).where(Statement.lot_id == lot.id)
    lines = (
        select(DeclarationLine, Beneficiary)
        .join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        .where(DeclarationLine.lot_id == lot.id)
    )
    if only:
        months = months.where(Statement.period.in_(only))
        lines = lines.where(DeclarationLine.period.in_(only))
    statements = session.exec(months.order_by(Statement.period.desc())).all()
    rows = session.exec(lines.order_by(DeclarationLine.id)).all()
    by_statement: dict[int, list[dict]] = {}
    for line, person in rows:
        by_statement.setdefault(line.statement_id, []).append(
            line_dict(line, person, role=role, org_id=org_id)
        )
    return [
        {
            "period": statement.period,
            "period_label": periods.label(statement.period),
            "declared_at": statement.declared_at.isoformat(),
            "declared_by": statement.declared_by,
            "amendments": statement.amendments,
            "lines": by_statement.get(statement.id, []),
        }
        for statement in statements
    ]
