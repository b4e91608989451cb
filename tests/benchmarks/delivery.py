"""Delivery to a real SMTP server (aiosmtpd on 127.0.0.1), counted there by Message-ID.

``workers``: 1, 2, 4 ``clausier worker`` processes on one PostgreSQL schema deliver N due
reminders (market_uncovered, rendered at send time); throughput from spawning the workers to the
server's last acceptance, and duplicates and lost messages counted at the server (both must be 0).

``sweep_vs_raw``: one in-process sweep (claim, prepare, render, deliver, record) against raw
``smtplib`` sending the same messages, already built (the very bytes the sweep sends), over one
connection; the throughput ratio sweep/raw has a goal of at least 0.5. Also shown: raw
``send_message`` of the same messages as ``EmailMessage`` objects (flattened at each send), the
baseline before messages were composed as bytes.
"""

from __future__ import annotations

import os
import re
import signal
import smtplib
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from sqlalchemy import func, insert, select

from clausier.clock import NOW_ENV, PARIS
from clausier.config import Settings
from notifications import sweep
from notifications.messages import build, message_id_for
from notifications.models import OutboxMessage, Reminder
from notifications.settings import OutboxSettings, SmtpSettings
from tests import factories as make
from tests.benchmarks.figures import show, summary, timed
from tests.benchmarks.stores import fresh_store
from tests.smtp import SmtpServer

MORNING = datetime(2026, 11, 25, 10, tzinfo=PARIS).astimezone(UTC)  # a Wednesday, office hours
MARKETS = 8
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.MULTILINE | re.IGNORECASE)


class _Counting:
    async def handle_DATA(self, _server, _session, envelope):
        found = _MESSAGE_ID.search(envelope.content)
        with self.server.lock:
            self.server.counted[found.group(1).decode() if found else "(none)"] += 1
            self.server.last_at = time.perf_counter()
        return "250 OK"

    def __init__(self, server: CountingServer):
        self.server = server


class CountingServer(SmtpServer):
    """tests/smtp.py's server keeping only each Message-ID: parsing every message with the
    ``email`` package would make the server, not the senders, the measured bottleneck."""

    def __init__(self) -> None:
        super().__init__()
        self.counted: Counter = Counter()
        self.last_at = 0.0

    def start(self) -> None:
        self.controller = Controller(_Counting(self), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def total(self) -> int:
        with self.lock:
            return sum(self.counted.values())

    def reset(self) -> None:
        with self.lock:
            self.counted.clear()

    def check(self, expected: set[str]) -> tuple[int, int]:
        """(duplicates, lost) against the Message-IDs that should have arrived once each."""
        with self.lock:
            duplicates = sum(n - 1 for n in self.counted.values() if n > 1)
            lost = len(expected - set(self.counted))
            strangers = set(self.counted) - expected
        assert not strangers, f"{len(strangers)} unexpected message(s)"
        return duplicates, lost


def _uncovered_markets(store) -> list[int]:
    with store.session() as session:
        buyer = make.buyer(session)
        ids = [
            make.market(session, buyer=buyer, in_commune=make.SAINT_LO, state="execution").id
            for _ in range(MARKETS)
        ]
        session.commit()
    return ids


def _due_reminders(store, markets: list[int], count: int, prefix: str) -> None:
    """``count`` due market_uncovered reminders, one multi-row insert per 5,000."""
    rows = [
        {"rule": "market_uncovered", "recipient_role": "buyer", "market_id": markets[i % len(markets)],
         "idempotency_key": f"{prefix}:{i}", "occurrence": 0, "status": "pending",
         "created_at": MORNING, "due_at": MORNING - timedelta(minutes=1 + i % 60)}
        for i in range(count)
    ]  # fmt: skip
    with store.engine.begin() as connection:
        for start in range(0, count, 5_000):
            connection.execute(insert(Reminder), rows[start : start + 5_000])


def _later_reminders(store, count: int) -> None:
    """``count`` pending reminders not yet due (a national table), 5,000 rows a statement; on
    PostgreSQL the table is then analysed, as autovacuum would."""
    later = MORNING + timedelta(days=1)
    with store.engine.begin() as connection:
        for start in range(0, count, 5_000):
            connection.execute(insert(Reminder), [
                {"rule": "task_overdue", "recipient_role": "facilitator",
                 "idempotency_key": f"later:{i}", "occurrence": 0, "status": "pending",
                 "created_at": MORNING, "due_at": later + timedelta(minutes=i % 1_000_000)}
                for i in range(start, min(start + 5_000, count))
            ])  # fmt: skip
    if store.kind == "postgresql":
        with store.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()


def _due_message_ids(store, sender: str) -> set[str]:
    """What must arrive once each (the markets' other reminders fall due later)."""
    with store.session() as session:
        keys = session.execute(
            select(Reminder.idempotency_key).where(
                Reminder.status == "pending", Reminder.due_at <= MORNING
            )
        ).scalars()
        return {message_id_for(key, sender) for key in keys}


def _prepared(store, settings: Settings) -> list[int]:
    """Uncovered markets, their own reminders planned and sent (the planner flags them)."""
    markets = _uncovered_markets(store)
    sweep.plan(store.engine, settings, MORNING)
    return markets


# --- several worker processes ---------------------------------------------------------------


def _spawn(count: int, store, folder: Path) -> list[subprocess.Popen]:
    env = {**os.environ, "CLAUSIER_DATABASE_URL": store.url, NOW_ENV: "2026-11-25T10:00"}
    workers = []
    for n in range(count):
        log = (folder / f"worker-{n}.log").open("wb")
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "clausier", "worker"], cwd=folder, env=env,
            stdout=subprocess.DEVNULL, stderr=log,
        ))  # fmt: skip
    return workers


