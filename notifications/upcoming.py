"""What a pending reminder is waiting for, as a market's page tells it.

A pending reminder is not always still to come: once its time has passed it waits for the next
sweep, which hands reminders over in office hours only; once handed to the outbox it is being
sent until the message is delivered. Saying « prévu le » of a time already gone would be false.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from clausier.business_days import add_business_days, is_business_day
from clausier.clock import PARIS
from clausier.formatting import fr_moment
from notifications.models import Reminder
from notifications.settings import NotificationSettings

# whom a reminder goes to, as « pour … » reads it
RECIPIENT_LABELS = {
    "facilitator": "le facilitateur chargé de la tâche",
    "structure": "la structure",
    "buyer": "l'acheteur",
    "contractor": "le titulaire",
}


def recipient_label(role: str, *, taken: bool, buyers: bool = False) -> str:
    """A facilitator's reminder reaches whoever took the task; nobody has: the structure's
    address; the task is the buyer's (``buyers``: the convention lacks its service): the
    buyer's (as ``contexts`` resolves it at send time)."""
    if buyers and role in ("facilitator", "structure"):
        role = "buyer"
    if role == "facilitator" and not taken:
        role = "structure"
    return RECIPIENT_LABELS.get(role, role)


class Delivery(StrEnum):
    planned = "planned"  # its time is still to come
    waiting = "waiting"  # its time has passed: the next sweep in office hours takes it
    sending = "sending"  # taken by a sweep or in the outbox, not yet delivered


def in_office_hours(moment: datetime, settings: NotificationSettings) -> bool:
    """Reminders are handed over on business days between office_start and office_end."""
    local = moment.astimezone(PARIS)
    return (
        is_business_day(local.date(), None)
        and settings.office_start <= local.time() < settings.office_end
    )


def next_office_opening(moment: datetime, settings: NotificationSettings) -> datetime:
    """When the sweep next hands reminders over, seen from outside office hours."""
    local = moment.astimezone(PARIS)
    day = local.date()
    if not is_business_day(day, None) or local.time() >= settings.office_start:
        day = add_business_days(day + timedelta(days=1), 0, None)
    return datetime.combine(day, settings.office_start, tzinfo=PARIS)


def next_office_change(moment: datetime, settings: NotificationSettings) -> datetime:
    """When office hours next open or close."""
    if in_office_hours(moment, settings):
        local = moment.astimezone(PARIS)
        return datetime.combine(local.date(), settings.office_end, tzinfo=PARIS)
    return next_office_opening(moment, settings)


@dataclass(frozen=True)
class Upcoming:
    status: Delivery
    label: str  # French, for the page and the CLI
    # the next instant at which the answer changes, the row unchanged (None: only a change of
    # the row moves it); a kept status document is served until then
    changes_at: datetime | None


def delivery_of(reminder: Reminder, *, now: datetime, settings: NotificationSettings) -> Upcoming:
    """Where a pending reminder stands at ``now``, and until when."""
    if reminder.message_id is not None:
        return Upcoming(Delivery.sending, "en cours d'envoi", None)
    if reminder.claimed_until is not None and reminder.claimed_until > now:
        return Upcoming(Delivery.sending, "en cours d'envoi", reminder.claimed_until)
    if reminder.due_at > now:
        return Upcoming(Delivery.planned, f"prévu le {fr_moment(reminder.due_at)}", reminder.due_at)
    since = f"en attente d'envoi depuis le {fr_moment(reminder.due_at)}"
    changes_at = next_office_change(now, settings)
    if in_office_hours(now, settings):
        return Upcoming(Delivery.waiting, f"{since} (envoi au prochain passage)", changes_at)
    opening = fr_moment(next_office_opening(now, settings))
    label = f"{since} (envoi à la réouverture des bureaux, le {opening})"
    return Upcoming(Delivery.waiting, label, changes_at)
