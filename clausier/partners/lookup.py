"""Find buyers, structures and contractors by the names people type."""

from __future__ import annotations

import difflib

from sqlalchemy import ColumnElement, func, true
from sqlmodel import Session, select

from clausier.errors import UnknownRecord
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure


def buyer_named(session: Session, key: str, *, within: ColumnElement | None = None) -> Buyer:
    """A buyer by SIRET or by name (case-insensitive), among those ``within`` a caller's reach
    (all by default): one out of reach is not found, and no suggestion names it."""
    reach = true() if within is None else within
    compact = key.replace(" ", "")
    buyer = session.exec(select(Buyer).where(Buyer.siret == compact, reach)).first()
    if buyer is None:
        buyer = session.exec(
            select(Buyer).where(func.lower(Buyer.name) == key.strip().lower(), reach)
        ).first()
    if buyer is None:
        names = session.exec(select(Buyer.name).where(reach)).all()
        raise UnknownRecord("Acheteur", key, difflib.get_close_matches(key, names, n=3, cutoff=0.5))
    return buyer


def structure_named(
    session: Session, key: str, *, within: ColumnElement | None = None
) -> Structure:
    """A structure by its reference or its name, among those ``within`` reach (as above)."""
    reach = true() if within is None else within
    structure = session.exec(select(Structure).where(Structure.ref == key, reach)).first()
    if structure is None:
        structure = session.exec(
            select(Structure).where(func.lower(Structure.name) == key.strip().lower(), reach)
        ).first()
    if structure is None:
        refs = session.exec(select(Structure.ref).where(reach)).all()
        raise UnknownRecord("Structure", key, difflib.get_close_matches(key, refs, n=3, cutoff=0.5))
    return structure


def contractor_by_siret(session: Session, siret: str) -> Contractor | None:
    return session.exec(select(Contractor).where(Contractor.siret == siret)).first()


def facilitator_by_email(session: Session, email: str, *, within=None) -> Facilitator:
    """A facilitator by e-mail, among those ``within`` a caller's reach (all by default)."""
    query = select(Facilitator).where(func.lower(Facilitator.email) == email.strip().lower())
    person = session.exec(query if within is None else query.where(within)).first()
    if person is None:
        raise UnknownRecord("Facilitateur", email)
    return person
