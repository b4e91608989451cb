"""What the offer's page asks of the domain: an offer computed without being stored
(« Recalculer »), per-lot choices stored as one edit with the market's version moved, a version
read before a change refused, the figures a facilitator typed kept, and an edited clause text
whose {{ variables }} are the lot's, in a sandbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlmodel import select

from clausier.config import OfferSettings
from clausier.errors import InvalidInput, VersionConflict
from clausier.formatting import fr_number
from clausier.markets.models import Lot, TransitionLog
from clausier.offers import service
from clausier.offers.clause import ClauseTextRefused, render_edited_clause
from clausier.offers.formula import parse_cost, parse_share
from clausier.offers.service import LotChoice
from tests import factories as make

SETTINGS = OfferSettings()
ACTOR = "f0@mde-cotentin.example"


@pytest.fixture
def market(session, clock):
    buyer = make.buyer(session)
    make.convention(session, buyer=buyer, structure=make.structure(session, "mde-cotentin"))
    return make.market(session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None)


def lots(session, market) -> list[Lot]:
    return list(session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)))


def edits(session, market) -> list[TransitionLog]:
    return list(
        session.exec(
            select(TransitionLog).where(
                TransitionLog.market_id == market.id, TransitionLog.trigger == "edit"
            )
        )
    )


def test_planning_computes_and_renders_without_writing(session, market):
    version = market.version
    offers = service.plan(
        session, market, settings=SETTINGS, choices={1: LotChoice(insertion_rate=Decimal("0.1"))}
    )
    assert [(o.lot.number, o.hours) for o in offers] == [(1, 1665)]  # 1 M€ × 50 % × 10 % ÷ 30 €
    assert offers[0].computation.insertion_rate.source == "taux saisi"
    assert f"au moins {fr_number(1665)} heures" in offers[0].clause_text
    session.flush()
    assert [lot.hours for lot in lots(session, market)] == [None, None]
    assert market.version == version and not edits(session, market)


def test_choices_per_lot_are_one_edit_and_move_the_version(session, market):
    version = market.version
    service.save(
        session, market, settings=SETTINGS, actor=ACTOR, expected_version=version,
        choices={1: LotChoice(insertion_rate=Decimal("0.07")),
                 2: LotChoice(hours=500, reason="chantier en site occupé", modalities=["placement"])},
    )  # fmt: skip
    session.flush()
    first, second = lots(session, market)
    assert (first.hours, second.hours, second.hours_computed) == (1165, 500, 835)
    assert second.modalities == ["placement"] and "embauche directe" not in second.clause_text
    assert market.version == version + 1
    [edit] = edits(session, market)
    assert edit.actor == ACTOR and "lots[2].hours_override_reason" in edit.payload["changes"]
    # the same choices again: nothing changed, no edit, the version stays
    service.save(session, market, settings=SETTINGS, actor=ACTOR, expected_version=version + 1,
                 choices={1: service.choice_of(first), 2: service.choice_of(second)})  # fmt: skip
    assert market.version == version + 1 and len(edits(session, market)) == 1


def test_a_version_read_before_a_change_is_refused_and_nothing_written(session, market):
    service.prepare(session, market, settings=SETTINGS, actor=ACTOR)  # the CLI moves it too
    with pytest.raises(VersionConflict, match="a été modifié par quelqu'un d'autre"):
        service.save(session, market, settings=SETTINGS, actor=ACTOR, expected_version=1,
                     choices={1: LotChoice(insertion_rate=Decimal("0.1"))})  # fmt: skip
    assert lots(session, market)[0].hours == 835


def test_the_figures_typed_are_kept_when_the_offer_is_computed_again(session, market):
    service.prepare(session, market, settings=SETTINGS, actor=ACTOR, lot_number=1,
                    hourly_cost=Decimal("40"))  # fmt: skip
    first = lots(session, market)[0]
    assert service.choice_of(first) == LotChoice(hourly_cost=Decimal("40"))
    [again] = service.plan(
        session, market, settings=SETTINGS, choices={1: service.choice_of(first)}
    )
    assert (again.computation.hourly_cost.source, again.hours) == ("coût horaire saisi", 625)
    defaults = service.defaults(session, market, SETTINGS)
    assert (defaults.hourly_cost.value, defaults.hourly_cost.source) == (
        Decimal("30"),
        "config.yaml",
    )


def test_an_edited_clause_names_the_lots_variables_and_nothing_else(session, market):
    [offer] = service.save(
        session, market, settings=SETTINGS, actor=ACTOR,
        choices={1: LotChoice(clause_text="Lot {{ lot.number }} : {{ hours_text }}, {{ structure.email }}.")},
    )  # fmt: skip
    assert offer.lot.clause_text == "Lot 1 : 835 heures, clauses@mde-cotentin.example.\n"
    assert offer.lot.clause_edited
    with pytest.raises(
        ClauseTextRefused, match="ligne 2 : variable inconnue « heures »"
    ) as refused:
        service.plan(session, market, settings=SETTINGS,
                     choices={1: LotChoice(clause_text="Clause\n{{ heures }}")})  # fmt: skip
    assert "Variables disponibles : buyer.name, declaration_day" in str(refused.value)
    assert lots(session, market)[0].clause_text.startswith("Lot 1 : 835 heures")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{{ market.nope }}", "variable inconnue « market.nope »"),
        ("{{ market }}", "variable inconnue « market »"),  # a group, not a value to print
        ("{% for x in range(99999) %}x{% endfor %}", "seules des variables sont permises"),
        ("{{ ''.__class__ }}", "seules des variables sont permises"),
        ("{{ hours | e }}", "seules des variables sont permises"),
        ("{{ hours_text", "accolades mal formées"),
    ],
)
def test_an_edited_clause_runs_nothing(text, says):
    context = {"hours": 5, "hours_text": "5 heures", "market": {"ref": "M"}, "modalities": ["a"]}
    with pytest.raises(ClauseTextRefused, match=says):
        render_edited_clause(text, context)
    assert render_edited_clause("{{ modalities }} {{ market.ref }}", context) == "a M\n"


def test_typed_figures_are_read_in_french_and_bounded():
    assert parse_cost("32,50 €", "Coût horaire") == Decimal("32.50")
    assert parse_share("7 %", "Taux") == Decimal("0.07")
    assert parse_share("5,5", "Taux", in_percent=True) == Decimal("0.055")  # a field in %
    with pytest.raises(InvalidInput, match="« abc » : attendu : un nombre"):
        parse_share("abc", "Taux", in_percent=True)
    for text, words in (("NaN", "un nombre"), ("inf", "un nombre"),
                        ("0", "une valeur strictement supérieure à 0"),
                        ("1e-30", "deux décimales au plus"),
                        ("900", "une valeur inférieure ou égale à 500")):  # fmt: skip
        with pytest.raises(InvalidInput, match=f"attendu : {words}"):  # HOURLY_COST's words
            parse_cost(text, "Coût horaire")
    with pytest.raises(InvalidInput, match="attendu : un nombre"):
        parse_share("NaN", "Taux")
