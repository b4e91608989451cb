"""Two transitions on one market at once: one wins, the other is told, on both stores."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from clausier.errors import TransitionNotAllowed, VersionConflict
from clausier.markets.models import Market, TransitionLog
from tests import factories as make
from workflow.engine import fire, market_by_ref


@pytest.fixture
def covered_market(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        make.convention(session, buyer=buyer, structure=make.structure(session))
        market = make.market(session, buyer=buyer)
        session.commit()
        return market.ref


def test_a_stale_reader_gets_a_version_conflict(store, covered_market, clock):
    with store.session() as slow, store.session() as quick:
        stale = market_by_ref(slow, covered_market)  # reads version 1 and keeps it
        assert stale.version == 1
        fire(quick, ref=covered_market, trigger="prepare_offer", actor="quick")
        quick.commit()
        with pytest.raises(VersionConflict, match="modifié par quelqu'un d'autre"):
            fire(
                slow,
                ref=covered_market,
                trigger="decline",
                actor="slow",
                data={"reason": "trop petit"},
            )
        slow.rollback()
    with store.session() as check:
        market = market_by_ref(check, covered_market)
        assert (market.state, market.version) == ("insertion_offer", 2)


def test_a_client_holding_an_old_version_gets_a_conflict(store, covered_market, clock):
    with store.session() as session:
        fire(
            session, ref=covered_market, trigger="prepare_offer", actor="quick", expected_version=1
        )
        session.commit()
        with pytest.raises(VersionConflict, match="version 1 dépassée"):
            fire(session, ref=covered_market, trigger="publish", actor="late", expected_version=1)


def test_racing_threads_on_one_market_make_exactly_one_transition(store, covered_market, clock):
    racers = 6
    barrier = threading.Barrier(racers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def race(number: int) -> None:
        with store.session() as session:
            barrier.wait()
            try:
                fire(session, ref=covered_market, trigger="prepare_offer", actor=f"racer-{number}")
                session.commit()
                outcome = "won"
            except (VersionConflict, TransitionNotAllowed) as refused:
                session.rollback()
                outcome = type(refused).__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes.count("won") == 1, outcomes
    assert len(outcomes) == racers
    with store.session() as check:
        market = check.exec(select(Market).where(Market.ref == covered_market)).one()
        triggers = check.exec(
            select(TransitionLog.trigger).where(TransitionLog.market_id == market.id)
        ).all()
        assert (market.state, market.version) == ("insertion_offer", 2)
        assert triggers == ["load", "prepare_offer"]
