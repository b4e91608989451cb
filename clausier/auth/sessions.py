"""Ending web sessions from below the pages: a deactivation in the directory (``partners``) ends
the sessions of the person or organisation it concerns, in its own transaction; the pages
(``web.auth``) read them, and never import the directory back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from clausier.auth.models import Role
from clausier.web.models import WebSession


def end_sessions(
    session: Session, *, now: datetime, org: tuple[Role, int] | None = None,
    facilitator_id: int | None = None,
) -> int:  # fmt: skip
    """The open sessions of an organisation (``org``: the role it signs in as, its id) or of a
    facilitator, ended now, in the caller's transaction: one deactivated must not find its
    session again if it is reactivated before its next request. How many."""
    if org is not None:
        whose = (WebSession.role == org[0].value) & (WebSession.org_id == org[1])
    else:
        whose = WebSession.facilitator_id == facilitator_id
    ended = session.execute(
        update(WebSession)
        .where(whose, WebSession.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    for obj in list(session.identity_map.values()):  # what the session holds is read afresh
        if isinstance(obj, WebSession):
            session.expire(obj)
    return ended.rowcount
