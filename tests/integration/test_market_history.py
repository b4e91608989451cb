"""The log of a market holds its changes outside the lifecycle too: what reads it for the states
a market entered is not fooled by them."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlmodel import select

from clausier import clock as product_clock
from clausier.auth.writes import operator_import
from clausier.beneficiaries.purge import purge
from clausier.clock import PARIS
from clausier.loading.loader import load, load_data
from clausier.markets.models import Lot, Market, TransitionLog
from tests import factories as make


def test_correcting_a_closed_market_does_not_move_its_closing_date_for_the_purge(store, clock):
    """Closed in November 2026, corrected by the operator six years later: the purge still
    counts its retention from the closing."""
    with store.session() as session:
        buyer = make.buyer(session)
        market = make.market(session, buyer=buyer, state="closed")  # logged: enters closed now
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).first()
        session.commit()
        row = {"ref": market.ref, "buyer": buyer.siret, "title": "Titre corrigé",
               "commune": market.commune_code, "cpv": market.cpv, "amount": str(market.amount),
               "lots": [{"number": lot.number, "title": lot.title, "amount": str(lot.amount)}]}  # fmt: skip
    clock.move_to(datetime(2032, 12, 1, 10, 0, tzinfo=PARIS))
    with store.session() as session:
        load_data(session, {"markets": [row]}, name="correction", actor="cli:operateur",
                  writer=operator_import())  # fmt: skip
        session.commit()
        triggers = session.exec(
            select(TransitionLog.trigger).where(TransitionLog.market_id == market.id)
        ).all()
        assert triggers == ["load", "edit"]
        report = purge(
            session, closed_before=date(2027, 1, 1), today=product_clock.today(),
            now=product_clock.now(), retention_months=60, dry_run=True,
        )  # fmt: skip
    assert report.markets == [market.ref]


EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"


def test_the_operators_load_of_the_example_logs_its_later_markets_as_imports(store, clock):
    with store.session() as session:
        load(session, EXAMPLE, writer=operator_import(), today=product_clock.today())
        session.commit()
        rows = session.exec(
            select(Market.state, TransitionLog.trigger, TransitionLog.actor)
            .join(TransitionLog, TransitionLog.market_id == Market.id)
            .order_by(Market.ref)
        ).all()
    assert len(rows) == 12 and {actor for _state, _trigger, actor in rows} == {
        "load:basse-normandie.yaml"
    }
    for state, trigger, _actor in rows:
        assert trigger == ("load" if state == "identification" else "import"), (state, trigger)
