"""Issue 15, throughput: a status lookup read again is served as it was kept, and a kept
document is never stale. Each test compares what the server serves (kept documents) with what
a server keeping none builds afresh, on the same store, as each role, after each kind of write
(by the API, a service, the worker, a raw statement) and as time goes by."""

from __future__ import annotations

import re
import sqlite3
import time
from datetime import date, datetime, timedelta
from threading import Thread

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from clausier import clock as app_clock
from clausier.app import create_app
from clausier.auth.models import Role
from clausier.auth.scope import market_condition
from clausier.auth.tokens import authenticate
from clausier.clock import PARIS
from clausier.config import CacheSettings, Settings, get_settings
from clausier.db import changes
from clausier.db.tables import metadata
from clausier.markets.status_cache import StatusCache, market_in_reach
from clausier.partnerships import service as conventions
from clausier.partnerships.models import Convention
from clausier.tasks.models import Task, TaskStatus
from notifications import sweep
from notifications.models import Reminder, ReminderStatus
from tests.api.test_markets_api import on_the_loop, statements
from tests.serving import serving

ROLES = (Role.buyer, Role.facilitator, Role.contractor, Role.admin)


@pytest.fixture
def fresh(world, store):
    """A server on the same store that keeps no document: each lookup is built afresh."""
    settings = get_settings().model_copy(update={"cache": CacheSettings(status_documents=0)})
    with TestClient(create_app(store.engine, settings)) as client:
        yield client


def _same_as_built_afresh(world, fresh, ref: str) -> dict:
    """Each role's lookup, served twice (the second from what was kept), equals the lookup of a
    server that keeps nothing; the buyer's document."""
    documents = {}
    for role in ROLES:
        headers = {"Authorization": f"Bearer {world.tokens[role]}"}
        served = [world.call(role, "GET", f"/api/markets/{ref}") for _ in range(2)]
        built = fresh.get(f"/api/markets/{ref}", headers=headers)
        assert built.status_code == 200, built.text
        for answer in served:
            assert answer.status_code == 200
            assert answer.json() == built.json(), role
        documents[role] = built.json()
    return documents[Role.buyer]


def test_a_kept_status_follows_every_write_and_the_clock(world, fresh, store, clock, tmp_path):
    ref, F, C = world.own.market.ref, Role.facilitator, Role.contractor
    settings = get_settings().model_copy(
        update={"outbox": get_settings().outbox.model_copy(update={"maildir": tmp_path})}
    )
    steps: list[dict] = [_same_as_built_afresh(world, fresh, ref)]

    def step() -> None:
        steps.append(_same_as_built_afresh(world, fresh, ref))
        assert steps[-1] != steps[-2], "this step changes the document"

    # the contractor declares a month, the facilitator validates a line (API)
    lines = {"lines": [{"beneficiary": world.own.beneficiary, "modality": "direct_hire",
                        "hours": "14"}]}  # fmt: skip
    put = world.call(C, "PUT", f"/api/lots/{world.own.lot.id}/declarations/2026-10", json=lines)
    assert put.status_code == 200, put.text
    step()
    review = {"decisions": [{"line": world.own.line.id, "decision": "validate"}]}
    assert world.call(F, "POST", "/api/declarations/review", json=review).status_code == 200
    step()
    # the worker plans and sends what is due (its own sessions, its own statements)
    sweep.run_once(store.engine, settings, worker="w", now=app_clock.now())
    steps.append(_same_as_built_afresh(world, fresh, ref))
    # a task done (API)
    with Session(store.engine) as session:
        task = session.exec(
            select(Task).where(Task.market_id == world.own.market.id,
                               Task.status == TaskStatus.open).order_by(Task.due_at)
        ).first()  # fmt: skip
    assert world.call(F, "POST", f"/api/tasks/{task.id}/done", json={}).status_code == 200
    step()
    # time alone: the next open task falls overdue, a reminder falls due, office hours close
    with Session(store.engine) as session:
        due = session.exec(
            select(Task.due_at).where(Task.market_id == world.own.market.id,
                                      Task.status == TaskStatus.open).order_by(Task.due_at)
        ).first()  # fmt: skip
    assert due is not None
    clock.move_to(due - timedelta(seconds=1))
    before = _same_as_built_afresh(world, fresh, ref)
    clock.move_to(due + timedelta(seconds=1))
    after = _same_as_built_afresh(world, fresh, ref)
    assert before != after  # the task is overdue
    # a convention ended by a service (every market's coverage), a structure renamed by a raw
    # statement: tables all markets share
    with Session(store.engine) as session:
        convention = session.exec(
            select(Convention).where(Convention.buyer_id == world.own.buyer.id)
        ).one()
        conventions.terminate(session, convention.ref, on=app_clock.today(),
                              today=app_clock.today(), actor="test")  # fmt: skip
        session.commit()
    step()
    with store.engine.begin() as connection:
        connection.execute(
            text("UPDATE structure SET name = 'MDE renommée' WHERE id = :id"),
            {"id": world.own.structure.id},
        )
    step()
    assert steps[-1]["structure"] is None or steps[-1]["structure"]["name"] == "MDE renommée"
    # the next day, nothing written
    clock.move_to(datetime.combine(app_clock.today() + timedelta(days=1), datetime.min.time(),
                                   tzinfo=PARIS) + timedelta(hours=9))  # fmt: skip
    _same_as_built_afresh(world, fresh, ref)


