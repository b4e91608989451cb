"""A lot's statements as people read them, with each beneficiary's name only for those whose
role needs it (the facilitators of the structure that registered the person)."""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.service import publics_label, publics_of, visible_name
from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    BODY_KINDS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
)
from clausier.declarations import bodies, periods
from clausier.declarations.models import LINE_STATUS_LABELS, DeclarationLine, Statement
from clausier.markets.models import Lot


def line_dict(
    line: DeclarationLine,
    person: Beneficiary | None,
    *,
    role: str,
    org_id: int | None,
    publics: list[str] | None = None,
) -> dict:
    """``person`` None: a subcontract counted by its invoice; ``publics``: the person's
    criteria (``public`` is the first of them, ``public_label`` says them all)."""
    publics = publics or []
    return {
        "id": line.id,
        "period": line.period,
        "beneficiary": person.code if person else None,
        "name": visible_name(person, role=role, org_id=org_id) if person else None,
        "public": publics[0] if person and publics else None,
        "public_label": publics_label(publics) if person and publics else None,
        "sex": person.sex if person else None,
        "age_band": AGE_BANDS.get(person.age_band, person.age_band) if person else None,
        **body_dict(line),
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


def body_dict(line: DeclarationLine) -> dict:
    """The line's body, and its invoice with the rate its hours were counted at."""
    return {
        "body_siret": line.body_siret,
        "body_kind": line.body_kind,
        "body_kind_label": BODY_KINDS.get(line.body_kind) if line.body_kind else None,
        "invoice_ref": line.invoice_ref,
        "invoice_amount": str(line.invoice_amount) if line.invoice_amount is not None else None,
        "hourly_cost": str(line.hourly_cost) if line.hourly_cost is not None else None,
        "hourly_cost_source": bodies.cost_source_words(line.hourly_cost_source)
        if line.hourly_cost_source
        else None,
    }


# what the employer does not read of its workers (``auth.policy``'s ``read_eligibility``):
# their eligibility criteria, sex and age band; it reads each one's code, modality and hours
PERSONAL = ("name", "public", "public_label", "sex", "age_band")


def lot_statements(
    session: Session, lot: Lot, *, role: str, org_id: int | None, only: Collection[str] = (),
    eligibility: bool,
) -> list[dict]:  # fmt: skip
    """Every month declared for ``lot`` (or ``only`` these months), newest first, with its
    lines; without ``eligibility`` (the contractor's), no line says who the person is
    (``PERSONAL``)."""
    months = select(Statement).where(Statement.lot_id == lot.id)
    lines = (
        select(DeclarationLine, Beneficiary)
        .outerjoin(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        .where(DeclarationLine.lot_id == lot.id)
    )
    if only:
        months = months.where(Statement.period.in_(only))
        lines = lines.where(DeclarationLine.period.in_(only))
    statements = session.exec(months.order_by(Statement.period.desc())).all()
    rows = session.exec(lines.order_by(DeclarationLine.id)).all()
    by_statement: dict[int, list[dict]] = {}
    publics = publics_of(session, [person.id for _line, person in rows if person])
    withheld = {} if eligibility else dict.fromkeys(PERSONAL)
    for line, person in rows:
        by_statement.setdefault(line.statement_id, []).append(
            line_dict(
                line, person, role=role, org_id=org_id,
                publics=publics.get(person.id) if person else None,
            )
            | withheld
        )  # fmt: skip
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
