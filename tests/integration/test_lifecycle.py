"""Every trigger and every guard, on SQLite and PostgreSQL, with the refusals' messages."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from clausier.errors import (
    GuardRefused,
    InvalidInput,
    TransitionNotAllowed,
    UnknownRecord,
    UnknownTrigger,
)
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.markets.status import market_status
from tests import factories as make
from workflow.engine import fire
from workflow.guards import in_words


@pytest.fixture
def territory(session, clock):
    """The Région with a convention covering the CA du Cotentin (Cherbourg, Valognes)."""
    buyer = make.buyer(session)
    structure = make.structure(session, "mde-cotentin")
    make.convention(session, buyer=buyer, structure=structure, covering=(make.COTENTIN_EPCI,))
    session.commit()
    return buyer, structure


def _log(session, market):
    return session.exec(
        select(TransitionLog).where(TransitionLog.market_id == market.id).order_by(TransitionLog.id)
    ).all()


def test_a_covered_market_goes_through_its_whole_life(session, territory, clock):
    buyer, structure = territory
    winner = make.contractor(session)
    market = make.market(session, buyer=buyer, in_commune=make.CHERBOURG)
    session.commit()
    assert market.structure_id == structure.id

    steps = [
        ("prepare_offer", None, "insertion_offer"),
        ("publish", None, "consultation"),
        ("award", {"contractors": {"1": winner.siret, "2": winner.siret}}, "execution"),
    ]
    for trigger, data, expected in steps:
        fired = fire(
            session, ref=market.ref, trigger=trigger, actor="c.martin@mde.example", data=data
        )
        session.commit()
        assert fired.to_state == expected
    clock.move_to(date(2028, 6, 1))
    fire(session, ref=market.ref, trigger="complete", actor="c.martin@mde.example")
    make.every_month_declared(session, market)  # nobody worked: every month declared empty
    fire(
        session,
        ref=market.ref,
        trigger="close",
        actor="acheteur",
        data={"evaluation": "Bilan : objectifs atteints"},
    )
    session.commit()

    session.refresh(market)
    assert market.state == "closed" and market.version == 6
    assert market.evaluation == "Bilan : objectifs atteints"
    lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
    assert {lot.contractor_id for lot in lots} == {winner.id}
    log = _log(session, market)
    assert [(e.from_state, e.to_state, e.trigger) for e in log] == [
        (None, "identification", "load"),
        ("identification", "insertion_offer", "prepare_offer"),
        ("insertion_offer", "consultation", "publish"),
        ("consultation", "execution", "award"),
        ("execution", "evaluation", "complete"),
        ("evaluation", "closed", "close"),
    ]
    assert log[1].actor == "c.martin@mde.example"
    assert log[3].payload == {"contractors": {"1": winner.siret, "2": winner.siret}}


def test_a_trigger_impossible_from_the_state_names_the_state_and_the_allowed_triggers(
    session, territory
):
    market = make.market(session, buyer=territory[0])
    session.commit()
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(session, ref=market.ref, trigger="award", actor="x")
    message = str(refused.value)
    assert market.ref in message and "« Identification » (identification)" in message
    assert "« award »" in message
    assert message.endswith(
        "Déclencheurs possibles maintenant : « prepare_offer », « decline » (avec un motif), "
        "« abandon » (avec un motif)."
    )


def test_a_trigger_impossible_from_the_state_names_apart_those_a_guard_blocks(session, territory):
    market = make.market(session, buyer=territory[0], in_commune=make.SAINT_LO)
    session.commit()
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(session, ref=market.ref, trigger="publish", actor="x")
    message = str(refused.value)
    assert (
        "Déclencheurs possibles maintenant : « decline » (avec un motif), « abandon » (avec un "
        "motif). « prepare_offer » est bloqué : aucune convention de partenariat de l'acheteur "
        "en vigueur le 15/02/2027 ne couvre le lieu d'exécution, Saint-Lô (50502)"
    ) in message
    assert (refused.value.allowed, list(refused.value.blocked)) == (
        ["decline", "abandon"],
        ["prepare_offer"],
    )


def test_a_market_whose_every_trigger_is_blocked_can_take_none_now(session, territory):
    market = make.market(
        session, buyer=territory[0], state="execution", execution_ends_on=date(2027, 6, 30)
    )
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(session, ref=market.ref, trigger="close", actor="x")
    assert (
        "Déclencheurs possibles maintenant : aucun. « complete » est bloqué : l'exécution se "
        "termine le 30/06/2027 et il manque encore 1\u202f400 heures à valider : attendez le "
        "30/06/2027, ou faites valider les heures qui manquent."
    ) in str(refused.value)


def test_an_unknown_trigger_lists_those_that_exist(session, territory):
    market = make.market(session, buyer=territory[0])
    with pytest.raises(UnknownTrigger, match="Déclencheur inconnu « publier »") as refused:
        fire(session, ref=market.ref, trigger="publier", actor="x")
    assert "« publish »" in str(refused.value)


def test_an_unknown_market_is_named(session, clock):
    with pytest.raises(UnknownRecord, match="Marché introuvable : « MKT-0000 »"):
        fire(session, ref="MKT-0000", trigger="publish", actor="x")


def test_no_offer_is_prepared_where_no_convention_covers_the_place(session, territory):
    market = make.market(session, buyer=territory[0], in_commune=make.SAINT_LO)
    session.commit()
    with pytest.raises(GuardRefused) as refused:
        fire(session, ref=market.ref, trigger="prepare_offer", actor="x")
    assert str(refused.value) == (
        f"Le marché {market.ref} (état « Identification ») ne peut pas passer par "
        "« prepare_offer » : aucune convention de partenariat de l'acheteur en vigueur le "
        "15/02/2027 ne couvre le lieu d'exécution, Saint-Lô (50502), donc pas de facilitateur, "
        "pas de clause : signez une convention qui couvre cette commune, ou étendez-y une "
        "convention existante. Déclencheurs possibles maintenant : « decline » (avec un motif), "
        "« abandon » (avec un motif)."
    )
    assert refused.value.allowed == ["decline", "abandon"] and not refused.value.blocked
    assert market.coverage_flag == "uncovered"


def test_the_status_offers_the_triggers_the_engine_would_take(session, territory):
    market = make.market(session, buyer=territory[0], in_commune=make.SAINT_LO)
    session.commit()
    with pytest.raises(GuardRefused) as refused:
        fire(session, ref=market.ref, trigger="prepare_offer", actor="x")
    status = market_status(session, market, today=date(2026, 11, 25))
    assert status["allowed_triggers"] == [
        {"trigger": "decline", "label": "Déclarer non clausable", "needs": ["un motif"]},
        {"trigger": "abandon", "label": "Abandonner", "needs": ["un motif"]},
    ]
    assert status["blocked_triggers"] == [
        {
            "trigger": "prepare_offer",
            "label": "Préparer l'offre d'insertion",
            "reasons": refused.value.reasons,
            "missing": [in_words(reason) for reason in refused.value.reasons],
        }
    ]


def test_a_trigger_waiting_only_for_the_callers_data_is_possible_with_it(session, territory):
    market = make.market(session, buyer=territory[0], state="consultation")
    with pytest.raises(TransitionNotAllowed) as refused:
        fire(session, ref=market.ref, trigger="publish", actor="x")
    assert (
        "Déclencheurs possibles maintenant : « relaunch » (avec la consultation déclarée "
        "infructueuse et un motif), « award » (avec le titulaire du lot 1 et le titulaire du "
        "lot 2), « abandon » (avec un motif)."
    ) in str(refused.value)
    assert refused.value.needs["award"] == ["le titulaire du lot 1", "le titulaire du lot 2"]


def test_an_ambiguous_coverage_must_be_settled_by_the_buyer(session, territory):
    buyer, _ = territory
    other = make.structure(session, "plie-cotentin", kind="plie")
    make.convention(session, buyer=buyer, structure=other, covering=(make.COTENTIN_EPCI,))
    market = make.market(session, buyer=buyer)
    with pytest.raises(GuardRefused, match="l'acheteur doit en assigner une"):
        fire(session, ref=market.ref, trigger="prepare_offer", actor="x")


@pytest.mark.parametrize(
    ("lot_hours", "clause", "consultation_on", "expected"),
    [
        (0, "texte", date(2027, 2, 15), "le lot 1 n'a pas d'heures d'insertion (> 0)"),
        (None, "texte", date(2027, 2, 15), "le lot 2 n'a pas d'heures d'insertion (> 0)"),
        (700, "  ", date(2027, 2, 15), "le lot 1 n'a pas de texte de clause"),
        (700, "texte", None, "la date de consultation n'est pas fixée"),
    ],
)
def test_publish_needs_hours_a_clause_and_a_date(
    session, territory, lot_hours, clause, consultation_on, expected
):
    market = make.market(
        session, buyer=territory[0], state="insertion_offer", hours=lot_hours, clause_text=clause,
        consultation_on=consultation_on,
    )  # fmt: skip
    with pytest.raises(GuardRefused) as refused:
        fire(session, ref=market.ref, trigger="publish", actor="x")
    assert expected in str(refused.value)


def test_relaunch_needs_the_consultation_declared_unsuccessful(session, territory):
    market = make.market(session, buyer=territory[0], state="consultation")
    with pytest.raises(InvalidInput, match="Données invalides pour « relaunch »"):
        fire(session, ref=market.ref, trigger="relaunch", actor="x")
    with pytest.raises(GuardRefused, match="doit être déclarée infructueuse"):
        fire(
            session,
            ref=market.ref,
            trigger="relaunch",
            actor="x",
            data={"unsuccessful": False, "reason": "rien"},
        )
    fired = fire(
        session, ref=market.ref, trigger="relaunch", actor="x",
        data={"unsuccessful": True, "reason": "aucune offre acceptable"},
    )  # fmt: skip
    assert fired.to_state == "insertion_offer"


def test_award_needs_a_known_contractor_with_a_valid_siret_on_every_clause_lot(session, territory):
    market = make.market(session, buyer=territory[0], state="consultation")
    known = make.contractor(session)
    with pytest.raises(GuardRefused) as refused:
        fire(
            session,
            ref=market.ref,
            trigger="award",
            actor="x",
            data={"contractors": {"1": known.siret}},
        )
    assert "le lot 2 porte une clause mais n'a pas de titulaire" in str(refused.value)
    with pytest.raises(InvalidInput, match="clé de contrôle incorrecte"):
        fire(
            session,
            ref=market.ref,
            trigger="award",
            actor="x",
            data={"contractors": {"1": "12345678901234"}},
        )
    stranger = make.siret(987654321)
    with pytest.raises(GuardRefused, match=f"SIRET {stranger}\\) est inconnu"):
        fire(
            session, ref=market.ref, trigger="award", actor="x",
            data={"contractors": {"1": known.siret, "2": stranger}},
        )  # fmt: skip
    with pytest.raises(GuardRefused, match="le lot 3 n'existe pas"):
        fire(
            session, ref=market.ref, trigger="award", actor="x",
            data={"contractors": {"1": known.siret, "2": known.siret, "3": known.siret}},
        )  # fmt: skip


def test_a_lot_without_clause_needs_no_contractor_at_award(session, territory):
    market = make.market(session, buyer=territory[0], state="consultation", lots=1, hours=0)
    assert fire(session, ref=market.ref, trigger="award", actor="x").to_state == "execution"


def test_complete_waits_for_the_end_of_execution_or_all_hours_validated(session, territory, clock):
    market = make.market(
        session, buyer=territory[0], state="execution", execution_ends_on=date(2027, 6, 30)
    )
    with pytest.raises(
        GuardRefused, match="se termine le 30/06/2027 et il manque encore 1\u202f400 heures"
    ):
        fire(session, ref=market.ref, trigger="complete", actor="x")
    for lot in session.exec(select(Lot).where(Lot.market_id == market.id)).all():
        lot.hours_validated = lot.hours
        session.add(lot)
    session.flush()
    assert fire(session, ref=market.ref, trigger="complete", actor="x").to_state == "evaluation"


def test_complete_on_the_last_day_of_execution(session, territory, clock):
    market = make.market(
        session, buyer=territory[0], state="execution", execution_ends_on=date(2027, 6, 30)
    )
    clock.move_to(date(2027, 6, 30))
    assert fire(session, ref=market.ref, trigger="complete", actor="x").to_state == "evaluation"


def test_close_needs_the_evaluation(session, territory):
    market = make.market(session, buyer=territory[0], state="evaluation")
    make.every_month_declared(session, market)
    with pytest.raises(GuardRefused, match="le bilan n'est pas enregistré"):
        fire(session, ref=market.ref, trigger="close", actor="x")
    assert (
        fire(
            session, ref=market.ref, trigger="close", actor="x", data={"evaluation": "Bilan 2027"}
        ).to_state
        == "closed"
    )


@pytest.mark.parametrize(("trigger", "state"), [("decline", "identification"), ("decline", "insertion_offer"),
                                                ("abandon", "identification"), ("abandon", "consultation")])  # fmt: skip
def test_leaving_the_lifecycle_needs_a_reason(session, territory, trigger, state):
    market = make.market(session, buyer=territory[0], state=state)
    with pytest.raises(InvalidInput, match="« reason » : obligatoire, absent"):
        fire(session, ref=market.ref, trigger=trigger, actor="x")
    fired = fire(
        session, ref=market.ref, trigger=trigger, actor="x", data={"reason": "montant trop faible"}
    )
    assert fired.to_state == {"decline": "not_clausable", "abandon": "abandoned"}[trigger]
    assert market.exit_reason == "montant trop faible"


def test_a_final_state_allows_nothing(session, territory):
    market = make.market(session, buyer=territory[0], state="closed")
    with pytest.raises(TransitionNotAllowed, match="Déclencheurs possibles maintenant : aucun"):
        fire(session, ref=market.ref, trigger="close", actor="x")


def test_unknown_payload_keys_are_refused(session, territory):
    market = make.market(session, buyer=territory[0])
    with pytest.raises(InvalidInput, match="« motif » : clé inconnue"):
        fire(
            session,
            ref=market.ref,
            trigger="decline",
            actor="x",
            data={"motif": "x", "reason": "trop petit"},
        )


def test_a_refused_trigger_changes_nothing(session, territory, store):
    market = make.market(session, buyer=territory[0], state="insertion_offer", hours=0)
    session.commit()
    with pytest.raises(GuardRefused):
        fire(session, ref=market.ref, trigger="publish", actor="x")
    session.rollback()
    with store.session() as fresh:
        again = fresh.get(Market, market.id)
        assert (again.state, again.version) == ("insertion_offer", 1)
        assert len(_log(fresh, again)) == 1
