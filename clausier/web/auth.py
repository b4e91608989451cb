"""Signing in to the web pages: a one-time link sent by e-mail, or an API token; then a session
in an HttpOnly, SameSite cookie, with a CSRF token for every form."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from clausier.auth.models import Role
from clausier.auth.tokens import Principal, digest
from clausier.config import Settings
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.web.models import LoginLink, WebSession
from notifications.messages import message_id_for
from notifications.models import OutboxMessage

COOKIE = "clausier_session"
SESSION_HOURS = 12
LINK_MINUTES = 15


def open_session(
    session: Session, principal: Principal, *, now: datetime, person_email: str | None = None
) -> str:
    secret = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            secret_hash=digest(secret), csrf=secrets.token_urlsafe(24), role=principal.role.value,
            org_id=principal.org_id, label=principal.label, person_email=person_email,
            created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )  # fmt: skip
    return secret


def current(session: Session, secret: str | None, *, now: datetime) -> WebSession | None:
    if not secret:
        return None
    row = session.exec(select(WebSession).where(WebSession.secret_hash == digest(secret))).first()
    return row if row is not None and row.expires_at > now else None


def principal_of(row: WebSession) -> Principal:
    return Principal(role=Role(row.role), org_id=row.org_id, label=row.label)


def _who_has(session: Session, email: str) -> tuple[Role, int, str] | None:
    """The person or organisation behind an e-mail address known to Clausier."""
    address = email.strip().lower()
    person = session.exec(
        select(Facilitator).where(func.lower(Facilitator.email) == address)
    ).first()
    if person is not None and person.active:
        structure = session.get(Structure, person.structure_id)
        return Role.facilitator, structure.id, f"{person.name} ({structure.name})"
    buyer = session.exec(select(Buyer).where(func.lower(Buyer.email) == address)).first()
    if buyer is not None:
        return Role.buyer, buyer.id, buyer.name
    contractor = session.exec(
        select(Contractor).where(func.lower(Contractor.email) == address)
    ).first()
    if contractor is not None:
        return Role.contractor, contractor.id, contractor.name
    return None


def send_link(session: Session, email: str, *, settings: Settings, now: datetime) -> bool:
    """Put a one-time sign-in link in the outbox if the address is known; say nothing either way."""
    found = _who_has(session, email)
    if found is None:
        return False
    role, org_id, label = found
    secret = secrets.token_urlsafe(32)
    link = LoginLink(secret_hash=digest(secret), email=email.strip(), role=role.value, org_id=org_id, label=label,
                     expires_at=now + timedelta(minutes=LINK_MINUTES))  # fmt: skip
    session.add(link)
    session.flush()
    url = f"{settings.web.base_url}/connexion/{secret}"
    key = f"login:{link.id}"
    text = (
        f"Bonjour,\n\nPour vous connecter à Clausier, ouvrez ce lien (valable {LINK_MINUTES} minutes, "
        f"une seule fois) :\n\n{url}\n\nSi vous n'avez rien demandé, ignorez ce message.\n"
    )
    html = (
        f"<p>Bonjour,</p><p>Pour vous connecter à Clausier, ouvrez ce lien (valable {LINK_MINUTES} minutes, "
        f'une seule fois) :</p><p><a href="{url}">Se connecter à Clausier</a></p>'
        "<p>Si vous n'avez rien demandé, ignorez ce message.</p>"
    )
    session.add(OutboxMessage(idempotency_key=key, message_id=message_id_for(key, settings.notifications.sender),
                              to_email=email.strip(), to_name=None, subject="Votre lien de connexion à Clausier",
                              text_body=text, html_body=html, next_attempt_at=now, created_at=now))  # fmt: skip
    return True


def use_link(session: Session, secret: str, *, now: datetime) -> LoginLink | None:
    link = session.exec(select(LoginLink).where(LoginLink.secret_hash == digest(secret))).first()
    if link is None or link.used_at is not None or link.expires_at <= now:
        return None
    link.used_at = now
    session.add(link)
    return link
