"""Faults: the database connection dropped mid-transaction, the maildir that refuses writes, a
bad rule written into config.yaml while workers run. What each does is in docs/delivery.md."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db import engine as engine_module
from clausier.markets.models import Market, TransitionLog
from clausier.tasks.models import Task
from notifications import sweep
from notifications.models import OutboxMessage, Reminder
from notifications.settings import OutboxSettings
from tests import factories as make
from tests import stores
from tests.integration.test_reminder_workers import uncovered_markets
from tests.integration.test_reminders import settings_for
from tests.processes import WorkerProcess
from tests.smtp import SmtpServer, _Handler
from workflow.engine import fire

MORNING = datetime(2026, 11, 25, 10, tzinfo=PARIS).astimezone(UTC)


# --- the PostgreSQL connection dropped ------------------------------------------------------


def tagged_url(store, name: str) -> str:
    """The store's URL with an application_name, so that only this test's backends are killed
    (other engineers' tests share the server)."""
    url = make_url(store.url).update_query_dict({"application_name": name})
    return url.render_as_string(hide_password=False)


def terminate(name: str | None = None, *, pid: int | None = None) -> int:
    """``pg_terminate_backend`` from another session, waiting (5 s at most) until each is gone."""
    admin = sa.create_engine(stores.POSTGRES_URL)
    try:
        with admin.begin() as connection:
            where = "pid = :pid" if pid is not None else "application_name = :name"
            return len(
                connection.execute(
                    sa.text(
                        f"SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        f"WHERE {where} AND pid <> pg_backend_pid()"
                    ),
                    {"pid": pid, "name": name},
                ).all()
            )
    finally:
        admin.dispose()


def snapshot(engine, ref: str) -> dict:
    """Everything a transition writes: the market, its log, its tasks, its reminders."""
    with Session(engine) as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        return {
            "market": (market.state, market.version),
            "log": session.exec(
                select(TransitionLog.id, TransitionLog.trigger).where(
                    TransitionLog.market_id == market.id
                )
            ).all(),
            "tasks": session.exec(
                select(Task.id, Task.kind, Task.status).where(Task.market_id == market.id)
            ).all(),
            "reminders": session.exec(
                select(Reminder.id, Reminder.rule, Reminder.status, Reminder.due_at).where(
                    Reminder.market_id == market.id
                )
            ).all(),
        }


@pytest.mark.postgresql
def test_a_transition_whose_connection_is_killed_before_commit_leaves_nothing(
    postgres_store, clock
):
    """The backend of the transition's connection is terminated between its writes and its
    commit: nothing of it remains, and the same engine fires again (pool_pre_ping)."""
    with postgres_store.session() as session:
        buyer = make.buyer(session)
        make.convention(session, buyer=buyer, structure=make.structure(session, "mde"))
        winner = make.contractor(session)
        market = make.market(session, buyer=buyer, state="consultation")
        session.commit()
        ref, award = market.ref, {"contractors": {"1": winner.siret, "2": winner.siret}}
    name = f"clausier-fault-{uuid.uuid4().hex[:8]}"
    engine = stores.engine_for(tagged_url(postgres_store, name))
    try:
        before = snapshot(engine, ref)
        assert before["tasks"] and before["reminders"], "the transition has work to undo"
        with Session(engine) as session:
            fire(session, ref=ref, trigger="award", actor="acheteur", data=award)
            session.flush()
            written = session.execute(
                sa.text("SELECT state FROM market WHERE ref = :r"), {"r": ref}
            )
            assert written.scalar_one() == "execution", "written, not yet committed"
            pid = session.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
            assert terminate(pid=pid) == 1
            with pytest.raises(DBAPIError) as dropped:
                session.commit()
            assert dropped.value.connection_invalidated
        assert snapshot(postgres_store.engine, ref) == before

        terminate(name)  # the idle connections left in the pool die too: pre-ping replaces them
        with Session(engine) as session:
            fired = fire(session, ref=ref, trigger="award", actor="acheteur", data=award)
            session.commit()
        after = snapshot(postgres_store.engine, ref)
        assert (fired.to_state, after["market"]) == (
            "execution",
            ("execution", before["market"][1] + 1),
        )
        assert len(after["log"]) == len(before["log"]) + 1
        assert after["reminders"] != before["reminders"]
    finally:
        engine.dispose()


class KillingSmtpServer(SmtpServer):
    """An SMTP server that terminates a worker's database connections while it holds the
    ``at``-th message: between the worker's reads and its commit, after the server's 250."""

    def __init__(self, application: str, at: set[int]) -> None:
        super().__init__()
        self.application, self.at, self.seen, self.killed = application, at, 0, 0

    def start(self) -> None:
        server = self

        class Handler(_Handler):
            async def handle_DATA(self, smtp, session, envelope):
                server.seen += 1
                if server.seen in server.at:
                    server.killed += terminate(server.application)
                return await super().handle_DATA(smtp, session, envelope)

        self.controller = Controller(Handler(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()


@pytest.mark.postgresql
def test_a_pooled_connection_is_pinged_only_after_a_second_idle(postgres_store, monkeypatch):
    """Issue 15, throughput: ``pool_pre_ping`` pinged the server on every checkout, one round
    trip per request; a connection back within the second is handed out as it is, one idle
    longer is pinged, and replaced if its backend was terminated meanwhile."""
    name = f"clausier-idle-{uuid.uuid4().hex[:8]}"
    engine = stores.engine_for(tagged_url(postgres_store, name))
    pings = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(1) or real_ping(c))
    backend = "SELECT pg_backend_pid()"
    try:
        with engine.connect() as connection:
            first = connection.execute(sa.text(backend)).scalar_one()
        for _ in range(20):  # a busy server: back within the second, never pinged
            with engine.connect() as connection:
                assert connection.execute(sa.text(backend)).scalar_one() == first
        assert pings == []
        assert terminate(name) == 1  # the server drops it while it waits in the pool
        monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING_SECONDS", 0.0)  # idle long enough
        with engine.connect() as connection:
            replaced = connection.execute(sa.text(backend)).scalar_one()
        assert pings and replaced != first
    finally:
        engine.dispose()


def test_a_worker_whose_connections_are_killed_reconnects_and_delivers_each_once(
    postgres_store, clock, tmp_path
):
    clock.move_to(MORNING)
    expected = uncovered_markets(postgres_store, 20)
    name = f"clausier-worker-{uuid.uuid4().hex[:8]}"
    server = KillingSmtpServer(name, at={3, 9, 15})
    server.start()
    try:
        settings = settings_for(server)
        sweep.plan(postgres_store.engine, settings, MORNING)
        report = sweep.SweepReport()
        sweep.hand_over(postgres_store.engine, settings, worker="t", now=MORNING, report=report)
        assert report.handed == expected
        (tmp_path / "config.yaml").write_text(
            f"outbox:\n  transport: smtp\n  batch_size: 4\n  sweep_seconds: 1\n"
            f"logging:\n  level: INFO\n"
            f"smtp:\n  host: 127.0.0.1\n  port: {server.port}\n",
            encoding="utf-8",
        )
        env = {
            **os.environ,
            "CLAUSIER_DATABASE_URL": stores.env_url(tagged_url(postgres_store, name)),
            "CLAUSIER_NOW": "2026-11-25T10:05",
        }
        worker = WorkerProcess(tmp_path, env)
        try:
            worker.wait_delivered(expected)
        finally:
            errors = worker.stop()
        ids = server.message_ids()
        assert len(ids) == expected, errors
        assert set(ids.values()) == {1}, "none twice"
        assert server.killed >= 3, "its connections were really terminated"
        assert "connexion à la base perdue après l'envoi" in errors
        with postgres_store.session() as session:
            statuses = session.exec(select(OutboxMessage.status)).all()
        assert set(statuses) == {"sent"} and len(statuses) == expected
    finally:
        server.stop()


# --- the maildir refuses writes -------------------------------------------------------------


def refuse_writes(directory: Path) -> None:
    """Make a real write into ``directory`` fail. Not as root: ``chmod 555`` (EACCES). As root,
    chmod stops nothing, so the directory is made immutable with ``chattr +i`` (EPERM), which
    root obeys too; where the file system or the container does not allow it, the test is
    skipped with the reason."""
    if os.geteuid() != 0:
        directory.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)
        return
    chattr = shutil.which("chattr")
    done = chattr and subprocess.run([chattr, "+i", str(directory)], capture_output=True, text=True)
    if not done or done.returncode != 0:
        pytest.skip(f"impossible de refuser l'écriture en root ici : {done and done.stderr}")
    try:
        (directory / "probe").touch()
    except OSError:
        return
    allow_writes(directory)
    pytest.skip("chattr +i n'empêche pas l'écriture sur ce système de fichiers")


def allow_writes(directory: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["chattr", "-i", str(directory)], check=True)
    directory.chmod(0o755)


def pending(store) -> list[OutboxMessage]:
    with store.session() as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())


