"""The clause names its instrument (a condition of execution, L2112-2 by default; a lot reserved
to integration structures, L2113-13, or to disability employers, L2113-12; an award criterion,
R2152-7) and the penalty per missing hour its contract carries; both are set from the load
file, the CLI and the pages, and the status, the reports say which."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlmodel import select

from clausier.config import OfferSettings
from clausier.errors import InvalidInput, LoadErrors
from clausier.loading.loader import load
from clausier.markets.models import Lot, Market
from clausier.markets.status import market_status
from clausier.offers import service
from clausier.partners.models import Buyer
from clausier.partnerships.models import Convention
from tests import factories as make

SETTINGS = OfferSettings()
HEADINGS = {
    "execution_condition": "Clause sociale d'insertion — condition d'exécution — article L2112-2 "
    "du Code de la commande publique",
    "reserved_siae": "Lot réservé aux structures d'insertion par l'activité économique — "
    "article L2113-13 du Code de la commande publique",
    "reserved_disability": "Lot réservé aux entreprises adaptées et aux établissements et "
    "services d'aide par le travail — article L2113-12 du Code de la commande publique",
    "award_criterion": "Critère d'attribution relatif à l'insertion professionnelle — article "
    "R2152-7 du Code de la commande publique",
}


@pytest.fixture
def offer_market(store, clock):
    clock.move_to(date(2027, 1, 11))
    with store.session() as session:
        buyer = make.buyer(session)
        convention = make.convention(
            session, buyer=buyer, structure=make.structure(session, "mde-cotentin"),
            starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31),
        )  # fmt: skip
        market = make.market(session, buyer=buyer, state="insertion_offer", hours=None)
        session.commit()
        return market.ref, convention.ref, buyer.siret


def _prepare(session, ref: str, **given):
    market = session.exec(select(Market).where(Market.ref == ref)).one()
    return service.prepare(session, market, settings=SETTINGS, actor="f0@test.example", **given)


@pytest.mark.parametrize("instrument", list(HEADINGS))
def test_each_instrument_names_its_article_in_the_clause(store, offer_market, instrument):
    ref, _, _ = offer_market
    with store.session() as session:
        [offer, _other] = _prepare(session, ref, instrument=instrument)
        session.commit()
        lot = session.get(Lot, offer.lot.id)
        assert lot.instrument == instrument
        assert lot.clause_text.splitlines()[0] == HEADINGS[instrument]
        status = market_status(session, session.get(Market, lot.market_id), today=date(2027, 1, 11))
    [doc, *_] = status["lots"]
    assert doc["instrument"] == instrument
    assert doc["instrument_label"].endswith(
        f"(article {HEADINGS[instrument].split('article ')[1]})"
    )


def test_a_reserved_lot_says_whom_it_is_reserved_to_without_legal_advice(store, offer_market):
    ref, _, _ = offer_market
    with store.session() as session:
        [siae, disability] = [
            _prepare(session, ref, lot_number=1, instrument="reserved_siae")[0],
            _prepare(session, ref, lot_number=2, instrument="reserved_disability")[0],
        ]
    assert (
        "structures d'insertion par l'activité économique mentionnées à l'article L5132-4 du "
        "code du travail" in siae.clause_text
    )
    assert "entreprises adaptées mentionnées à l'article L5213-13 du code du travail" in (
        disability.clause_text
    )
    assert "L2112-2" not in siae.clause_text + disability.clause_text


def test_the_default_instrument_is_a_condition_of_execution_and_stays_until_changed(
    store, offer_market
):
    ref, _, _ = offer_market
    with store.session() as session:
        [first, _] = _prepare(session, ref)
        assert first.lot.instrument == "execution_condition"
        _prepare(session, ref, lot_number=1, instrument="award_criterion")
        [again, _] = _prepare(session, ref)  # computed again: the choice is kept
        assert again.lot.instrument == "award_criterion"
        with pytest.raises(InvalidInput, match="Instrument « reserve » inconnu"):
            _prepare(session, ref, lot_number=1, instrument="reserve")


def test_the_clause_names_the_penalty_per_missing_hour_when_one_is_set(store, offer_market):
    ref, convention_ref, _ = offer_market
    with store.session() as session:
        [without, _] = _prepare(session, ref)
        assert "Pénalité" not in without.clause_text
        convention = session.exec(select(Convention).where(Convention.ref == convention_ref)).one()
        convention.penalty_per_hour = Decimal(30)
        session.add(convention)
        session.flush()
        [with_penalty, _] = _prepare(session, ref)
    assert "une pénalité de 30 € par heure manquante" in with_penalty.clause_text


# --- from the load file ----------------------------------------------------------------------


LOAD = """
buyers:
  - siret: "{buyer}"
    name: Conseil départemental de la Manche
    email: achats@manche.example
    penalty_per_hour: {buyer_penalty}
conventions:
  - ref: {convention}
    buyer: "{buyer}"
    structure: mde-cotentin
    starts_on: 2027-01-01
    ends_on: 2027-12-31
    renewal: tacit
    territories: ["50"]
    services: [advise, identify, prepare_offer, facilitate, follow, control, report, evaluate]
    penalty_per_hour: {convention_penalty}
markets:
  - ref: {market}
    buyer: "{buyer}"
    title: Réhabilitation du collège
    commune: "50129"
    cpv: "45454000"
    amount: 2000000
    lots:
      - {{number: 1, title: Gros œuvre, amount: 1000000, instrument: {instrument}}}
      - {{number: 2, title: Finitions, amount: 1000000}}
"""


def _load(session, tmp_path, **values):
    path = tmp_path / "charge.yaml"
    path.write_text(LOAD.format(**values), encoding="utf-8")
    return load(session, path, actor="test")


def test_the_load_file_sets_the_penalties_and_a_lots_instrument(store, offer_market, tmp_path):
    ref, convention_ref, siret = offer_market
    values = {"buyer": siret, "convention": convention_ref, "market": ref,
              "buyer_penalty": 25, "convention_penalty": "30.5", "instrument": "reserved_siae"}  # fmt: skip
    with store.session() as session:
        _load(session, tmp_path, **values)
        session.commit()
        buyer = session.exec(select(Buyer).where(Buyer.siret == siret)).one()
        convention = session.exec(select(Convention).where(Convention.ref == convention_ref)).one()
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number))
        assert (buyer.penalty_per_hour, convention.penalty_per_hour) == (25, Decimal("30.5"))
        assert [lot.instrument for lot in lots] == ["reserved_siae", "execution_condition"]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("buyer_penalty", "-5", "attendu : une valeur strictement supérieure à 0"),
        ("convention_penalty", "30.555", "attendu : deux décimales au plus"),
        ("convention_penalty", "1500", "attendu : une valeur inférieure ou égale à 1000"),
        ("instrument", "reserve", "instrument"),
    ],
)
def test_a_wrong_penalty_or_instrument_is_refused_with_the_rules_words(
    store, offer_market, tmp_path, field, value, words
):
    ref, convention_ref, siret = offer_market
    values = {"buyer": siret, "convention": convention_ref, "market": ref,
              "buyer_penalty": 25, "convention_penalty": 30, "instrument": "award_criterion"}  # fmt: skip
    with store.session() as session, pytest.raises(LoadErrors) as refused:
        _load(session, tmp_path, **(values | {field: value}))
    assert words in str(refused.value)
