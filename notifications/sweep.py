"""The sweep: plan, hand due reminders to the outbox, deliver the outbox.

Every step claims its rows with a lease (``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
LOCKED) RETURNING id`` on PostgreSQL; the same single statement on SQLite, whose one writer makes
it atomic), so several workers never take the same row, and a dead worker's claims expire.
Handing over writes the message and marks its reminders in one transaction; delivering marks a
message sent in the transaction that follows the server's acceptance (``docs/delivery.md``).
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from time import monotonic

import jinja2
from sqlalchemy import bindparam, event, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session

from clausier import clock
from clausier.business_days import add_business_days
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db.engine import writer
from clausier.db.types import UTCDateTime
from clausier.declarations import pace
from clausier.formatting import fr_date
from clausier.markets.models import Lot, Market
from clausier.partnerships import assignment, periods
from clausier.partnerships.models import Convention
from clausier.referential.service import place_of
from clausier.tasks import events
from notifications import contexts, schedule, upcoming
from notifications.messages import build, message_id_for
from notifications.models import MessageStatus, OutboxMessage, Reminder, ReminderStatus
from notifications.rendering import render, render_rule
from notifications.transports import DeliveryFailure, transport_for

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    planned: int = 0
    handed: int = 0
    cancelled: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    notes: list[str] = field(default_factory=list)


def in_office_hours(moment: datetime, settings: Settings) -> bool:
    return upcoming.in_office_hours(moment, settings.notifications)


def _claim(
    session: Session, model, conditions, order, *, worker: str, now: datetime, settings: Settings
) -> list[int]:
    """Lease a batch of rows to this worker, in one statement."""
    candidates = (
        select(model.id)
        .where(*conditions, or_(model.claimed_until.is_(None), model.claimed_until < now))
        .order_by(order)
        .limit(settings.outbox.batch_size)
    )
    if session.get_bind().dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    lease = now + timedelta(seconds=settings.outbox.lease_seconds)
    claimed = session.execute(
        update(model)
        .where(model.id.in_(candidates.scalar_subquery()))
        .values(claimed_until=lease, claimed_by=worker)
        .returning(model.id)
    )
    ids = list(claimed.scalars())
    session.commit()
    return ids


# --- planning -------------------------------------------------------------------------------


# rows per INSERT: SQLite refuses a statement of more than 32,766 values (12 a row here), and
# a national planner writes thousands of rows on the first day of a month
PLANNED_PER_INSERT = 1000


def _insert_new(session: Session, rows: list[dict]) -> int:
    """Insert reminders whose key is new; two workers planning at once never collide."""
    if not rows:
        return 0
    columns = {
        "market_id": None,
        "task_id": None,
        "lot_id": None,
        "convention_id": None,
        "period": None,
    }
    rows = [{**columns, **row} for row in rows]  # one shape for a multi-row INSERT
    dialect = session.get_bind().dialect.name
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    created = 0
    for start in range(0, len(rows), PLANNED_PER_INSERT):  # a statement's bound values are capped
        statement = (
            dialect_insert(Reminder)
            .values(rows[start : start + PLANNED_PER_INSERT])
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(Reminder.id)  # counted by rows: psycopg's rowcount says -1 here
        )
        created += len(session.execute(statement).all())
    return created


def plan(engine: Engine, settings: Settings, now: datetime) -> int:
    """Daily: re-check coverage of live markets; schedule convention and coverage reminders."""
    today = now.astimezone(PARIS).date()
    rules = settings.reminders
    rows: list[dict] = []
    base = {"status": ReminderStatus.pending, "occurrence": 0, "created_at": now}
    with Session(writer(engine)) as session:  # on SQLite, requests' writes wait for the pass
        # a convention that ends unless someone acts: explicit, or tacit up to its cap (a tacit
        # one that renews by itself has nothing to be reminded of)
        for convention in session.execute(
            select(Convention).where(
                (Convention.renewal == "explicit") | Convention.renewal_until.is_not(None)
            )
        ).scalars():
            end = periods.final_end(convention, today)
            if end is None or not periods.in_force(convention, today):
                continue
            for name, rule in rules.items():
                if rule.follows != "convention":
                    continue
                for occ in schedule.occurrences(rule, end, None, today):
                    rows.append({**base, "rule": name, "recipient_role": occ.role, "convention_id": convention.id,
                                 "occurrence": occ.number,
                                 "idempotency_key": f"{name}:convention:{convention.id}:{end.isoformat()}:{occ.number}",
                                 "due_at": schedule.at_office_start(occ.day, settings.notifications)})  # fmt: skip
        markets = (
            session.execute(select(Market).where(Market.state.not_in(assignment.SETTLED_STATES)))
            .scalars()
            .all()
        )
        for market in markets:
            assignment.refresh(session, market, today=today)
            if market.coverage_flag != "uncovered":
                continue
            for name, rule in rules.items():
                if rule.follows == "coverage":
                    rows.append({**base, "rule": name, "recipient_role": rule.to, "market_id": market.id,
                                 "idempotency_key": f"{name}:market:{market.id}:{today:%Y-%m}",
                                 "due_at": schedule.at_office_start(today, settings.notifications)})  # fmt: skip
        rows.extend(_pace(session, markets, settings, today, base))
        session.flush()
        created = _insert_new(session, rows)
        session.commit()
    return created


def _pace(
    session: Session, markets: list[Market], settings: Settings, today: date, base: dict
) -> list[dict]:
    """A lot behind pace: its contractor is reminded and the facilitator gets a task, once per
    month of reference."""
    rules = {name: rule for name, rule in settings.reminders.items() if rule.follows == "pace"}
    rows = []
    for market in markets:
        if market.state != "execution":
            continue
        lots = list(session.execute(select(Lot).where(Lot.market_id == market.id)).scalars())
        departement = place_of(session, market.commune_code).departement_code
        progress = pace.lot_progress(
            session, market, lots, today=today, settings=settings, departement=departement
        )
        for lot_id, lot_pace in progress.items():
            if not lot_pace.behind:
                continue
            month = f"{lot_pace.expected_on:%Y-%m}"
            for name, rule in rules.items():
                rows.append({**base, "rule": name, "recipient_role": rule.to, "market_id": market.id,
                             "lot_id": lot_id, "idempotency_key": f"{name}:lot:{lot_id}:{month}",
                             "due_at": schedule.at_office_start(today, settings.notifications)})  # fmt: skip
            try:
                with session.begin_nested():
                    events.open_for_event(
                        session, "behind_pace", market=market, subject=f"lot:{lot_id}:{month}",
                        settings=settings, today=today, lot_id=lot_id,
                    )  # fmt: skip
            except IntegrityError:  # another worker planned it at the same moment
                log.info("behind-pace task of lot %s already planned", lot_id)
    return rows


# --- handing reminders to the outbox --------------------------------------------------------


def _outbox_row(
    *,
    key: str,
    recipient: contexts.Recipient,
    subject: str,
    text: str,
    html: str,
    now: datetime,
    sender: str,
) -> dict:
    return {
        "idempotency_key": key, "message_id": message_id_for(key, sender), "to_email": recipient.email,
        "to_name": recipient.name, "subject": subject, "text_body": text, "html_body": html,
        "status": MessageStatus.pending, "attempts": 0, "next_attempt_at": now, "created_at": now,
    }  # fmt: skip


def _write_outbox(session: Session, rows: list[dict]) -> dict[str, int]:
    """Outbox rows in one multi-row ``INSERT … RETURNING``; their ids by idempotency key (the
    order of RETURNING is not relied on). A key already taken fails the batch's transaction,
    as one flush per message did."""
    if not rows:
        return {}
    written = session.connection().execute(
        insert(OutboxMessage.__table__).returning(
            OutboxMessage.__table__.c.idempotency_key, OutboxMessage.__table__.c.id
        ),
        rows,
    )
    return {key: id_ for key, id_ in written}


def _keep_loaded(session: Session) -> None:
    """Hold what the session loads for as long as the session lives: its identity map holds
    rows weakly, so ``prepare`` would read the same market again for each of its reminders."""
    kept: list = []
    event.listen(session, "loaded_as_persistent", lambda _session, instance: kept.append(instance))


def hand_over(
    engine: Engine, settings: Settings, *, worker: str, now: datetime, report: SweepReport
) -> None:
    today = now.astimezone(PARIS).date()
    local = now.astimezone(PARIS)
    sender = settings.notifications.sender
    while True:
        with Session(engine) as session:
            ids = _claim(
                session, Reminder,
                (Reminder.status == ReminderStatus.pending, Reminder.message_id.is_(None), Reminder.due_at <= now),
                Reminder.due_at, worker=worker, now=now, settings=settings,
            )  # fmt: skip
            if not ids:
                return
            digests: dict[str, list[tuple[Reminder, contexts.Ready]]] = defaultdict(list)
            handed: list[tuple[Reminder, dict]] = []
            _keep_loaded(session)
            reminders = session.execute(select(Reminder).where(Reminder.id.in_(ids))).scalars()
            with session.no_autoflush:  # prepare only reads: no flush before each of its reads
                for reminder in reminders:
                    outcome = None
                    try:
                        outcome = contexts.prepare(session, reminder, settings, today)
                        if isinstance(outcome, contexts.Later):  # tried again that day
                            reminder.due_at = schedule.at_office_start(
                                outcome.on, settings.notifications
                            )
                            log.info("reminder %s postponed: %s", reminder.id, outcome.reason)
                            continue
                        if isinstance(outcome, contexts.Skip):
                            reminder.status, reminder.cancel_reason = (
                                ReminderStatus.cancelled,
                                outcome.reason,
                            )
                            report.cancelled += 1
                            continue
                        person = outcome.recipient.facilitator
                        if person is not None and person.digest:
                            reminder.recipient_email = outcome.recipient.email
                            digests[outcome.recipient.email].append((reminder, outcome))
                            continue
                        rendered = render_rule(settings.reminders[reminder.rule], outcome.context)
                    except (jinja2.TemplateError, LookupError, ValueError) as error:
                        # one broken reminder must not hold back the batch: it fails, visibly
                        if isinstance(outcome, contexts.Ready):
                            reminder.recipient_email = outcome.recipient.email
                        reminder.status, reminder.cancel_reason = (
                            ReminderStatus.failed,
                            f"préparation impossible : {error}",
                        )
                        report.failed += 1
                        log.error(
                            "reminder %s (%s) could not be prepared: %s",
                            reminder.id,
                            reminder.rule,
                            error,
                        )
                        continue
                    message = _outbox_row(key=reminder.idempotency_key, recipient=outcome.recipient, subject=rendered.subject,
                                          text=rendered.text, html=rendered.html, now=now, sender=sender)  # fmt: skip
                    handed.append((reminder, message))
            _write_outbox(session, [message for _, message in handed])
            if handed:  # each reminder linked to its message, found by their common key
                session.execute(
                    update(Reminder)
                    .where(
                        Reminder.id.in_([reminder.id for reminder, _ in handed]),
                        Reminder.idempotency_key == OutboxMessage.idempotency_key,
                    )
                    .values(message_id=OutboxMessage.id, recipient_email=OutboxMessage.to_email)
                    .execution_options(synchronize_session=False)
                )
            report.handed += len(handed)
            for email, items in digests.items():
                key = f"digest:{email}:{today.isoformat()}"
                taken = session.execute(
                    select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)
                ).first()
                if taken is not None or local.time() < settings.notifications.digest_time:
                    # today's digest is made (or not yet due): tomorrow's will carry these
                    for reminder, _ in items:
                        reminder.due_at = _next_digest(today, settings)
                    continue
                recipient = items[0][1].recipient
                parts = []
                for reminder, ready in items:
                    rendered = render_rule(settings.reminders[reminder.rule], ready.context)
                    parts.append(
                        {
                            "subject": rendered.subject,
                            "text": rendered.text.split("\n--\n")[0].strip(),
                            "link": ready.link,
                        }
                    )
                context = {**items[0][1].context, "items": parts, "day": fr_date(today)}
                rendered = render(
                    "digest", "Vos rappels Clausier du {{ day }} ({{ items | length }})", context
                )
                message = _outbox_row(key=key, recipient=recipient, subject=rendered.subject, text=rendered.text,
                                      html=rendered.html, now=now, sender=sender)  # fmt: skip
                written = _write_outbox(session, [message])
                for reminder, _ in items:
                    reminder.message_id = written[key]
                report.handed += len(items)
            session.execute(
                update(Reminder)
                .where(Reminder.id.in_(ids))
                .values(claimed_until=None, claimed_by=None)
            )
            session.commit()


def _next_digest(today: date, settings: Settings) -> datetime:
    day = add_business_days(today + timedelta(days=1), 0, None)
    return datetime.combine(day, settings.notifications.digest_time, tzinfo=PARIS).astimezone(UTC)


# --- delivering the outbox ------------------------------------------------------------------


def _backoff(attempts: int, settings: Settings) -> timedelta:
    base = settings.outbox.backoff_seconds * 2 ** (attempts - 1)
    seconds = min(base, settings.outbox.backoff_max_seconds)
    return timedelta(
        seconds=seconds * random.uniform(0.8, 1.2)
    )  # jitter: workers don't retry in step


def deliver(
    engine: Engine, settings: Settings, *, worker: str, now: datetime, report: SweepReport
) -> None:
    while _deliver_batch(engine, settings, worker=worker, now=now, report=report):
        pass


_RECHECK_SECONDS = 1.0  # a long batch re-reads which of its messages are still its own


def _still_ours(connection: Connection, ids: list[int], worker: str) -> list[Row]:
    """The claimed messages still pending and leased to this worker, with what building and
    recording them needs (one statement for the batch, not one read per message)."""
    rows = connection.execute(
        select(
            OutboxMessage.id, OutboxMessage.to_name, OutboxMessage.to_email,
            OutboxMessage.subject, OutboxMessage.message_id, OutboxMessage.created_at,
            OutboxMessage.text_body, OutboxMessage.html_body, OutboxMessage.attempts,
        )
        .where(
            OutboxMessage.id.in_(ids),
            OutboxMessage.status == MessageStatus.pending,
            OutboxMessage.claimed_by == worker,
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
    ).all()  # fmt: skip
    connection.commit()
    return rows


def _deliver_batch(
    engine: Engine, settings: Settings, *, worker: str, now: datetime, report: SweepReport
) -> bool:
    sender = settings.notifications.sender
    postponed: list[tuple[datetime, str]] = []
    with Session(engine) as session:
        ids = _claim(
            session, OutboxMessage,
            (OutboxMessage.status == MessageStatus.pending, OutboxMessage.next_attempt_at <= now),
            OutboxMessage.next_attempt_at, worker=worker, now=now, settings=settings,
        )  # fmt: skip
    if not ids:
        return False
    # past half its lease a batch stops sending: its lease cannot expire while it sends
    deadline = monotonic() + settings.outbox.lease_seconds / 2
    with (
        _delivery_connection(engine) as connection,
        transport_for(settings.outbox, settings.smtp) as transport,
        _Recorder(connection, engine, worker=worker, now=now) as recorder,
    ):
        rows = _still_ours(connection, ids, worker)
        ours, checked = {row.id for row in rows}, monotonic()
        for position, row in enumerate(rows):
            if position and monotonic() > deadline:
                recorder.settle()
                _release(connection, [r.id for r in rows[position:]], worker)
                break
            if monotonic() - checked > _RECHECK_SECONDS:
                # as a read per message did: a message whose lease another worker took is skipped
                recorder.settle()
                ours = {
                    r.id for r in _still_ours(connection, [r.id for r in rows[position:]], worker)
                }
                checked = monotonic()
            if row.id not in ours:
                continue
            try:
                transport.send(build(row, sender), before_acceptance=recorder.settle)
            except DeliveryFailure as failure:
                recorder.settle()  # the connection is the recorder's until then
                attempts = row.attempts + 1
                values = {"attempts": attempts, "last_error": str(failure), "claimed_until": None,
                          "claimed_by": None}  # fmt: skip
                if failure.permanent or attempts >= settings.outbox.max_attempts:
                    values["status"] = MessageStatus.failed
                    _fail(connection, row.id, values)
                    report.failed += 1
                    log.warning(
                        "message %s failed after %s attempt(s): %s", row.id, attempts, failure
                    )
                else:
                    values["next_attempt_at"] = now + _backoff(attempts, settings)
                    report.retried += 1
                    postponed.append((values["next_attempt_at"], str(failure)))
                    log.debug("message %s: attempt %s failed: %s", row.id, attempts, failure)
                    connection.execute(
                        update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values)
                    )
                connection.commit()  # SQLite: no write lock held across the next sends
                continue
            recorder.record(row.id)
            report.delivered += 1
        recorder.settle()
        connection.commit()
    if postponed:  # once per batch: a full disk or a server down fails every message alike
        causes = sorted({cause for _, cause in postponed})
        log.error(
            "%s message(s) non remis, gardés en attente ; prochain essai à partir de %s : %s",
            len(postponed),
            min(at for at, _ in postponed).astimezone(PARIS).strftime("%d/%m/%Y %H:%M:%S"),
            " ; ".join(causes[:3])
            + (f" ; et {len(causes) - 3} autre(s) cause(s)" if len(causes) > 3 else ""),
        )
    return True


class _Recorder:
    """Records the messages the server accepted, on a thread of its own, so that one message's
    round trip to the database overlaps the next one's SMTP exchange. That exchange waits for
    the record (``settle``) before the line that ends its data, so at most one accepted message
    is ever unrecorded: the one window stays one message wide. Until ``settle`` returns the
    batch's connection is the recorder's."""

    def __init__(self, connection: Connection, engine: Engine, *, worker: str, now: datetime):
        self.connection, self.engine, self.worker, self.now = connection, engine, worker, now
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clausier-record")
        self._pending: Future | None = None

    def __enter__(self) -> _Recorder:
        return self

    def __exit__(self, error_type, *_) -> None:
        try:
            if error_type is None:
                self.settle()
        finally:
            self._thread.shutdown()  # waits for a record in flight, whatever stopped the batch

    def record(self, message_id: int) -> None:
        self.settle()
        self._pending = self._thread.submit(
            _record_sent, self.connection, self.engine, message_id, worker=self.worker,
            now=self.now,
        )  # fmt: skip

    def settle(self) -> None:
        """Until the last accepted message is recorded (its error, if any, raised here)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()


