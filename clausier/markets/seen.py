"""A market's status document as one caller may see it: the overview within its reach (its
tasks, its reminders), redacted for a contractor. The API answers it and the market page shows
it: one home, so the two never differ."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from clausier import clock
from clausier.auth.models import Role
from clausier.auth.scope import redact_status, reminder_condition, task_condition
from clausier.auth.tokens import Principal
from clausier.config import Settings
from clausier.markets.models import Market
from clausier.markets.status import market_overview_until
from clausier.partners.models import Contractor


def status_seen_by(
    session: Session, principal: Principal, market: Market, *, settings: Settings, now: datetime
) -> tuple[dict, Any]:
    """The caller's status document and its horizon (``market_overview_until``)."""
    document, stale_at = market_overview_until(
        session,
        market,
        today=now.astimezone(clock.PARIS).date(),
        now=now,
        settings=settings,
        task_scope=task_condition(principal),
        reminder_scope=reminder_condition(principal),
    )
    own = session.get(Contractor, principal.org_id) if principal.role == Role.contractor else None
    return redact_status(document, principal, own.siret if own else None), stale_at