def _stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def workers(counts: list[int], messages: int, batch: int, timeout: float = 900) -> list[dict]:
    server = CountingServer()
    server.start()
    settings = Settings()
    results = []
    try:
        for count in counts:
            server.reset()
            with fresh_store("postgresql") as store, tempfile.TemporaryDirectory() as directory:
                folder = Path(directory)
                (folder / "config.yaml").write_text(
                    f"outbox:\n  transport: smtp\n  batch_size: {batch}\n  sweep_seconds: 1\n"
                    f"smtp:\n  host: 127.0.0.1\n  port: {server.port}\n",
                    encoding="utf-8",
                )
                markets = _prepared(store, settings)
                _due_reminders(store, markets, messages, "bench")
                expected = _due_message_ids(store, settings.notifications.sender)
                started = time.perf_counter()
                running = _spawn(count, store, folder)
                try:
                    deadline = started + timeout
                    while server.total() < len(expected) and time.perf_counter() < deadline:
                        if any(w.poll() is not None for w in running):
                            raise RuntimeError(f"a worker stopped: see {folder}/worker-*.log")
                        time.sleep(0.1)
                    elapsed = server.last_at - started
                    time.sleep(3)  # three more passes: a message sent twice would show now
                finally:
                    _stop(running)
                duplicates, lost = server.check(expected)
                with store.session() as session:
                    unsent = session.execute(
                        select(func.count())
                        .select_from(Reminder)
                        .where(Reminder.status != "sent", Reminder.due_at <= MORNING)
                    ).scalar_one()
            row = {"workers": count, "messages": len(expected), "seconds": elapsed,
                   "per_second": len(expected) / elapsed, "duplicates": duplicates, "lost": lost,
                   "unsent": unsent}  # fmt: skip
            results.append(row)
            print(f"  [postgresql] {count} worker(s): {row['messages']:,} messages in "
                  f"{elapsed:7.2f} s = {row['per_second']:7.0f}/s  duplicates {duplicates}  "
                  f"lost {lost}  reminders not sent {unsent}", flush=True)  # fmt: skip
    finally:
        server.stop()
    base = results[0]["per_second"]
    print(f"\n[postgresql] {messages:,} reminders, batch {batch}, clausier worker processes")
    for row in results:
        print(f"  {row['workers']} worker(s)  {row['per_second']:8.0f} messages/s  "
              f"speed-up {row['per_second'] / base:5.2f}×  duplicates {row['duplicates']}  "
              f"lost {row['lost']}")  # fmt: skip
    return results


