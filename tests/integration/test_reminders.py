"""Reminders reach a real SMTP server (aiosmtpd on 127.0.0.1) on the right business day, are
repeated and escalated, survive an outage, and are never sent twice."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import select

from clausier.clock import PARIS
from clausier.config import Settings, WebSettings
from clausier.tasks import service as tasks
from clausier.tasks.models import Task
from notifications import sweep
from notifications.models import OutboxMessage, Reminder
from notifications.settings import OutboxSettings, SmtpSettings
from notifications.transports import SmtpTransport
from tests import factories as make
from tests.acceptance.test_cli_stories import cli  # noqa: F401  (the fixture)


def settings_for(server, **outbox) -> Settings:
    return Settings(
        outbox=OutboxSettings(
            transport="smtp", **{"backoff_seconds": 60, "max_attempts": 3, **outbox}
        ),
        smtp=SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=5),
    )


def paris(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def sweep_at(store, settings, moment: datetime, clock, worker: str = "test"):
    clock.move_to(moment)
    return sweep.run_once(store.engine, settings, worker=worker, now=moment, planning=False)


def subjects(server, word: str) -> list[str]:
    return [m["Subject"] for m in server.messages() if word in m["Subject"]]


@pytest.fixture
def execution(store, clock):
    """A lot in execution in the Manche from June to December 2026, its contractor known."""
    clock.move_to(paris(date(2026, 6, 1)))
    with store.session() as session:
        buyer = make.buyer(session)
        make.convention(
            session, buyer=buyer, structure=make.structure(session, "mde"), covering=(make.MANCHE,)
        )
        winner = make.contractor(session, name="Bâtiments du Bessin SARL")
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, awarded_to=winner,
            execution_starts_on=date(2026, 6, 1), execution_ends_on=date(2026, 12, 31),
        )  # fmt: skip
        session.commit()
        return market.id, winner


def test_the_missing_declaration_reminder_skips_the_14th_of_july(
    store, execution, smtp_server, clock
):
    _, winner = execution
    settings = settings_for(smtp_server)
    with store.session() as session:
        due = {
            r.rule: r.due_at
            for r in session.exec(
                select(Reminder).where(Reminder.period == "2026-06", Reminder.occurrence == 0)
            ).all()
        }
    # June is declared by Friday 10 July; "missing" comes 2 business days later: not Tuesday 14 July
    assert due["declaration_due"] == paris(date(2026, 7, 7), 8)
    assert due["declaration_missing"] == paris(date(2026, 7, 15), 8)

    sweep_at(store, settings, paris(date(2026, 7, 14)), clock)
    assert subjects(smtp_server, "manquant") == []
    sweep_at(store, settings, paris(date(2026, 7, 15)), clock)
    [missing] = [m for m in smtp_server.messages() if "manquant" in m["Subject"]]
    assert missing["To"].addresses[0].addr_spec == winner.email
    assert missing["Subject"].startswith("Relevé d'heures de juin 2026 manquant")
    body = missing.get_body(("plain",)).get_content()
    assert "était attendu le 10/07/2026" in body


def test_an_overdue_task_is_repeated_then_escalated(store, smtp_server, clock):
    clock.move_to(paris(date(2026, 11, 25)))
    settings = settings_for(smtp_server)
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde")
        make.convention(session, buyer=buyer, structure=mde)
        market = make.market(
            session, buyer=buyer, state="consultation"
        )  # inform_bidders due Wed 2 Dec
        [task] = session.exec(select(Task).where(Task.market_id == market.id)).all()
        person = session.exec(
            select(make.Facilitator).where(make.Facilitator.structure_id == mde.id)
        ).first()
        person.digest = False
        session.add(person)
        tasks.take(session, task.id, actor=person.email)
        session.commit()
        buyer_email, structure_email, person_email = buyer.email, mde.email, person.email

    day, received = date(2026, 11, 26), []
    while day <= date(2026, 12, 22):
        before = len(smtp_server.messages())
        sweep_at(store, settings, paris(day), clock)
        for message in smtp_server.messages()[before:]:
            received.append(
                (day, message["To"].addresses[0].addr_spec, message["Subject"].split(" : ")[0])
            )
        day += timedelta(days=1)
    assert received == [
        (date(2026, 11, 30), person_email, "À faire d'ici le 02/12/2026"),
        (date(2026, 12, 3), person_email, "En retard depuis le 02/12/2026"),
        (date(2026, 12, 8), person_email, "En retard depuis le 02/12/2026"),
        (date(2026, 12, 11), person_email, "En retard depuis le 02/12/2026"),
        (date(2026, 12, 16), structure_email, "En retard depuis le 02/12/2026"),
        (date(2026, 12, 21), buyer_email, "En retard depuis le 02/12/2026"),
    ]
    escalated = smtp_server.messages()[-1].get_body(("plain",)).get_content()
    assert "malgré les rappels adressés à" in escalated


def test_an_overdue_task_of_a_market_no_structure_follows_is_escalated_to_its_buyer(
    store,
    smtp_server,
    clock,
    cli,  # noqa: F811
):
    """Nobody covers the market: its overdue task has no facilitator nor structure to remind,
    and those steps are cancelled saying so; the buyer's escalation still leaves, and reads
    well without a structure."""
    clock.move_to(paris(date(2026, 11, 25)))
    settings = settings_for(smtp_server)
    with store.session() as session:
        buyer = make.buyer(session)
        market = make.market(session, buyer=buyer, state="consultation")  # no convention
        assert market.structure_id is None
        [task] = session.exec(select(Task).where(Task.market_id == market.id)).all()
        session.commit()
        buyer_email, ref = buyer.email, market.ref
    day = date(2026, 11, 26)
    while day <= date(2026, 12, 22):
        sweep_at(store, settings, paris(day), clock)
        day += timedelta(days=1)
    [escalated] = smtp_server.messages()
    assert escalated["To"].addresses[0].addr_spec == buyer_email
    assert escalated["Subject"].startswith("En retard depuis le 02/12/2026")
    body = escalated.get_body(("plain",)).get_content()
    assert "aucune structure ne suit ce marché" in body and "None" not in body
    with store.session() as session:
        chain = session.exec(
            select(Reminder)
            .where(Reminder.task_id == task.id)
            .order_by(Reminder.due_at, Reminder.id)
        ).all()
    steps = [(r.rule, r.recipient_role, r.status) for r in chain]
    assert steps == [
        ("task_due_soon", "facilitator", "cancelled"),
        ("task_overdue", "facilitator", "cancelled"),
        ("task_overdue", "facilitator", "cancelled"),
        ("task_overdue", "facilitator", "cancelled"),
        ("task_overdue", "structure", "cancelled"),
        ("task_overdue", "buyer", "sent"),
    ]
    reasons = {r.cancel_reason for r in chain if r.status == "cancelled"}
    why = (
        f"aucune structure n'est assignée au marché {ref} : ni facilitateur ni structure à prévenir"
    )
    assert reasons == {why}
    listed = cli("reminders", "list", "--market", ref).out.splitlines()
    assert [line.endswith(f"annulé — {why}") for line in listed] == [True] * 5 + [False]
    assert "envoyé" in listed[-1] and buyer_email in listed[-1]


def test_a_done_task_stops_its_reminders(store, smtp_server, clock):
    clock.move_to(paris(date(2026, 11, 25)))
    with store.session() as session:
        buyer = make.buyer(session)
        make.convention(session, buyer=buyer, structure=make.structure(session, "mde"))
        market = make.market(session, buyer=buyer, state="consultation")
        [task] = session.exec(select(Task).where(Task.market_id == market.id)).all()
        tasks.complete(session, task.id, actor="f0@mde.example", now=datetime.now(UTC))
        session.commit()
        statuses = {
            r.status
            for r in session.exec(select(Reminder).where(Reminder.task_id == task.id)).all()
        }
    assert statuses == {"cancelled"}
    report = sweep_at(store, settings_for(smtp_server), paris(date(2026, 12, 21)), clock)
    assert report.delivered == 0


def test_outside_office_hours_nothing_leaves(store, execution, smtp_server, clock):
    report = sweep_at(store, settings_for(smtp_server), paris(date(2026, 7, 15), 20), clock)
    assert (report.handed, report.delivered) == (0, 0)
    assert "hors des heures de bureau" in report.notes[0]


def test_an_outage_is_retried_with_backoff_then_failed_then_retried_by_hand(
    store, execution, smtp_server, clock
):
    settings = settings_for(smtp_server)
    smtp_server.stop()
    moment = paris(date(2026, 7, 15))
    report = sweep_at(store, settings, moment, clock)
    assert report.handed >= 1 and report.delivered == 0 and report.retried >= 1
    with store.session() as session:
        message = session.exec(
            select(OutboxMessage).where(OutboxMessage.subject.contains("manquant"))
        ).one()
        assert message.attempts == 1 and "injoignable" in message.last_error
        first_retry = message.next_attempt_at - moment
    assert timedelta(seconds=48) <= first_retry <= timedelta(seconds=72), "60 s ± 20 % jitter"

    sweep_at(store, settings, moment + timedelta(seconds=30), clock)  # too early: not retried
    for minutes in (2, 10):  # second attempt, then the third and last
        sweep_at(store, settings, moment + timedelta(minutes=minutes), clock)
    with store.session() as session:
        message = session.exec(
            select(OutboxMessage).where(OutboxMessage.subject.contains("manquant"))
        ).one()
        reminder = session.exec(select(Reminder).where(Reminder.message_id == message.id)).first()
        assert (message.status, message.attempts, reminder.status) == ("failed", 3, "failed")

    smtp_server.start()
    from clausier.cli.reminders import _requeue

    with store.session() as session:
        _requeue(session, session.get(Reminder, reminder.id))
        session.commit()
    sweep_at(store, settings, moment + timedelta(minutes=20), clock)
    assert smtp_server.message_ids()[message.message_id] == 1
    with store.session() as session:
        assert session.get(Reminder, reminder.id).status == "sent"


def test_421_is_retried_and_550_is_final(store, execution, smtp_server, clock):
    settings = settings_for(smtp_server)
    moment = paris(date(2026, 7, 15))
    smtp_server.answer = "421 Service not available, try later"
    sweep_at(store, settings, moment, clock)
    assert smtp_server.messages() == []
    smtp_server.answer = None
    sweep_at(store, settings, moment + timedelta(minutes=5), clock)
    delivered = len(smtp_server.messages())
    assert delivered >= 1

    smtp_server.answer = "550 Mailbox unavailable"
    sweep_at(store, settings, paris(date(2026, 8, 12)), clock)  # July's reminders
    with store.session() as session:
        failed = session.exec(select(OutboxMessage).where(OutboxMessage.status == "failed")).all()
    assert failed and all(m.attempts == 1 and m.last_error.startswith("SMTP 550") for m in failed)


def test_a_line_break_in_a_name_adds_no_header(store, execution, smtp_server, clock):
    _, winner = execution
    with store.session() as session:
        contractor = session.get(make.Contractor, winner.id)
        contractor.name = "Bâtiments\r\nBcc: pirate@evil.example"
        session.add(contractor)
        session.commit()
    sweep_at(store, settings_for(smtp_server), paris(date(2026, 7, 15)), clock)
    for recipients, message in smtp_server.received:
        assert "pirate@evil.example" not in " ".join(recipients)
        assert message["Bcc"] is None
        assert "\n" not in (message["To"] or "")


def test_facilitators_get_one_digest_a_day(store, smtp_server, clock):
    clock.move_to(paris(date(2026, 11, 25)))
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde")
        make.convention(session, buyer=buyer, structure=mde)
        for _ in range(2):
            market = make.market(session, buyer=buyer, state="consultation")
            [task] = session.exec(select(Task).where(Task.market_id == market.id)).all()
            tasks.take(session, task.id, actor="f0@mde.example")
        session.commit()
    sweep_at(store, settings_for(smtp_server), paris(date(2026, 11, 30), 10), clock)
    [digest] = smtp_server.messages()
    assert digest["Subject"] == "Vos rappels Clausier du 30/11/2026 (2)"
    assert digest.get_body(("plain",)).get_content().count("À faire d'ici le 02/12/2026") == 2


def test_a_reminder_that_cannot_be_rendered_fails_visibly_and_the_others_go(
    store, execution, smtp_server, clock
):
    with store.session() as session:
        broken = session.exec(
            select(Reminder).where(
                Reminder.rule == "declaration_missing", Reminder.period == "2026-06"
            )
        ).first()
        broken.period = "2026-13"  # a month that does not exist
        session.add(broken)
        session.commit()
    report = sweep_at(store, settings_for(smtp_server), paris(date(2026, 7, 15)), clock)
    with store.session() as session:
        again = session.get(Reminder, broken.id)
    assert (
        again.status == "failed" and "month must be in 1..12" in again.cancel_reason
    ) or again.status == "failed"
    assert report.delivered >= 1, "the rest of the batch was delivered"


MORNING = datetime(2026, 11, 25, 10, tzinfo=PARIS).astimezone(UTC)  # a Wednesday


def _uncovered_markets(store, count: int) -> None:
    """Markets nobody covers, each its own buyer: one reminder each, each to its own address."""
    with store.session() as session:
        for n in range(count):
            buyer = make.buyer(session, name=f"Acheteur {n}")
            make.market(session, buyer=buyer, in_commune=make.SAINT_LO, state="execution")
        session.commit()


def test_a_batch_handed_over_at_once_links_each_reminder_to_its_own_message(
    store, smtp_server, clock
):
    clock.move_to(MORNING)
    _uncovered_markets(store, 9)
    settings = settings_for(smtp_server, batch_size=4)
    sweep.plan(store.engine, settings, MORNING)
    report = sweep.SweepReport()
    sweep.hand_over(store.engine, settings, worker="t", now=MORNING, report=report)
    assert report.handed == 9
    with store.session() as session:
        pairs = session.exec(
            select(Reminder, OutboxMessage).join(
                OutboxMessage, OutboxMessage.id == Reminder.message_id
            )
        ).all()
    assert len(pairs) == 9 and len({message.to_email for _, message in pairs}) == 9
    for reminder, message in pairs:
        assert message.idempotency_key == reminder.idempotency_key
        assert reminder.recipient_email == message.to_email
        assert (reminder.claimed_by, reminder.claimed_until) == (None, None)


def test_an_unreachable_server_is_tried_once_per_batch(store, smtp_server, clock, monkeypatch):
    clock.move_to(MORNING)
    _uncovered_markets(store, 5)
    settings = settings_for(smtp_server, batch_size=50)
    sweep.plan(store.engine, settings, MORNING)
    smtp_server.stop()
    tries = []
    connect = SmtpTransport._connect
    monkeypatch.setattr(SmtpTransport, "_connect", lambda self: tries.append(1) or connect(self))
    report = sweep_at(store, settings, MORNING, clock)
    assert (report.handed, report.retried, len(tries)) == (5, 5, 1)
    with store.session() as session:
        messages = session.exec(select(OutboxMessage)).all()
    assert all(m.status == "pending" and m.attempts == 1 for m in messages)
    assert all("injoignable" in m.last_error and m.next_attempt_at > MORNING for m in messages)

    smtp_server.start()
    sweep_at(store, settings, MORNING + timedelta(minutes=5), clock)
    assert sorted(smtp_server.message_ids().values()) == [1] * 5


def test_a_batch_past_half_its_lease_gives_back_the_rest(store, smtp_server, clock, monkeypatch):
    clock.move_to(MORNING)
    _uncovered_markets(store, 6)
    settings = settings_for(smtp_server, batch_size=50, lease_seconds=10)
    sweep.plan(store.engine, settings, MORNING)
    ticks = iter(range(0, 10_000, 2))  # each look at the clock: two seconds later
    monkeypatch.setattr(sweep, "monotonic", lambda: next(ticks))
    released = []
    release = sweep._release
    monkeypatch.setattr(
        sweep, "_release", lambda c, ids, w: released.append(ids) or release(c, ids, w)
    )
    report = sweep_at(store, settings, MORNING, clock)
    assert report.delivered == 6 and released, "given back, then claimed again"
    assert sorted(smtp_server.message_ids().values()) == [1] * 6


def test_the_server_accepts_a_message_only_once_the_one_before_is_recorded(
    store, smtp_server, clock
):
    """A message's record overlaps the next one's SMTP exchange, but the next one is not
    accepted before that record is committed: a crash leaves at most one accepted message
    unrecorded, as when each record came before the next send."""
    clock.move_to(MORNING)
    _uncovered_markets(store, 30)
    settings = settings_for(smtp_server, batch_size=50)
    sweep.plan(store.engine, settings, MORNING)
    seen = []

    def recorded_when_accepted():
        with store.engine.connect() as connection:
            sent = connection.exec_driver_sql(
                "SELECT count(*) FROM outbox_message WHERE status = 'sent'"
            ).scalar()
        seen.append((len(smtp_server.received), sent))

    smtp_server.on_data = recorded_when_accepted
    assert sweep_at(store, settings, MORNING, clock).delivered == 30
    assert seen == [(n, n) for n in range(30)]  # every earlier message, and not this one yet
    assert sorted(smtp_server.message_ids().values()) == [1] * 30


@pytest.mark.postgresql
def test_the_delivery_connection_goes_back_to_the_pool_as_it_came(
    postgres_store, smtp_server, clock
):
    """AUTOCOMMIT is the delivery's alone: the pool gets its connection back reset, so no
    other transaction loses its atomicity; and its commits keep the durability they came with
    (the tests' store sets synchronous_commit itself: the delivery must not change it)."""
    clock.move_to(MORNING)
    engine = postgres_store.engine
    with engine.connect() as fresh:
        durability = fresh.exec_driver_sql("SHOW synchronous_commit").scalar()
    _uncovered_markets(postgres_store, 3)
    settings = settings_for(smtp_server)
    sweep.plan(postgres_store.engine, settings, MORNING)
    assert sweep_at(postgres_store, settings, MORNING, clock).delivered == 3
    checked_out = [engine.connect() for _ in range(engine.pool.checkedin())]
    assert checked_out
    try:
        for connection in checked_out:
            assert connection.exec_driver_sql("SHOW synchronous_commit").scalar() == durability
            assert connection.connection.driver_connection.autocommit is False
    finally:
        for connection in checked_out:
            connection.close()


@pytest.mark.usefixtures("execution")  # a lot in execution, June not declared
def test_links_in_reminders_lead_to_the_configured_site(store, smtp_server, clock):
    settings = settings_for(smtp_server).model_copy(
        update={"web": WebSettings(base_url="https://clausier.normandie.example/")}
    )
    sweep_at(store, settings, paris(date(2026, 7, 15)), clock)
    [missing] = [m for m in smtp_server.messages() if "manquant" in m["Subject"]]
    body = missing.get_body(("plain",)).get_content()
    assert re.search(r"https://clausier\.normandie\.example/lots/\d+/declarations/2026-06\b", body)
    assert "127.0.0.1" not in body
