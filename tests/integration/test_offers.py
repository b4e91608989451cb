"""The facilitator prepares the insertion offer: hours from the formula, override, clause text."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from clausier.config import OfferSettings
from clausier.errors import GuardRefused, InvalidInput
from clausier.loading.loader import load
from clausier.markets.models import Lot, Market
from clausier.offers import service
from clausier.offers.service import OfferFrozen
from tests import factories as make
from workflow.engine import fire

SETTINGS = OfferSettings()


def prepare(session, market, **given):
    """The facilitator's ``clausier offer``, as a service call."""
    return service.prepare(session, market, actor="f0@mde-cotentin.example", **given)


@pytest.fixture
def market(session, clock):
    buyer = make.buyer(session)
    mde = make.structure(session, "mde-cotentin")
    make.convention(session, buyer=buyer, structure=mde)
    market = make.market(
        session, buyer=buyer, hours=None, clause_text=None
    )  # two lots of 1 M€, CPV 45454000
    fire(session, ref=market.ref, trigger="prepare_offer", actor="f0@mde-cotentin.example")
    return market


def lots(session, market) -> list[Lot]:
    return list(
        session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
    )


def test_the_offer_takes_a_market_to_a_publishable_state(session, market):
    with pytest.raises(
        GuardRefused,
        match=f"le lot 1 n'a pas d'heures d'insertion \\(> 0\\) : clausier offer {market.ref} --lot 1",
    ):
        fire(session, ref=market.ref, trigger="publish", actor="x")
    offers = prepare(session, market, settings=SETTINGS)
    assert [o.lot.hours for o in offers] == [835, 835]  # 1 M€ × 50 % × 5 % ÷ 30 €
    first = lots(session, market)[0]
    assert "au moins 835 heures de travail" in first.clause_text
    assert "Maison de l'emploi mde-cotentin (clauses@mde-cotentin.example)" in first.clause_text
    assert "embauche directe" in first.clause_text and "article L2112-2" in first.clause_text
    assert first.offer["labour_share_source"].startswith("table des parts de main-d'œuvre")
    assert fire(session, ref=market.ref, trigger="publish", actor="x").to_state == "consultation"


def test_rates_come_from_the_convention_then_the_buyer_then_the_configuration(session, market):
    [computation] = [
        o.computation for o in prepare(session, market, settings=SETTINGS, lot_number=1)
    ]
    assert (computation.insertion_rate.source, computation.hourly_cost.source) == (
        "config.yaml",
        "config.yaml",
    )

    from clausier.partners.models import Buyer
    from clausier.partnerships.models import Convention

    buyer = session.get(Buyer, market.buyer_id)
    buyer.insertion_rate, buyer.hourly_cost = Decimal("0.07"), Decimal("35")
    [computation] = [
        o.computation for o in prepare(session, market, settings=SETTINGS, lot_number=1)
    ]
    assert computation.insertion_rate.source == f"paramètres de {buyer.name}"
    convention = session.get(Convention, market.convention_id)
    convention.insertion_rate = Decimal("0.10")
    [offer] = prepare(session, market, settings=SETTINGS, lot_number=1, hourly_cost=Decimal(40))
    assert offer.computation.insertion_rate.source == f"convention {convention.ref}"
    assert offer.computation.hourly_cost.source == "coût horaire saisi"
    assert offer.lot.hours == 1250  # 1 M€ × 50 % × 10 % ÷ 40 €


def test_an_override_keeps_the_computed_figure_and_needs_a_reason(session, market):
    with pytest.raises(InvalidInput, match="doit être motivée"):
        prepare(session, market, settings=SETTINGS, lot_number=2, hours=500)
    with pytest.raises(InvalidInput, match="attendu : une valeur supérieure ou égale à 0"):
        prepare(session, market, settings=SETTINGS, lot_number=2, hours=-5, reason="x")
    with pytest.raises(InvalidInput, match="précisez --lot N"):
        prepare(session, market, settings=SETTINGS, hours=500, reason="chantier court")
    [offer] = prepare(
        session,
        market,
        settings=SETTINGS,
        lot_number=2,
        hours=500,
        reason="chantier en site occupé",
    )
    lot = offer.lot
    assert (lot.hours, lot.hours_computed, lot.hours_override_reason) == (
        500,
        835,
        "chantier en site occupé",
    )
    assert "au moins 500 heures" in lot.clause_text


