"""Create, check and revoke bearer tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, func, true
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import Session, select

from clausier.auth.models import ApiToken, Role
from clausier.db.locks import locked
from clausier.errors import InvalidInput, NotAuthenticated, Refused, UnknownRecord
from clausier.formatting import fr_moment
from clausier.partners.lookup import (
    buyer_named,
    contractor_by_siret,
    facilitator_by_email,
    structure_named,
)
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure

PREFIX = "clz_"
# every API request runs it: built once
# Columns, not an object: every API call reads it, and nothing writes it back.
_BY_HASH = (
    select(
        ApiToken.id, ApiToken.role, ApiToken.org_id, ApiToken.label, ApiToken.revoked_at,
        ApiToken.expires_at, ApiToken.facilitator_id, Facilitator.email.label("person_email"),
        Facilitator.active.label("person_active"),
        # the organisation the token acts for, still active (a deactivated one stops its tokens)
        func.coalesce(Buyer.active, Structure.active, Contractor.active, true()).label("org_active"),
    )
    .outerjoin(Facilitator, Facilitator.id == ApiToken.facilitator_id)
    .outerjoin(Buyer, and_(ApiToken.role == Role.buyer.value, Buyer.id == ApiToken.org_id))
    .outerjoin(Structure, and_(ApiToken.role == Role.facilitator.value, Structure.id == ApiToken.org_id))
    .outerjoin(Contractor, and_(ApiToken.role == Role.contractor.value, Contractor.id == ApiToken.org_id))
    .where(ApiToken.token_hash == bindparam("token_hash"))
)  # fmt: skip


@dataclass(frozen=True)
class Principal:
    role: Role
    org_id: int | None
    token_id: int | None = None
    label: str = ""
    # a facilitator named by their token: the person who acts (their e-mail names them)
    facilitator_id: int | None = None
    person_email: str | None = None


def digest(secret: str) -> str:
    """What is stored of a token or a link: its SHA-256, never the secret itself."""
    return hashlib.sha256(secret.encode()).hexdigest()


def resolve_org(
    session: Session, role: Role, org: str | None
) -> tuple[int | None, str, Facilitator | None]:
    """The organisation named on the command line: a buyer, a structure or a contractor; for a
    facilitator, the structure, or one of its facilitators by e-mail (the token names them)."""
    if role == Role.admin:
        return None, "administration", None
    if not org:
        raise InvalidInput(f"--org est obligatoire pour le rôle {role.value}.")
    if role == Role.buyer:
        buyer = buyer_named(session, org)
        _refuse_inactive(
            buyer, f"L'acheteur « {buyer.name} » est désactivé : aucun jeton ne peut le nommer."
        )
        return buyer.id, buyer.name, None
    if role == Role.facilitator:
        if "@" in org:
            person = facilitator_by_email(session, org.strip())
            if not person.active:
                raise Refused(
                    f"Le facilitateur {person.email} est désactivé : aucun jeton ne peut le nommer."
                )
            structure = session.get(Structure, person.structure_id)
            return structure.id, f"{person.name} ({structure.name})", person
        structure = structure_named(session, org)
        _refuse_inactive(
            structure,
            f"La structure « {structure.name} » est désactivée : aucun jeton ne peut la nommer.",
        )
        return structure.id, structure.name, None
    contractor = contractor_by_siret(session, org.replace(" ", ""))
    if contractor is None:
        raise UnknownRecord("Titulaire", org)
    _refuse_inactive(
        contractor,
        f"Le titulaire « {contractor.name} » est désactivé : aucun jeton ne peut le nommer.",
    )
    return contractor.id, contractor.name, None


def _refuse_inactive(org, refusal: str) -> None:
    """A token for a deactivated organisation would not work: refused when asked for."""
    if not org.active:
        raise Refused(refusal)


def create(
    session: Session, *, role: Role, org: str | None, expires_at: datetime | None, now: datetime
) -> tuple[str, ApiToken]:
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("--expires doit être une date future.")
    org_id, label, person = resolve_org(session, role, org)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        token_hash=digest(token),
        role=role.value,
        org_id=org_id,
        label=label,
        expires_at=expires_at,
        facilitator_id=person.id if person else None,
    )
    session.add(row)
    session.flush()
    return token, row


def revoke(session: Session, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke once: the row is locked and read afresh, so that of two revocations at once the
    second is told the token already was (and when), not that it revoked it."""
    row = locked(session, ApiToken, [token_id]).get(token_id)
    if row is None:
        raise UnknownRecord("Jeton", str(token_id))
    if row.revoked_at is not None:
        raise Refused(
            f"Le jeton n° {token_id} est déjà révoqué (depuis le {fr_moment(row.revoked_at)})."
        )
    row.revoked_at = now
    session.add(row)
    return row


def in_force(row: ApiToken | None, *, now: datetime) -> bool:
    """Neither revoked nor expired: asked by every API call, and by every page of a web session
    opened with the token."""
    return (
        row is not None
        and row.revoked_at is None
        and (row.expires_at is None or row.expires_at > now)
    )


def authenticate(session: Session, token: str | None, *, now: datetime) -> Principal:
    row = session.connection().execute(_BY_HASH, _looked_up(token)).first()
    return _principal_of(row, now=now)


async def authenticate_async(connection: AsyncConnection, token: str | None, *, now: datetime):
    """``authenticate`` on an async connection (a kept status lookup on the event loop)."""
    row = (await connection.execute(_BY_HASH, _looked_up(token))).first()
    return _principal_of(row, now=now)


def _looked_up(token: str | None) -> dict:
    if not token:
        raise NotAuthenticated(
            "Authentification requise : en-tête « Authorization: Bearer <jeton> »."
        )
    return {"token_hash": digest(token)}


def _principal_of(row, *, now: datetime) -> Principal:
    if (
        not in_force(row, now=now)
        or (row.facilitator_id is not None and not row.person_active)
        or not row.org_active
    ):
        raise NotAuthenticated("Jeton inconnu, expiré ou révoqué.")
    return Principal(
        role=Role(row.role), org_id=row.org_id, token_id=row.id, label=row.label,
        facilitator_id=row.facilitator_id, person_email=row.person_email,
    )  # fmt: skip