@contextmanager
def _delivery_connection(engine: Engine) -> Iterator[Connection]:
    """The batch's connection. On PostgreSQL each statement commits on its own (AUTOCOMMIT), so
    marking a message sent with its reminders (one statement, ``_SENT_WITH_REMINDERS``) is one
    round trip with no COMMIT after it. The commit stays synchronous: a crash of PostgreSQL
    itself must not undo a ``sent`` and send the message twice. The isolation level goes back
    to the pool's default when the connection is returned, or the connection is discarded."""
    with engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            yield connection
            return
        connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield connection
        finally:
            try:
                connection.rollback()
            except DBAPIError:
                connection.invalidate()


# built once: building an UPDATE cost more than running it on SQLite
_SENT = (
    update(OutboxMessage)
    .where(OutboxMessage.id == bindparam("message"))
    .values(status=MessageStatus.sent, sent_at=bindparam("now", type_=UTCDateTime),
            attempts=OutboxMessage.attempts + 1, claimed_until=None, claimed_by=None)
)  # fmt: skip
_SENT_IF_OURS = _SENT.where(
    OutboxMessage.status == MessageStatus.pending, OutboxMessage.claimed_by == bindparam("worker")
)
_REMINDERS = (
    update(Reminder)
    .where(Reminder.message_id == bindparam("message"))
    .values(status=bindparam("status"))
)


