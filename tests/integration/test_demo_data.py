"""``clausier demo-data`` at a tiny size: the counts are right and the data keeps the product's
own rules (coverage, contractors, the monthly maximum, validated hours), on both stores."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlmodel import Session, func, select

from clausier import clock as app_clock
from clausier.beneficiaries.models import Outcome
from clausier.beneficiaries.outcomes import recorded_early
from clausier.beneficiaries.vocabulary import KINDS_BY_MODALITY
from clausier.cli import runtime
from clausier.cli.app import run
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine
from clausier.demo.national import DemoDataRefused, generate
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Facilitator, Structure
from clausier.partnerships import assignment
from clausier.tasks.models import Task
from clausier.validation.identifiers import siret_problem
from notifications import sweep
from notifications.models import Reminder
from tests.stores import sqlite_store

MARKETS = 200


@pytest.fixture
def cli(store, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLAUSIER_DATABASE_URL", store.url)
    get_settings.cache_clear()
    runtime.engine.cache_clear()

    def call(*args: str, expect: int = 0):
        capsys.readouterr()
        code = run(list(args))
        output = capsys.readouterr()
        assert code == expect, (code, output.out, output.err)
        return output

    yield call
    runtime.engine().dispose()
    get_settings.cache_clear()
    runtime.engine.cache_clear()


EVENT_KINDS = ("check_declaration", "review_pace", "propose_completion")


def task_and_pace_counts(session: Session) -> tuple[int, int]:
    tasks = session.exec(select(func.count()).select_from(Task)).one()
    pace = session.exec(
        select(func.count()).select_from(Reminder).where(Reminder.rule == "behind_pace")
    ).one()
    return tasks, pace


def test_a_tiny_national_data_set_keeps_the_products_rules(cli, store, clock):
    clock.move_to("2026-11-25T10:00:00+01:00")
    done = cli("demo-data", "--markets", str(MARKETS), "--seed", "7")
    assert "Marchés" in done.err and "market 200" in done.err  # the progress bar, the counts
    settings = get_settings()
    with Session(store.engine) as session:
        markets = session.exec(select(Market)).all()
        assert len(markets) == MARKETS
        assert len(session.exec(select(Structure)).all()) == 400
        assert 1200 <= len(session.exec(select(Facilitator)).all()) <= 1800
        states = Counter(m.state for m in markets)
        assert {"identification", "execution", "closed"} <= set(states)
        assert states["execution"] > states["identification"]
        assert session.exec(select(Reminder)).first() is not None

        today = app_clock.today()
        for market in markets:
            if market.state in assignment.SETTLED_STATES:
                continue
            # the product's own coverage rule agrees with what was written
            coverage = assignment.market_coverage(session, market, today=today)
            chosen = coverage.chosen
            if chosen is None:
                assert market.structure_id is None and market.coverage_flag == "uncovered"
                assert market.state == "identification"
            else:
                assert market.structure_id == chosen.convention.structure_id, market.ref
                assert market.coverage_flag is None
        assert any(m.coverage_flag == "uncovered" for m in markets)  # gaps are real

        states_by_id = {m.id: m.state for m in markets}
        lots = session.exec(select(Lot)).all()
        for lot in lots:
            if states_by_id[lot.market_id] in ("execution", "evaluation", "closed"):
                assert lot.contractor_id is not None

        lines = session.exec(select(DeclarationLine)).all()
        assert lines
        per_person_month: dict[tuple, Decimal] = defaultdict(Decimal)
        validated: dict[int, Decimal] = defaultdict(Decimal)
        for line in lines:
            per_person_month[line.beneficiary_id, line.period] += Decimal(line.hours)
            # a placement or a subcontract names its body, of a kind its modality allows
            kinds = KINDS_BY_MODALITY.get(line.modality, frozenset())
            assert (line.body_kind in kinds) if kinds else line.body_kind is None, line
            assert (siret_problem(line.body_siret) is None) if kinds else not line.body_siret
            if line.status == "validated":
                validated[line.lot_id] += Decimal(line.hours)
        maximum = settings.declarations.max_hours_per_person_month
        assert max(per_person_month.values()) <= maximum
        for lot in lots:
            assert Decimal(lot.hours_validated) == validated[lot.id]
        executing = next(m for m in markets if m.state == "execution")

        # a market closed before six months had passed gives the reason its outcomes were early
        by_id = {m.id: m for m in markets}
        outcomes = session.exec(select(Outcome)).all()
        assert outcomes
        assert not [
            o.id
            for o in outcomes
            if recorded_early(by_id[o.market_id], o.recorded_at, o.early_reason)
        ]

        # tasks opened by events: a statement still to review, a lot behind pace
        opened = session.exec(select(Task).where(Task.kind.in_(EVENT_KINDS))).all()
        to_review = {(line.lot_id, line.period) for line in lines if line.status == "submitted"}
        checks = {(t.lot_id, t.key.split(":")[3]) for t in opened if t.kind == "check_declaration"}
        assert checks and checks == to_review
        assert any(t.kind == "review_pace" for t in opened)
        before = task_and_pace_counts(session)

    # the daily planner, run on the generated set, finds every event task already open
    sweep.plan(store.engine, settings, app_clock.now())
    with Session(store.engine) as session:
        assert task_and_pace_counts(session) == before

    status = json.loads(cli("status", executing.ref, "--json").out)
    assert status["state"] == "execution" and status["lots"]
    refused = cli("demo-data", "--markets", "5", expect=1).err
    assert "déjà des acheteurs" in refused


def _snapshot(engine):
    with Session(engine) as session:
        return (
            [(m.ref, m.state, m.commune_code, m.structure_id, str(m.amount))
             for m in session.exec(select(Market).order_by(Market.id))],
            session.exec(select(Buyer.siret).order_by(Buyer.id)).all(),
        )  # fmt: skip


@pytest.mark.postgresql
def test_the_same_seed_gives_the_same_data_set_on_both_stores(sqlite_store, postgres_store):
    """So that figures measured on SQLite and on PostgreSQL are of the same markets."""
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    for target in (sqlite_store, postgres_store):
        generate(target.engine, markets=40, seed=5, settings=get_settings(), now=now)
    assert _snapshot(sqlite_store.engine) == _snapshot(postgres_store.engine)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_same_seed_gives_the_same_data_set(store, sqlite_template, tmp_path):
    (tmp_path / "other").mkdir()
    other = sqlite_store(sqlite_template, tmp_path / "other")
    settings = get_settings()
    now = datetime(2026, 11, 25, 9, tzinfo=UTC)
    generate(store.engine, markets=50, seed=3, settings=settings, now=now)
    generate(other.engine, markets=50, seed=3, settings=settings, now=now)
    assert _snapshot(store.engine) == _snapshot(other.engine)
    with pytest.raises(DemoDataRefused):
        generate(other.engine, markets=1, seed=3, settings=settings, now=now)
