"""Signing in to the web pages: a one-time link sent by e-mail, or an API token; then a session
in an HttpOnly, SameSite cookie, with a CSRF token for every form.

A session lives only while what it came from does: on every request its token is neither revoked
nor expired, or the address its link was sent to still belongs to the same active facilitator of
the same structure, or to the same buyer or contractor, still active; and the organisation it
acts for was not deactivated meanwhile."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, update
from sqlmodel import Session, select

from clausier.auth.models import ApiToken, Role
from clausier.auth.tokens import Principal, digest, in_force
from clausier.config import Settings
from clausier.db.types import UTCDateTime
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.web.models import LoginLink, WebSession
from notifications.messages import message_id_for
from notifications.models import OutboxMessage

COOKIE = "clausier_session"
SESSION_HOURS = 12
LINK_MINUTES = 15
PRUNED_AT_ONCE = 1000
_ORGS = {Role.buyer.value: Buyer, Role.facilitator.value: Structure,
         Role.contractor.value: Contractor}  # fmt: skip


def prune_ended(session: Session, model: type[WebSession] | type[LoginLink], *, now: datetime):
    """Ended sessions or links go, a batch at a time, whenever a new one is made: the tables
    hold what may still be used, not every sign-in ever. The newest row stays: SQLite gives the
    highest deleted id to the next row, and a link's id names its e-mail in the outbox
    (« login:N »). On PostgreSQL rows another request is pruning are skipped."""
    newest = select(func.max(model.id)).scalar_subquery()
    ended = select(model.id).where(model.expires_at <= now, model.id < newest)
    ended = ended.limit(PRUNED_AT_ONCE)
    if session.get_bind().dialect.name == "postgresql":
        ended = ended.with_for_update(skip_locked=True)
    session.execute(
        delete(model).where(model.id.in_(ended)).execution_options(synchronize_session=False)
    )


def open_session(
    session: Session, principal: Principal, *, now: datetime, link: LoginLink | None = None
) -> str:
    """A session for a token's principal (``principal.token_id``) or for a link's holder."""
    prune_ended(session, WebSession, now=now)
    secret = secrets.token_urlsafe(32)
    facilitator = link is not None and link.role == Role.facilitator.value
    person_email = link.email if facilitator else principal.person_email
    session.add(
        WebSession(
            secret_hash=digest(secret), csrf=secrets.token_urlsafe(24), role=principal.role.value,
            org_id=principal.org_id, label=principal.label,
            person_email=person_email,
            token_id=None if link else principal.token_id,
            facilitator_id=link.facilitator_id if link else principal.facilitator_id,
            link_email=link.email if link else None,
            created_at=now, expires_at=now + timedelta(hours=SESSION_HOURS),
        )
    )  # fmt: skip
    return secret


def current(session: Session, secret: str | None, *, now: datetime) -> WebSession | None:
    """The session of this cookie, if it is still open and its credential still holds; one whose
    credential no longer holds is ended for good (a facilitator reactivated signs in again)."""
    if not secret:
        return None
    row = session.exec(select(WebSession).where(WebSession.secret_hash == digest(secret))).first()
    if row is None or row.expires_at <= now:
        return None
    if not _credential_holds(session, row, now=now):
        session.execute(update(WebSession).where(WebSession.id == row.id).values(expires_at=now))
        session.commit()
        return None
    return row


def _org_active(session: Session, role: str, org_id: int | None) -> bool:
    """The buyer, structure or contractor a session acts for is not deactivated (an operator's
    session acts for none)."""
    model = _ORGS.get(role)
    org = session.get(model, org_id) if model is not None and org_id is not None else None
    return org is None or org.active


def _credential_holds(session: Session, row: WebSession, *, now: datetime) -> bool:
    if not _org_active(session, row.role, row.org_id):
        return False
    if row.token_id is not None:
        token = session.get(ApiToken, row.token_id)
        if token is not None and token.facilitator_id is not None:  # it names a person
            person = session.get(Facilitator, token.facilitator_id)
            if person is None or not person.active:
                return False
        return in_force(token, now=now)
    if row.link_email is None:  # opened before sessions recorded their credential
        return False
    return _still_holds(
        session, role=row.role, org_id=row.org_id, email=row.link_email,
        facilitator_id=row.facilitator_id,
    )  # fmt: skip


def _still_holds(
    session: Session, *, role: str, org_id: int | None, email: str, facilitator_id: int | None
) -> bool:
    """The address a link was sent to still belongs to whom it signs in: the same facilitator,
    active, in the same structure; the buyer's or the contractor's own address."""
    address = email.strip().lower()
    if role == Role.facilitator.value:
        person = session.get(Facilitator, facilitator_id) if facilitator_id is not None else None
        return (
            person is not None
            and person.active
            and person.structure_id == org_id
            and person.email.strip().lower() == address
        )
    model = {Role.buyer.value: Buyer, Role.contractor.value: Contractor}.get(role)
    org = session.get(model, org_id) if model is not None and org_id is not None else None
    return org is not None and org.active and org.email.strip().lower() == address


def principal_of(row: WebSession) -> Principal:
    return Principal(
        role=Role(row.role), org_id=row.org_id, label=row.label,
        facilitator_id=row.facilitator_id, person_email=row.person_email,
    )  # fmt: skip


def _who_has(session: Session, email: str) -> tuple[Role, int, str, int | None] | None:
    """The person or organisation behind an e-mail address known to Clausier, and the
    facilitator's id for a person."""
    address = email.strip().lower()
    person = session.exec(
        select(Facilitator).where(func.lower(Facilitator.email) == address)
    ).first()
    structure = session.get(Structure, person.structure_id) if person is not None else None
    if person is not None and person.active and structure.active:
        return Role.facilitator, structure.id, f"{person.name} ({structure.name})", person.id
    buyer = session.exec(
        select(Buyer).where(func.lower(Buyer.email) == address, Buyer.active)
    ).first()
    if buyer is not None:
        return Role.buyer, buyer.id, buyer.name, None
    contractor = session.exec(
        select(Contractor).where(func.lower(Contractor.email) == address, Contractor.active)
    ).first()
    if contractor is not None:
        return Role.contractor, contractor.id, contractor.name, None
    return None