def _with_its_reminders(message_update, status: ReminderStatus):
    """PostgreSQL: a message's UPDATE and its reminders' in one statement, one round trip."""
    message = message_update.returning(OutboxMessage.id).cte("message")
    return (
        update(Reminder).where(Reminder.message_id.in_(select(message.c.id))).values(status=status)
    )


_SENT_WITH_REMINDERS = _with_its_reminders(_SENT, ReminderStatus.sent)


def _mark_sent(connection: Connection, message_id: int, now: datetime, *, worker: str | None):
    """The message and its reminders ``sent``, without reading them first. With ``worker``, only
    if the message is still pending and leased to it."""
    if worker is not None:
        parameters = {"message": message_id, "now": now, "worker": worker}
        if connection.execute(_SENT_IF_OURS, parameters).rowcount == 1:
            _mark_reminders(connection, message_id, ReminderStatus.sent)
    elif connection.dialect.name == "postgresql":
        connection.execute(_SENT_WITH_REMINDERS, {"message": message_id, "now": now})
    else:
        connection.execute(_SENT, {"message": message_id, "now": now})
        _mark_reminders(connection, message_id, ReminderStatus.sent)


def _record_sent(
    connection: Connection, engine: Engine, message_id: int, *, worker: str, now: datetime
) -> None:
    """Record a message the server has accepted, in its own transaction. If the database
    connection was dropped, record it once more on a fresh connection: otherwise it would go
    again when the lease expires."""
    try:
        _mark_sent(connection, message_id, now, worker=None)
        connection.commit()  # the one window: accepted by the server, not yet committed
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        connection.rollback()  # the next statement of the batch gets a new connection
        log.warning(
            "connexion à la base perdue après l'envoi du message %s : enregistré à nouveau",
            message_id,
        )
        with engine.connect() as again:
            _mark_sent(again, message_id, now, worker=worker)
            again.commit()