def test_a_reminder_waiting_for_office_hours_says_so_as_they_open(world, fresh, store, clock):
    """A reminder due in the night waits for the office to open: the kept document says
    « à la réouverture » until it opens, then « au prochain passage »."""
    ref = world.own.market.ref
    friday_evening = datetime(2026, 11, 27, 19, 0, tzinfo=PARIS)
    due = friday_evening + timedelta(hours=1, seconds=7)  # no other reminder is due then
    clock.move_to(friday_evening)
    with Session(store.engine) as session:
        session.add(
            Reminder(
                market_id=world.own.market.id,
                rule="declaration_due",
                recipient_role="buyer",
                idempotency_key="test:night",
                due_at=due,
                status=ReminderStatus.pending,
                created_at=app_clock.now(),
            )
        )
        session.commit()
    opening = datetime.combine(date(2026, 11, 30), get_settings().notifications.office_start,
                               tzinfo=PARIS)  # fmt: skip
    labels = []
    for moment in (friday_evening, friday_evening + timedelta(hours=2),
                   opening - timedelta(minutes=1), opening + timedelta(minutes=1)):  # fmt: skip
        clock.move_to(moment)
        document = _same_as_built_afresh(world, fresh, ref)
        [label] = [r["status_label"] for r in document["next_reminders"]
                   if datetime.fromisoformat(r["due_at"]) == due]  # fmt: skip
        labels.append(label)
    assert labels[0].startswith("prévu le")
    assert "réouverture" in labels[1] and labels[2] == labels[1]  # Monday morning, still closed
    assert "prochain passage" in labels[3]


def test_a_write_marks_its_own_market_and_a_shared_table_every_market(world, store):
    markets = (world.own.market.id, world.other.market.id)

    def fingerprints() -> tuple:
        return tuple(_fingerprint(store, market) for market in markets)

    first = fingerprints()
    with store.engine.begin() as connection:  # one lot of the own market, twice in one go
        connection.execute(text("UPDATE lot SET title = 'Gros œuvre' WHERE id = :id"),
                           {"id": world.own.lot.id})  # fmt: skip
        connection.execute(text("UPDATE lot SET title = 'Gros œuvre bis' WHERE id = :id"),
                           {"id": world.own.lot.id})  # fmt: skip
    second = fingerprints()
    assert second[0] != first[0] and second[1] == first[1]
    with store.engine.begin() as connection:  # a declaration line (through its lot)
        connection.execute(text("DELETE FROM declaration_line WHERE id = :id"),
                           {"id": world.other.line.id})  # fmt: skip
    third = fingerprints()
    assert third[0] == second[0] and third[1] != second[1]
    with store.engine.begin() as connection:  # a buyer: every market
        connection.execute(text("UPDATE buyer SET name = name || '.' WHERE id = :id"),
                           {"id": world.other.buyer.id})  # fmt: skip
    fourth = fingerprints()
    assert fourth[0] != third[0] and fourth[1] != third[1]
    with store.engine.begin() as connection:  # a statement that changes nothing marks nothing
        connection.execute(text("UPDATE lot SET title = 'x' WHERE id = -1"))
    assert fingerprints() == fourth


