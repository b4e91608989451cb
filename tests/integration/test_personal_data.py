"""A beneficiary's name stays in the database, for the facilitators of the structure: it is
never written to logs (even with SQL echo on), never sent by e-mail."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

from sqlmodel import Session, select

from clausier.clock import PARIS
from clausier.config import DatabaseSettings, Settings
from clausier.db.engine import make_engine
from clausier.declarations.models import DeclarationLine
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.markets.models import Lot
from notifications import sweep
from notifications.models import OutboxMessage
from notifications.settings import OutboxSettings
from tests import factories as make

NAME = "Zoé Quintal-Personnelle"


def paris(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def test_a_name_never_reaches_logs_or_e_mails(store, clock, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        database=DatabaseSettings(url=store.url, echo=True),
        outbox=OutboxSettings(maildir=tmp_path / "outbox"),
    )
    engine = make_engine(settings)  # SQL echo on: statements are logged, their values are not
    clock.move_to(paris(date(2027, 3, 1)))
    with Session(engine, expire_on_commit=False) as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde")
        make.convention(session, buyer=buyer, structure=mde, covering=(make.MANCHE,),
                        starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31))  # fmt: skip
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=900,
            awarded_to=make.contractor(session), execution_starts_on=date(2027, 1, 1),
            execution_ends_on=date(2027, 12, 31),
        )  # fmt: skip
        person = make.beneficiary(session, mde, name=NAME)
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).one()
        declare(session, lot=lot, period="2027-01", lines=[LineInput(person.code, "direct_hire", 20)],
                actor="c", settings=settings, today=date(2027, 3, 1), now=clock_now())  # fmt: skip
        line = session.exec(select(DeclarationLine)).one()
        review(session, [Decision(line.id, True)], actor="f0", settings=settings,
               today=date(2027, 3, 1), now=clock_now())  # fmt: skip
        session.commit()
    # months later, behind pace: reminders and digests are rendered and handed over
    for day in (date(2027, 5, 12), date(2027, 5, 13), date(2027, 6, 14)):
        moment = paris(day, 9)
        clock.move_to(moment)
        sweep.run_once(engine, settings, worker="t", now=moment)
    with Session(engine) as session:
        messages = session.exec(select(OutboxMessage)).all()
    assert any("en retard" in m.subject.lower() for m in messages)
    for message in messages:
        assert NAME not in message.subject + message.text_body + message.html_body
    assert caplog.records and "INSERT INTO beneficiary" in caplog.text
    assert NAME not in caplog.text
    engine.dispose()


def clock_now() -> datetime:
    return datetime.now(UTC)
