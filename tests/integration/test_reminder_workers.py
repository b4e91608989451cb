"""Several workers, a worker killed mid-sweep: every reminder delivered, none twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from clausier.clock import PARIS
from notifications import sweep
from notifications.models import Reminder
from tests import factories as make
from tests import stores
from tests.integration.test_reminders import settings_for

MORNING = datetime(2026, 11, 25, 10, tzinfo=PARIS).astimezone(UTC)


def uncovered_markets(store, count: int) -> int:
    """Markets nobody covers: the planner schedules one reminder each, to the buyer."""
    with store.session() as session:
        buyer = make.buyer(session)
        for _ in range(count):
            make.market(session, buyer=buyer, in_commune=make.SAINT_LO, state="execution")
        session.commit()
    return count


def unsent_coverage_reminders(store) -> int:
    with store.session() as session:
        return session.exec(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.rule == "market_uncovered", Reminder.status != "sent")
        ).one()


@pytest.mark.postgresql
def test_two_workers_on_postgresql_deliver_each_reminder_exactly_once(
    postgres_store, smtp_server, clock
):
    clock.move_to(MORNING)
    expected = uncovered_markets(postgres_store, 60)
    settings = settings_for(smtp_server, batch_size=7)
    sweep.plan(postgres_store.engine, settings, MORNING)
    smtp_server.hold()  # every message waits until both workers have one in flight
    errors: list[BaseException] = []

    def work(name: str) -> None:
        engine = stores.engine_for(postgres_store.url)
        try:
            sweep.run_once(engine, settings, worker=name, now=MORNING, planning=False)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            engine.dispose()

    workers = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(2)]
    for worker in workers:
        worker.start()
    assert smtp_server.wait_held(2), "both workers deliver side by side"
    smtp_server.release()
    for worker in workers:
        worker.join(timeout=120)
    assert errors == []
    ids = smtp_server.message_ids()
    assert len(ids) == expected, "none lost"
    assert set(ids.values()) == {1}, "none twice"
    assert unsent_coverage_reminders(postgres_store) == 0


def test_a_worker_killed_mid_sweep_loses_nothing(store, smtp_server, clock, tmp_path):
    clock.move_to(MORNING)
    expected = uncovered_markets(store, 12)
    settings = settings_for(smtp_server, batch_size=50, lease_seconds=300)
    sweep.plan(store.engine, settings, MORNING)
    (tmp_path / "config.yaml").write_text(
        f"outbox:\n  transport: smtp\n  batch_size: 50\n  lease_seconds: 300\n"
        f"smtp:\n  host: 127.0.0.1\n  port: {smtp_server.port}\n",
        encoding="utf-8",
    )
    smtp_server.hold(after=3)  # the fourth message waits for its answer: the worker mid-batch
    env = {**os.environ, "CLAUSIER_DATABASE_URL": store.url, "CLAUSIER_NOW": "2026-11-25T10:00"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "clausier", "reminders", "run-once"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert smtp_server.wait_held(1), "the worker sends its batch"
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    assert 3 <= len(smtp_server.messages()) < expected, "killed in the middle of its batch"
    smtp_server.release()  # aiosmtpd drops the held message: its sender is gone

    # its claims hold until the lease expires; then another worker takes them
    sweep.run_once(
        store.engine,
        settings,
        worker="rescuer",
        now=MORNING + timedelta(seconds=60),
        planning=False,
    )
    assert len(smtp_server.message_ids()) < expected
    sweep.run_once(
        store.engine,
        settings,
        worker="rescuer",
        now=MORNING + timedelta(seconds=301),
        planning=False,
    )
    ids = smtp_server.message_ids()
    assert len(ids) == expected, "none lost"
    assert sum(ids.values()) - expected <= 1, (
        "at most the one in flight is sent again, with its Message-ID"
    )
    assert unsent_coverage_reminders(store) == 0
