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
from clausier.config import OfferSettings, get_settings
from clausier.loading.loader import load, load_data
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.markets.status import market_status
from clausier.offers.service import prepare
from clausier.partnerships import assignment
from clausier.partnerships import service as conventions
from notifications import sweep
from tests import factories as make
from workflow.engine import fire


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
            select(TransitionLog.trigger)
            .where(TransitionLog.market_id == market.id)
            .order_by(TransitionLog.id)
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


def history_of(session, market: Market) -> list[dict]:
    """The market's history as its status document (API, page, CLI) shows it."""
    return market_status(session, market, today=product_clock.today())["history"]


# --- every change outside a transition is logged: who, what, before -> after ----------------


def test_the_facilitators_offer_is_logged_figure_by_figure_and_by_whom(store, clock):
    """The offer computed, then one lot's hours overridden by a colleague: two rows of the log,
    each with what every figure was and became; the same override again logs nothing."""
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde-cotentin", facilitators=2)
        make.convention(session, buyer=buyer, structure=mde)
        market = make.market(
            session, buyer=buyer, ref="MKT-2027-OFFRE", hours=None, clause_text=None
        )  # two lots of 1 M€, CPV 45454000
        fire(session, ref=market.ref, trigger="prepare_offer", actor="f0@mde-cotentin.example")
        prepare(session, market, settings=OfferSettings(), actor="f0@mde-cotentin.example")
        for _ in range(2):
            prepare(session, market, settings=OfferSettings(), lot_number=2, hours=500,
                    reason="chantier court", actor="f1@mde-cotentin.example")  # fmt: skip
        session.commit()
        history = history_of(session, market)
    assert [entry["trigger"] for entry in history] == ["load", "prepare_offer", "edit", "edit"]
    computed, overridden = history[2:]
    assert (computed["actor"], computed["label"]) == ("f0@mde-cotentin.example", "Modification")
    assert computed["payload"]["changes"]["lots[1].hours"] == [None, 835]
    assert computed["changes"][:6] == [
        "lot 1, taux d'insertion non fixé → 5 %",
        "lot 1, part de main-d'œuvre non fixée → 50 %",
        "lot 1, coût horaire non fixé → 30 € HT",
        "lot 1, heures calculées non fixées → 835 h",
        "lot 1, heures d'insertion non fixées → 835 h",
        "lot 1, texte de la clause ajouté",
    ]
    assert computed["changes"][6:] == [c.replace("lot 1", "lot 2") for c in computed["changes"][:6]]
    assert overridden["actor"] == "f1@mde-cotentin.example"
    assert overridden["payload"]["changes"]["lots[2].hours"] == [835, 500]
    assert overridden["changes"] == [
        "lot 2, heures d'insertion 835 h → 500 h",
        "lot 2, motif de la dérogation (aucun) → « chantier court »",
        "lot 2, texte de la clause modifié",
    ]


def test_the_buyers_choice_of_structure_is_logged_not_the_markets_first_assignment(store, clock):
    with store.session() as session:
        region = make.buyer(session)
        mde = make.structure(session, "mde-choix")
        plie = make.structure(session, "plie-choix", kind="plie")
        make.convention(session, buyer=region, structure=mde)
        chosen = make.convention(session, buyer=region, structure=plie).ref
        market = make.market(session, buyer=region, ref="MKT-2027-CHOIX")  # ambiguous
        for _ in range(2):  # choosing the same again changes nothing
            assignment.assign_explicitly(session, market, structure=plie,
                                         today=product_clock.today(), actor="achats@region.example")  # fmt: skip
        session.commit()
        history = history_of(session, market)
    assert [entry["trigger"] for entry in history] == ["load", "edit"]
    edit = history[1]
    assert edit["actor"] == "achats@region.example"
    assert edit["payload"]["changes"] == {
        "structure": [None, "plie-choix"],
        "convention": [None, chosen],
        "assignment": [None, "explicit"],
    }
    assert edit["changes"] == [
        "structure (aucune) → « plie-choix »",
        f"convention (aucune) → « {chosen} »",
        "mode d'assignation (aucun) → choix de l'acheteur",
    ]


def test_a_terminated_convention_hands_the_market_over_logged_as_the_buyers_doing(store, clock):
    """The commune's convention is terminated: the département's structure takes the market
    over, logged by whoever terminated it; the next day's check and a coverage flag alone (the
    structure stays on record) log nothing."""
    with store.session() as session:
        region = make.buyer(session)
        local = make.structure(session, "mde-relais")
        wide = make.structure(session, "departement-relais", kind="departement")
        ending = make.convention(session, buyer=region, structure=local).ref
        taking_over = make.convention(
            session, buyer=region, structure=wide, covering=(make.MANCHE,)
        ).ref
        market = make.market(session, buyer=region, ref="MKT-2027-RELAIS", state="execution")
        assert market.structure_id == local.id
        conventions.terminate(session, ending, on=date(2026, 11, 25), today=date(2026, 11, 25),
                              actor="achats@region.example")  # fmt: skip
        assignment.refresh(session, market, today=date(2026, 11, 26))
        conventions.terminate(session, taking_over, on=date(2026, 11, 27),
                              today=date(2026, 11, 27), actor="achats@region.example")  # fmt: skip
        assert (market.structure_id, market.coverage_flag) == (wide.id, "uncovered")
        session.commit()
        history = history_of(session, market)
    assert [entry["trigger"] for entry in history] == ["load", "edit"]
    edit = history[1]
    assert (edit["actor"], edit["from"], edit["to"]) == (
        "achats@region.example",
        "execution",
        "execution",
    )
    assert edit["changes"] == [
        "structure « mde-relais » → « departement-relais »",
        f"convention « {ending} » → « {taking_over} »",
    ]


def test_the_daily_check_logs_a_reassignment_as_its_own_when_a_convention_lapses(store, clock):
    with store.session() as session:
        region = make.buyer(session)
        local = make.structure(session, "mde-echue")
        wide = make.structure(session, "departement-echue", kind="departement")
        make.convention(session, buyer=region, structure=local, renewal="explicit")  # ends 31/12
        make.convention(session, buyer=region, structure=wide, covering=(make.MANCHE,))
        market = make.market(session, buyer=region, ref="MKT-2027-ECHUE", state="execution")
        session.commit()
    settings = get_settings()
    sweep.plan(store.engine, settings, datetime(2026, 12, 31, 7, 0, tzinfo=PARIS))  # in force
    clock.move_to(datetime(2027, 1, 1, 7, 0, tzinfo=PARIS))
    sweep.plan(store.engine, settings, product_clock.now())
    with store.session() as session:
        market = session.get(Market, market.id)
        assert market.structure_id == wide.id
        history = history_of(session, market)
    assert [entry["trigger"] for entry in history] == ["load", "edit"]
    assert history[1]["actor"] == "clausier:couverture"
    assert history[1]["changes"][0] == "structure « mde-echue » → « departement-echue »"