def test_marks_a_day_old_are_pruned_and_a_fingerprint_never_comes_back(world, store):
    own = world.own.market.id
    before = _fingerprint(store, own)
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE market_change SET at = at - 2 * 86400"))
    assert changes.prune(store.engine) > 0
    pruned = _fingerprint(store, own)
    assert pruned == (0, 0) != before
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE market SET title = title WHERE id = :id"), {"id": own})
    again = _fingerprint(store, own)
    assert again not in (before, pruned)  # ids are never given twice
    assert changes.prune(store.engine) == 0  # a mark of today stays


def _fingerprint(store, market_id: int) -> tuple[int, int]:
    with store.engine.connect() as connection:
        count, total = connection.execute(select(*changes.fingerprint(market_id))).one()
    return count, int(total)


_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?(\w+)"?', re.IGNORECASE)


def test_every_table_a_status_reads_is_watched(world, fresh, store, clock):
    """A table the document reads without triggers would let a kept document go stale: each
    table the lookup reads has its three triggers in the migrated database."""
    F, ref = Role.facilitator, world.own.market.ref
    read: set[str] = set()
    for role in ROLES:
        with statements(store.engine) as seen:
            assert fresh.get(f"/api/markets/{ref}", headers={
                "Authorization": f"Bearer {world.tokens[role]}"}).status_code == 200  # fmt: skip
        read |= {table for statement in seen for table in _TABLE.findall(statement)}
    review = {"decisions": [{"line": world.own.line.id, "decision": "validate"}]}
    assert world.call(F, "POST", "/api/declarations/review", json=review).status_code == 200
    clock.move_to(datetime(2027, 9, 1, 10, 0, tzinfo=PARIS))
    assert world.call(F, "POST", f"/api/markets/{ref}/transitions/complete", json={}).is_success
    with statements(store.engine) as seen:  # in evaluation, the outcomes too
        fresh.get(f"/api/markets/{ref}", headers={"Authorization": f"Bearer {world.tokens[F]}"})
    read |= {table for statement in seen for table in _TABLE.findall(statement)}
    read &= set(metadata.tables)  # not subqueries' aliases
    assert {"market", "lot", "transition_log", "task", "reminder", "outcome"} <= read
    with store.engine.connect() as connection:
        triggered = changes.triggered_tables(connection)
    assert read - {"api_token", "market_change"} <= triggered
    assert set(changes.watched(metadata)) <= triggered  # and every other watched table


def test_a_document_kept_while_a_write_commits_is_built_again(world, store):
    """The fingerprint is read first: what was built from a mix of before and after is kept
    under the fingerprint of before, and the next lookup builds it again."""
    ref = world.own.market.ref
    cache = world.client.app.state.status_cache
    with Session(store.engine) as session:
        principal = authenticate(session, world.tokens[Role.buyer], now=app_clock.now())
        reach = market_condition(principal)
        _, before = market_in_reach(session, reach, ref)

    def build_while_a_write_commits():
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE market SET title = 'Nouveau titre' WHERE ref = :r"),
                               {"r": ref})  # fmt: skip
        return b"a mix", None

    assert cache.serve("k", before, app_clock.now(), build_while_a_write_commits) == b"a mix"
    with Session(store.engine) as session:
        _, after = market_in_reach(session, reach, ref)
    assert after != before
    assert cache.serve("k", after, app_clock.now(), lambda: (b"afresh", None)) == b"afresh"
    assert world.call(Role.buyer, "GET", f"/api/markets/{ref}").json()["title"] == "Nouveau titre"


def test_a_cache_of_size_zero_keeps_nothing_and_a_full_one_drops_the_oldest():
    moment = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)
    none = StatusCache(0)
    assert none.serve("a", (1, 1), moment, lambda: (b"a", None)) == b"a"
    assert len(none) == 0
    two = StatusCache(2)
    for key in ("a", "b", "c"):
        two.serve(key, (1, 1), moment, lambda key=key: (key.encode(), None))
    assert len(two) == 2
    assert two.serve("a", (1, 1), moment, lambda: (b"a again", None)) == b"a again"
    # kept until its horizon, not at it
    soon = moment + timedelta(minutes=5)
    assert two.serve("h", (1, 1), moment, lambda: (b"h", soon)) == b"h"
    assert two.serve("h", (1, 1), soon - timedelta(seconds=1), lambda: (b"x", None)) == b"h"
    assert two.serve("h", (1, 1), soon, lambda: (b"h2", None)) == b"h2"


