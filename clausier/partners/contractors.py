"""Contractors named on an award: found by SIRET or by name among the known, active ones (one the
directory deactivated is offered no more), or created on the spot with the same rules as a
load's (``loading.rows.ContractorRow``)."""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from clausier.errors import InvalidInput
from clausier.loading.rows import ContractorRow
from clausier.partners.lookup import contractor_by_siret
from clausier.partners.models import Contractor
from clausier.validation.identifiers import siret_problem
from clausier.validation.messages import french_message

FIELD_WORDS = {"siret": "SIRET", "name": "raison sociale", "email": "adresse e-mail"}


def known_contractor(session: Session, key: str) -> Contractor | None:
    """The contractor a person typed: its SIRET (spaces allowed) or its exact name, any case."""
    text = key.strip()
    if not text:
        return None
    if siret_problem(text) is None:
        found = contractor_by_siret(session, text.replace(" ", ""))
        return found if found is not None and found.active else None
    found = session.exec(
        select(Contractor)
        .where(func.lower(Contractor.name) == text.lower(), Contractor.active)
        .limit(2)
    ).all()
    return found[0] if len(found) == 1 else None


def contractor_choices(session: Session, limit: int) -> list[tuple[str, str]]:
    """(name, SIRET) of known contractors, by name, for a form's suggestions."""
    return list(
        session.exec(
            select(Contractor.name, Contractor.siret)
            .where(Contractor.active)
            .order_by(Contractor.name)
            .limit(limit)
        ).all()
    )


def new_contractor(session: Session, *, siret: str, name: str, email: str) -> Contractor:
    """A contractor created on the spot; one another request has just created with the same
    SIRET is the same contractor, not a second one."""
    try:
        row = ContractorRow.model_validate({"siret": siret, "name": name, "email": email})
    except ValidationError as error:
        raise InvalidInput(
            "Titulaire à créer : "
            + " ; ".join(
                f"{FIELD_WORDS.get(str(item['loc'][0]), item['loc'][0])} : {french_message(item)}"
                for item in error.errors()
            )
        ) from error
    existing = contractor_by_siret(session, row.siret)
    if existing is not None and not existing.active:
        raise InvalidInput(_deactivated(existing))
    if existing is not None:
        return existing
    try:
        with session.begin_nested():
            contractor = Contractor(siret=row.siret, name=row.name, email=row.email)
            session.add(contractor)
    except IntegrityError:  # created meanwhile by another request
        return contractor_by_siret(session, row.siret)
    return contractor


def _deactivated(contractor: Contractor) -> str:
    return (
        f"le titulaire « {contractor.name} » (SIRET {contractor.siret}) est désactivé dans "
        "l'annuaire : il ne peut plus recevoir de lot"
    )