# --- the sweep against raw smtplib ----------------------------------------------------------


def _raw(port: int, messages: list[tuple[str, str, bytes]]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
        for sender, to, data in messages:
            connection.sendmail(sender, [to], data)


def _raw_email_messages(port: int, messages: list[tuple[EmailMessage, str]]) -> None:
    """The baseline before messages were composed as bytes: ``send_message`` flattens each."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as connection:
        for message, to in messages:
            connection.send_message(message, to_addrs=[to])


def sweep_vs_raw(
    kind: str, *, messages: int, batch: int, repeats: int = 5, pending: int = 0
) -> dict:
    server = CountingServer()
    server.start()
    settings = Settings(
        outbox=OutboxSettings(transport="smtp", batch_size=batch),
        smtp=SmtpSettings(host="127.0.0.1", port=server.port, timeout_seconds=30),
    )
    sender = settings.notifications.sender
    swept, raw, raw_email = [], [], []
    try:
        with fresh_store(kind) as store:
            markets = _prepared(store, settings)
            sweep.run_once(store.engine, settings, worker="bench", now=MORNING, planning=False)
            _later_reminders(store, pending)
            for repeat in range(repeats):
                _due_reminders(store, markets, messages, f"e2e:{repeat}")
                expected = _due_message_ids(store, sender)
                server.reset()
                swept.append(timed(lambda: sweep.run_once(
                    store.engine, settings, worker="bench", now=MORNING, planning=False)))  # fmt: skip
                duplicates, lost = server.check(expected)
                assert (duplicates, lost) == (0, 0), (duplicates, lost)
                with store.session() as session:
                    outbox = session.execute(
                        select(OutboxMessage).where(
                            OutboxMessage.idempotency_key.like(f"e2e:{repeat}:%")
                        )
                    ).scalars()
                    built = [(m.sender, m.to, m.wire()) for m in (build(r, sender) for r in outbox)]
                assert len(built) == messages, len(built)
                server.reset()
                raw.append(timed(lambda b=built: _raw(server.port, b)))
                assert server.check(expected) == (0, 0)
                parsed = [(message_from_bytes(data, policy=policy.default), to)
                          for _, to, data in built]  # fmt: skip
                server.reset()
                raw_email.append(timed(lambda p=parsed: _raw_email_messages(server.port, p)))
                assert server.check(expected) == (0, 0)
    finally:
        server.stop()
    rows = [summary("raw smtplib, one connection", [t / messages for t in raw]),
            summary("raw send_message(EmailMessage)", [t / messages for t in raw_email]),
            summary("sweep: claim, render, deliver", [t / messages for t in swept])]  # fmt: skip
    for row in rows:
        row["n"] = repeats
    show(f"[{kind}] {messages:,} messages per repeat among {pending + messages:,} pending "
         f"reminders, {repeats} repeats, per message",
         rows, baseline=rows[0]["name"])  # fmt: skip
    ratio = statistics.median(raw) / statistics.median(swept)
    email_ratio = statistics.median(raw_email) / statistics.median(swept)
    print(f"  throughput: sweep {messages / statistics.median(swept):.0f}/s, raw "
          f"{messages / statistics.median(raw):.0f}/s, sweep/raw {ratio:.2f} (goal ≥ 0.5); raw "
          f"send_message {messages / statistics.median(raw_email):.0f}/s, sweep/that "
          f"{email_ratio:.2f}")  # fmt: skip
    return {"kind": kind, "ratio": ratio, "email_ratio": email_ratio}