def test_the_cache_size_is_checked_at_start_up():
    with pytest.raises(ValueError, match="status_documents"):
        Settings.model_validate({"cache": {"status_documents": -1}})
    assert Settings().cache.status_documents == 2_000


def test_a_kept_lookup_never_leaves_the_event_loop(world, store):
    """Issue 15, throughput: in the threadpool, sixteen kept lookups at once took turns on the
    GIL with the event loop. A kept lookup reads its two rows on the loop: on SQLite on the
    loop's own connection, on PostgreSQL on an async one; none in the threadpool."""
    path = f"/api/markets/{world.own.market.ref}"
    state = world.client.app.state
    assert (state.loop_reader is not None) == (store.kind == "sqlite")
    assert (state.async_reader is not None) == (store.kind == "postgresql")
    built = world.call(Role.buyer, "GET", path)
    with statements(store.engine) as in_threads, statements(on_the_loop(world)) as on_loop:
        kept = world.call(Role.buyer, "GET", path)
    assert kept.content == built.content
    assert (len(on_loop), len(in_threads)) == (2, 0), (on_loop, in_threads)
    with store.engine.begin() as connection:  # a change: the next lookup builds its document
        connection.execute(text("UPDATE market SET title = 'Titre changé' WHERE ref = :r"),
                           {"r": world.own.market.ref})  # fmt: skip
    with statements(store.engine) as in_threads, statements(on_the_loop(world)) as on_loop:
        rebuilt = world.call(Role.buyer, "GET", path)
    assert rebuilt.json()["title"] == "Titre changé"
    # the fingerprint read on the loop is the one it is kept under: not read again in a thread
    assert len(on_loop) == 2 and not any("market_change" in s for s in in_threads), in_threads
    # out of reach or unknown on the loop: the same 404 as a built lookup
    other = world.call(Role.buyer, "GET", f"/api/markets/{world.other.market.ref}")
    unknown = world.call(Role.buyer, "GET", "/api/markets/MKT-0000-000")
    assert other.status_code == unknown.status_code == 404
    assert other.json()["error"]["message"].replace(world.other.market.ref, "R") == (
        unknown.json()["error"]["message"].replace("MKT-0000-000", "R")
    )
    assert world.call(None, "GET", path).status_code == 401


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # a file that can be locked
def test_a_locked_sqlite_file_never_stalls_the_event_loop(world, store):
    """A kept lookup that finds the file locked (a backup tool, a person with the sqlite3 shell)
    reads it in the threadpool, which waits; meanwhile the server answers the others."""
    path = f"/api/markets/{world.own.market.ref}"
    headers = {"Authorization": f"Bearer {world.tokens[Role.buyer]}"}
    with serving(world.client.app) as url:
        assert httpx.get(url + path, headers=headers).status_code == 200  # kept from now on
        store.engine.dispose()  # the pools' connections closed: the file is for the holder
        world.client.app.state.loop_reader.dispose()
        holder = sqlite3.connect(store.engine.url.database, isolation_level=None, timeout=5)
        holder.execute("PRAGMA locking_mode = EXCLUSIVE")
        holder.execute("BEGIN EXCLUSIVE")
        holder.execute("UPDATE market SET title = title WHERE id = -1")
        answers = []
        lookup = Thread(target=lambda: answers.append(httpx.get(url + path, headers=headers,
                                                                timeout=30)))  # fmt: skip
        lookup.start()
        try:
            started = time.monotonic()
            health = httpx.get(url + "/api/health", timeout=5)
            assert health.status_code == 200 and time.monotonic() - started < 2
            assert lookup.is_alive()  # still waiting for the file, in its thread
        finally:
            holder.execute("COMMIT")
            holder.close()
        lookup.join(30)
    assert [answer.status_code for answer in answers] == [200]