def test_a_lot_under_the_floor_carries_no_clause_and_does_not_block_publication(session, clock):
    buyer = make.buyer(session)
    make.convention(session, buyer=buyer, structure=make.structure(session))
    market = make.market(
        session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None
    )
    small = lots(session, market)[1]
    small.amount = Decimal(20_000)
    session.add(small)
    offers = prepare(session, market, settings=SETTINGS)
    assert [(o.lot.hours, o.lot.clause_text is None) for o in offers] == [(835, False), (0, True)]
    assert fire(session, ref=market.ref, trigger="publish", actor="x").to_state == "consultation"


def test_a_market_where_no_lot_carries_a_clause_is_declined_not_published(session, clock):
    buyer = make.buyer(session)
    make.convention(session, buyer=buyer, structure=make.structure(session))
    market = make.market(
        session, buyer=buyer, state="insertion_offer", lots=1, hours=None, clause_text=None
    )
    prepare(
        session,
        market,
        settings=SETTINGS,
        hours=0,
        reason="prestation intellectuelle",
        lot_number=1,
    )
    with pytest.raises(GuardRefused, match="aucun lot ne porte de clause"):
        fire(session, ref=market.ref, trigger="publish", actor="x")


def test_the_clause_can_be_edited_before_publication_and_is_frozen_after(session, market):
    [offer] = prepare(
        session,
        market,
        settings=SETTINGS,
        lot_number=1,
        clause_text="Texte négocié avec l'acheteur.",
    )
    assert (offer.lot.clause_text, offer.lot.clause_edited) == (
        "Texte négocié avec l'acheteur.\n",
        True,
    )
    [offer] = prepare(
        session, market, settings=SETTINGS, lot_number=1, modalities=["placement", "direct_hire"]
    )
    assert offer.replaced_edited_text
    assert offer.lot.modalities == ["direct_hire", "placement"]
    assert "sous-traitance" not in offer.lot.clause_text
    prepare(session, market, settings=SETTINGS)
    fire(session, ref=market.ref, trigger="publish", actor="x")
    with pytest.raises(OfferFrozen, match="figée depuis la publication"):
        prepare(session, market, settings=SETTINGS, lot_number=1)


def test_a_trade_outside_the_table_asks_for_its_labour_share(session, market):
    market.cpv = "03000000"
    with pytest.raises(InvalidInput, match="précisez --labour-share"):
        prepare(session, market, settings=SETTINGS)
    [offer, _] = prepare(session, market, settings=SETTINGS, labour_share=Decimal("0.4"))
    assert offer.lot.hours == 665  # 1 M€ × 40 % × 5 % ÷ 30 € = 666.7 → 665


# --- a lot's own trade (issue 17): the labour share follows the lot's CPV, else the market's ------

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"


def test_the_example_lots_get_the_hours_of_their_own_trades(session, clock):
    """MKT-2027-001 is split by trade: gros œuvre 45 %, second œuvre 55 % (the example's notes:
    1 575 h and 1 410 h), not the market's 50 % for both (1 750 h and 1 285 h)."""
    load(session, EXAMPLE)
    market = session.exec(select(Market).where(Market.ref == "MKT-2027-001")).one()
    fire(session, ref=market.ref, trigger="prepare_offer", actor="f0@mde-cotentin.example")
    offers = prepare(session, market, settings=SETTINGS)
    assert [o.lot.hours for o in offers] == [1575, 1410]
    assert [(o.computation.cpv, o.computation.cpv_source) for o in offers] == [
        ("45210000", "lot"),
        ("45421000", "lot"),
    ]
    assert [o.computation.labour_share.value for o in offers] == [Decimal("0.45"), Decimal("0.55")]
    stored = lots(session, market)[1].offer
    assert (stored["cpv"], stored["cpv_source"]) == ("45421000", "lot")
    assert "second œuvre" in stored["labour_share_source"]


def test_a_lot_without_a_cpv_takes_the_markets(session, market):
    lots(session, market)[0].cpv = "45442100"  # peinture: 60 %
    offers = prepare(session, market, settings=SETTINGS)
    assert [o.lot.hours for o in offers] == [1000, 835]  # 1 M€ × 60 % / 50 % × 5 % ÷ 30 €
    assert [(o.computation.cpv, o.computation.cpv_source) for o in offers] == [
        ("45442100", "lot"),
        ("45454000", "market"),
    ]


def test_a_lot_trade_outside_the_table_names_the_lots_cpv(session, market):
    lots(session, market)[1].cpv = "03000000"
    with pytest.raises(
        InvalidInput, match=r"Le code CPV 03000000 \(CPV du lot\) n'est pas dans la table"
    ):
        prepare(session, market, settings=SETTINGS)
    [offer] = prepare(session, market, settings=SETTINGS, lot_number=1)
    assert offer.computation.cpv_source == "market"
