"""A market written from a page's form (``loader.Shown``): the write changes what the person saw
and nothing else — a ref taken meanwhile, a version moved meanwhile are refused, and the lots the
form no longer lists are removed, in identification only."""

from __future__ import annotations

import pytest
from sqlmodel import select

from clausier.auth.writes import operator_import
from clausier.errors import LotRemovalRefused, MarketRefTaken, VersionConflict
from clausier.loading.loader import Shown, load_data
from clausier.markets.models import Lot, Market, TransitionLog
from tests import factories as make


def _row(market: Market, buyer, lots: list[int], title: str | None = None) -> dict:
    return {"ref": market.ref, "buyer": buyer.siret, "title": title or market.title,
            "commune": market.commune_code, "cpv": market.cpv, "amount": str(market.amount),
            "lots": [{"number": n, "title": f"Lot {n}", "amount": "1000"} for n in lots]}  # fmt: skip


def _load(session, row: dict, shown: Shown):
    return load_data(session, {"markets": [row]}, name="formulaire", actor="test",
                     writer=operator_import(), shown={row["ref"]: shown})  # fmt: skip


def test_a_lot_left_out_of_the_form_is_removed_and_logged(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        market = make.market(session, buyer=buyer, lots=3)
        report = _load(session, _row(market, buyer, [1, 3]), Shown(version=market.version))
        session.commit()
        numbers = session.exec(select(Lot.number).where(Lot.market_id == market.id)).all()
        log = session.exec(
            select(TransitionLog).where(TransitionLog.market_id == market.id,
                                        TransitionLog.trigger == "edit")
        ).one()  # fmt: skip
    assert sorted(numbers) == [1, 3] and report.counts["lots"]["removed"] == 1
    assert log.payload["changes"]["lots[2].title"][1] is None
    assert market.version == 2


def test_a_lot_is_never_removed_past_identification(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        market = make.market(session, buyer=buyer, state="consultation")
        with pytest.raises(LotRemovalRefused, match="ne peut plus être retiré"):
            _load(session, _row(market, buyer, [1]), Shown(version=market.version))


def test_a_form_behind_the_market_is_refused_even_when_it_changes_nothing_else(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        market = make.market(session, buyer=buyer)
        with pytest.raises(VersionConflict):
            _load(session, _row(market, buyer, [1, 2], "Autre"), Shown(version=market.version - 1))


def test_a_new_market_whose_ref_is_taken_is_refused_whoever_holds_it(store, clock):
    with store.session() as session:
        mine, theirs = make.buyer(session, "Acheteur a"), make.buyer(session, "Acheteur b")
        market = make.market(session, buyer=theirs)
        with pytest.raises(MarketRefTaken, match="déjà celle d'un marché"):
            _load(session, _row(market, mine, [1]), Shown(version=None))


def test_the_pages_offer_to_edit_a_market_to_whom_the_loader_lets_edit_it(store, clock):
    """``may_on_market(…, write_markets, …)``: the market page's « Modifier »."""
    from clausier.auth.models import Role
    from clausier.auth.policy import Action, may_on_market
    from clausier.auth.tokens import Principal

    with store.session() as session:
        mine, theirs = make.buyer(session, "Acheteur a"), make.buyer(session, "Acheteur b")
        open_, running = (
            make.market(session, buyer=mine),
            make.market(session, buyer=mine, state="execution"),
        )
        structure = make.structure(session, "mde-a")

    def offered(role, org_id, market) -> bool:
        return may_on_market(Principal(role=role, org_id=org_id, label="x"),
                             Action.write_markets, market)  # fmt: skip

    assert offered(Role.buyer, mine.id, open_) and not offered(Role.buyer, mine.id, running)
    assert not offered(Role.buyer, theirs.id, open_)
    assert offered(Role.admin, None, running)
    assert not offered(Role.facilitator, structure.id, open_)