def send_link(session: Session, email: str, *, settings: Settings, now: datetime) -> bool:
    """Put a one-time sign-in link in the outbox if the address is known; say nothing either way."""
    found = _who_has(session, email)
    if found is None:
        return False
    role, org_id, label, facilitator_id = found
    prune_ended(session, LoginLink, now=now)
    secret = secrets.token_urlsafe(32)
    link = LoginLink(secret_hash=digest(secret), email=email.strip(), role=role.value, org_id=org_id, label=label,
                     facilitator_id=facilitator_id, expires_at=now + timedelta(minutes=LINK_MINUTES))  # fmt: skip
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


_NOW = bindparam("now", type_=UTCDateTime())
_UNUSED = (
    LoginLink.secret_hash == bindparam("link_hash"),
    LoginLink.used_at.is_(None),
    LoginLink.expires_at > _NOW,
)
# one statement: of requests racing with one link, a single one finds it unused
_CONSUME = (
    update(LoginLink)
    .where(*_UNUSED)
    .values(used_at=_NOW)
    .returning(LoginLink)
    .execution_options(synchronize_session=False)
)


def usable_link(session: Session, secret: str, *, now: datetime) -> LoginLink | None:
    """The link, if following it would sign in now; reading it uses nothing (a mail scanner
    that opens every link must not burn it)."""
    link = session.exec(
        select(LoginLink).where(*_UNUSED), params={"link_hash": digest(secret), "now": now}
    ).first()
    return link if link is not None and _link_holds(session, link) else None


def use_link(session: Session, secret: str, *, now: datetime) -> LoginLink | None:
    """Consume the link, once: the caller commits. A link whose address no longer belongs to
    whom it was sent for (a facilitator deactivated since) is used up and signs nobody in."""
    link = session.execute(_CONSUME, {"link_hash": digest(secret), "now": now}).scalar_one_or_none()
    return link if link is not None and _link_holds(session, link) else None


def _link_holds(session: Session, link: LoginLink) -> bool:
    return _still_holds(
        session, role=link.role, org_id=link.org_id, email=link.email,
        facilitator_id=link.facilitator_id,
    )  # fmt: skip