def _release(connection: Connection, ids: list[int], worker: str) -> None:
    """Give back claims this batch will not use: the next claim takes them at once."""
    connection.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == worker)
        .values(claimed_until=None, claimed_by=None)
    )


def _fail(connection: Connection, message_id: int, values: dict) -> None:
    """The message and its reminders ``failed`` together (one statement on PostgreSQL, whose
    delivery connection commits each statement)."""
    failed = update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    if connection.dialect.name == "postgresql":
        connection.execute(_with_its_reminders(failed, ReminderStatus.failed))
        return
    connection.execute(failed)
    _mark_reminders(connection, message_id, ReminderStatus.failed)


def _mark_reminders(connection: Connection, message_id: int, status: ReminderStatus) -> None:
    connection.execute(_REMINDERS, {"message": message_id, "status": str(status)})


def run_once(
    engine: Engine,
    settings: Settings,
    *,
    worker: str,
    now: datetime | None = None,
    planning: bool = True,
) -> SweepReport:
    """One pass: plan (optionally), hand due reminders over (office hours only), deliver."""
    now = now or clock.now()
    report = SweepReport()
    if planning:
        report.planned = plan(engine, settings, now)
    if in_office_hours(now, settings):
        hand_over(engine, settings, worker=worker, now=now, report=report)
    else:
        report.notes.append("hors des heures de bureau : aucun rappel n'est confié à l'envoi")
    # what is already in the outbox (a sign-in link, a retry) leaves at any hour
    deliver(engine, settings, worker=worker, now=now, report=report)
    return report