class ReadOnly:
    """The maildir's ``tmp`` (where each message is written first) refuses writes."""

    says = "écriture refusée"

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True)

    def apply(self) -> None:
        refuse_writes(self.maildir / "tmp")

    def heal(self) -> None:
        allow_writes(self.maildir / "tmp")

    def close(self) -> None:
        pass


class DiskFull:
    """The maildir is a small file system of its own (tmpfs, as root), filled by a ballast file:
    writes fail with ENOSPC until the ballast is removed."""

    says = "disque plein, libérez de la place"

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        maildir.mkdir(parents=True)
        mount = shutil.which("mount")
        done = os.geteuid() == 0 and mount and subprocess.run(
            [mount, "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(maildir)],
            capture_output=True, text=True,
        )  # fmt: skip
        if not done or done.returncode != 0:
            pytest.skip(f"impossible de monter un petit disque ici : {done and done.stderr}")
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir()
        self.ballast = maildir / "ballast"

    def apply(self) -> None:
        with self.ballast.open("wb", buffering=0) as ballast, contextlib.suppress(OSError):
            while True:  # until ENOSPC
                ballast.write(b"\0" * 4096)

    def heal(self) -> None:
        self.ballast.unlink()

    def close(self) -> None:
        subprocess.run(["umount", str(self.maildir)], check=True)


@pytest.fixture(params=[ReadOnly, DiskFull], ids=["lecture-seule", "disque-plein"])
def maildir_fault(request, tmp_path):
    fault = request.param(tmp_path / "outbox")
    yield fault
    fault.close()


def test_a_maildir_that_refuses_writes_keeps_messages_pending_logs_once_then_delivers_once(
    store, clock, maildir_fault, caplog
):
    clock.move_to(MORNING)
    expected = uncovered_markets(store, 3)
    maildir = maildir_fault.maildir
    settings = Settings(
        outbox=OutboxSettings(transport="maildir", maildir=maildir, backoff_seconds=60)
    )
    maildir_fault.apply()
    try:
        with caplog.at_level(logging.INFO, logger="notifications.sweep"):
            report = sweep.run_once(store.engine, settings, worker="w", now=MORNING)
        assert (report.handed, report.delivered, report.retried) == (expected, 0, expected)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1, "once per failing batch, not once per message nor in a loop"
        text = errors[0].getMessage()
        assert f"{expected} message(s) non remis, gardés en attente" in text
        assert f"dossier des messages {maildir} : {maildir_fault.says}" in text
        messages = pending(store)
        assert [(m.status, m.attempts) for m in messages] == [("pending", 1)] * expected
        assert all(m.next_attempt_at - MORNING >= timedelta(seconds=48) for m in messages)
        assert list((maildir / "new").iterdir()) == []

        # too early for the backoff: nothing is tried again
        sweep.run_once(store.engine, settings, worker="w", now=MORNING + timedelta(seconds=30))
        assert [m.attempts for m in pending(store)] == [1] * expected
    finally:
        maildir_fault.heal()

    later = MORNING + timedelta(minutes=2)
    clock.move_to(later)
    report = sweep.run_once(store.engine, settings, worker="w", now=later, planning=False)
    assert report.delivered == expected
    delivered = list((maildir / "new").iterdir())
    assert len(delivered) == expected
    assert [(m.status, m.attempts) for m in pending(store)] == [("sent", 2)] * expected
    sweep.run_once(store.engine, settings, worker="w", now=later + timedelta(hours=1))
    assert len(list((maildir / "new").iterdir())) == expected, "once"


# --- a bad rule in config.yaml --------------------------------------------------------------

GOOD = (
    "outbox:\n  transport: smtp\n  sweep_seconds: 1\nlogging:\n  level: INFO\n"
    "smtp:\n  host: 127.0.0.1\n  port: {port}\n"
)
BAD_TEMPLATE = """reminders:
  market_uncovered:
    label: Marché non couvert
    follows: coverage
    to: buyer
    before_business_days: 0
    template: market_uncovered
    subject: "Marché {{ marche.reference }} non couvert"
"""


def test_a_bad_rule_is_refused_at_start_while_running_workers_go_on(
    sqlite_store, smtp_server, clock, tmp_path
):
    """A second worker started on the edited file exits 2 before touching anything, naming the
    file and the key; the first, which read its configuration at start, goes on delivering. The
    check does not depend on the store: SQLite only (the PostgreSQL worker is shown above)."""
    store = sqlite_store
    clock.move_to(MORNING)
    settings = settings_for(smtp_server)
    uncovered_markets(store, 2)
    sweep.plan(store.engine, settings, MORNING)
    sweep.hand_over(store.engine, settings, worker="t", now=MORNING, report=sweep.SweepReport())
    config = tmp_path / "config.yaml"
    config.write_text(GOOD.format(port=smtp_server.port), encoding="utf-8")
    env = {
        **os.environ,
        "CLAUSIER_DATABASE_URL": stores.env_url(store.url),
        "CLAUSIER_CONFIG": str(config),
        "CLAUSIER_NOW": "2026-11-25T10:05",
    }
    running = WorkerProcess(tmp_path, env)
    try:
        assert running.wait_delivered(2), "the running worker delivers"
        config.write_text(GOOD.format(port=smtp_server.port) + BAD_TEMPLATE, encoding="utf-8")
        with store.session() as session:
            before = session.exec(select(Reminder.id, Reminder.status)).all()
        second = subprocess.run(
            [sys.executable, "-m", "clausier", "worker"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        errors = second.stderr
        assert second.returncode == 2, errors
        assert errors.startswith(f"Erreur : Configuration invalide ({config}) :")
        assert "clé « reminders.market_uncovered » : modèle « market_uncovered »" in errors
        assert "variable inconnue ('marche' is undefined)" in errors
        assert "Traceback" not in errors
        with store.session() as session:
            assert session.exec(select(Reminder.id, Reminder.status)).all() == before

        # new work after the bad edit: the running worker, configured at start, sends it
        uncovered_markets(store, 3)
        sweep.plan(store.engine, settings, MORNING)
        sweep.hand_over(store.engine, settings, worker="t", now=MORNING, report=sweep.SweepReport())
        assert running.wait_delivered(5), "the running worker goes on"
        assert running.running()
    finally:
        running.stop()
    assert set(smtp_server.message_ids().values()) == {1}


# --- the worker's database out of reach while it plans --------------------------------------

WORKER_CONFIG = (
    "outbox:\n  sweep_seconds: 1\n  reconnect_seconds: 1\n  reconnect_max_seconds: 4\n"
    "logging:\n  level: INFO\n"
)


def _worker_env(url: str) -> dict[str, str]:
    return {**os.environ, "CLAUSIER_DATABASE_URL": stores.env_url(url),
            "CLAUSIER_NOW": "2026-11-25T10:05"}  # fmt: skip


@contextlib.contextmanager
def _unmigrated_postgres_schema():
    """A PostgreSQL schema of its own with no table in it: the URL that reaches it."""
    reason = stores.postgres_unreachable_reason()
    if reason is not None:
        if stores.REQUIRE_POSTGRES:  # CI: a missing server is a failure, not a skip
            pytest.fail(f"CLAUSIER_REQUIRE_POSTGRES=1 mais {reason}")
        pytest.skip(reason)
    name = f"clausier_empty_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(stores.POSTGRES_URL)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{name}"')
    try:
        url = make_url(stores.POSTGRES_URL).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        admin.dispose()


@pytest.mark.parametrize(
    "kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_a_worker_on_a_database_without_tables_stops_at_once_saying_to_run_init(kind, tmp_path):
    """No retry there: waiting would not create the tables."""
    (tmp_path / "config.yaml").write_text(WORKER_CONFIG, encoding="utf-8")
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / 'vide.db'}"
        else:
            url = stack.enter_context(_unmigrated_postgres_schema())
        stopped = subprocess.run(
            [sys.executable, "-m", "clausier", "worker"], cwd=tmp_path, env=_worker_env(url),
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    errors = stopped.stderr
    assert stopped.returncode == 2, errors
    shown = make_url(url).render_as_string(hide_password=True)
    assert (
        f"Erreur : La base de données {shown} n'a pas de tables : lancez « clausier init » pour "
        "la créer."
    ) in errors
    assert "injoignable" not in errors and "Traceback" not in errors


def test_a_worker_whose_sqlite_file_is_out_of_reach_waits_for_it_then_delivers(
    sqlite_store, clock, tmp_path
):
    """The database's folder is away (a volume not mounted yet) when the worker starts: it says
    so and tries again, instead of exiting with « lancez clausier init »; back, it plans and
    sends."""
    clock.move_to(MORNING)
    expected = uncovered_markets(sqlite_store, 3)
    sqlite_store.engine.dispose()
    base, away = tmp_path / "base", tmp_path / "base-absente"
    base.mkdir()
    for part in tmp_path.glob("clausier.db*"):
        part.rename(base / part.name)
    base.rename(away)
    home = tmp_path / "worker"
    home.mkdir()
    (home / "config.yaml").write_text(WORKER_CONFIG, encoding="utf-8")
    worker = WorkerProcess(home, _worker_env(f"sqlite:///{base / 'clausier.db'}"))
    try:
        said = worker.wait_said("base de données injoignable")
        assert said is not None, "".join(worker.lines)
        assert "(OperationalError : unable to open database file) : nouvel essai dans 1 s" in said
        away.rename(base)
        assert worker.wait_delivered(expected), "".join(worker.lines)
        assert worker.running()
    finally:
        log = worker.stop()
    assert "clausier init" not in log and "Traceback" not in log
    assert len(list((home / "outbox" / "new").iterdir())) == expected


@pytest.mark.postgresql
def test_a_worker_whose_connection_drops_during_its_first_planning_pass_retries_then_delivers(
    postgres_store, clock, tmp_path
):
    """The planner's first read waits on a lock; its backend is terminated there. The worker
    says the database did not answer and tries again a second later, then plans and sends."""
    clock.move_to(MORNING)
    expected = uncovered_markets(postgres_store, 3)
    name = f"clausier-worker-{uuid.uuid4().hex[:8]}"
    (tmp_path / "config.yaml").write_text(WORKER_CONFIG, encoding="utf-8")
    holder = sa.create_engine(postgres_store.url)
    lock = holder.connect()
    lock.exec_driver_sql("LOCK TABLE convention IN ACCESS EXCLUSIVE MODE")
    worker = WorkerProcess(tmp_path, _worker_env(tagged_url(postgres_store, name)))
    try:
        assert _waits_on_a_lock(name), "".join(worker.lines)
        assert terminate(name) >= 1
        said = worker.wait_said("base de données injoignable")
        assert said is not None, "".join(worker.lines)
        assert (
            "(AdminShutdown : terminating connection due to administrator command) : "
            "nouvel essai dans 1 s"
        ) in said
        lock.rollback()
        assert worker.wait_delivered(expected), "".join(worker.lines)
        assert worker.running()
    finally:
        lock.close()
        holder.dispose()
        log = worker.stop()
    assert "clausier init" not in log and "Traceback" not in log
    assert len(list((tmp_path / "outbox" / "new").iterdir())) == expected


def _waits_on_a_lock(application: str, timeout: float = 30) -> bool:
    """Until a backend of ``application`` waits on a lock, as PostgreSQL reports it."""
    admin = sa.create_engine(stores.POSTGRES_URL)
    query = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
        "AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with admin.connect() as connection:
                if connection.execute(query, {"name": application}).scalar():
                    return True
            time.sleep(0.05)  # polling what the server reports, not guessing how long it takes
        return False
    finally:
        admin.dispose()
