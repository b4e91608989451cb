"""A contractor declares its monthly hours, a facilitator checks them, and only validated hours
count: on the lot's progress, on the pace, on ``complete`` and on ``close``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from clausier.beneficiaries import outcomes
from clausier.beneficiaries.models import Beneficiary, Outcome
from clausier.cli.reports import print_report
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.declarations import pace
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.errors import GuardRefused, InvalidInput, LoadErrors
from clausier.markets.models import Lot, Market
from clausier.markets.status import market_status
from clausier.reports.indicators import indicators, resolve_scope
from clausier.tasks.models import Task, TaskStatus
from notifications import sweep
from notifications.models import Reminder, ReminderStatus
from tests import factories as make
from workflow.engine import fire
from workflow.guards import in_words

ETTI = {"body_siret": make.siret(9_201), "body_kind": "etti"}  # a placement names its body


def paris(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


@pytest.fixture
def site(store, clock):
    """A lot of 600 hours in execution in the Manche, January to December 2027, held by a
    contractor; two people registered by the Maison de l'emploi that follows it."""
    clock.move_to(paris(date(2027, 1, 4)))
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde-cotentin")
        make.convention(
            session, buyer=buyer, structure=mde, covering=(make.MANCHE,),
            starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31),
        )  # fmt: skip
        winner = make.contractor(session)
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=600, awarded_to=winner,
            execution_starts_on=date(2027, 1, 1), execution_ends_on=date(2027, 12, 31),
        )  # fmt: skip
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).one()
        alice = make.beneficiary(session, mde, name="Alice Martin", sex="F", age_band="under_26")
        bruno = make.beneficiary(session, mde, name="Bruno Petit", sex="M", public="rqth")
        session.commit()
        return {"market": market, "lot": lot, "alice": alice.code, "bruno": bruno.code, "mde": mde,
                "lot_contractor_email": winner.email}  # fmt: skip


def _declare(store, site, period, lines, clock_day=None):
    with store.session() as session:
        lot = session.get(Lot, site["lot"].id)
        result = declare(
            session, lot=lot, period=period, lines=lines, actor="contractor:test",
            settings=get_settings(), today=clock_day or date.today(), now=datetime.now(UTC),
        )  # fmt: skip
        session.commit()
        return result


def test_three_months_declared_one_line_rejected_only_validated_hours_count(store, site, clock):
    clock.move_to(paris(date(2027, 4, 12)))
    today = date(2027, 4, 12)
    for period in ("2027-01", "2027-02", "2027-03"):
        _declare(
            store, site, period,
            [LineInput(site["alice"], "direct_hire", "70", "cdd"),
             LineInput(site["bruno"], "placement", Decimal("35.5"), **ETTI)],
            today,
        )  # fmt: skip
    with store.session() as session:
        lines = session.exec(select(DeclarationLine).order_by(DeclarationLine.id)).all()
        assert len(lines) == 6 and {line.status for line in lines} == {LineStatus.submitted}
        # one task per month's statement, for the structure
        checks = session.exec(select(Task).where(Task.kind == "check_declaration")).all()
        assert len(checks) == 3 and all(t.structure_id == site["mde"].id for t in checks)
        decisions = [
            Decision(line.id, validate=not (line.period == "2027-02" and line.modality == "placement"),
                     reason="Bruno était en arrêt maladie en février")
            for line in lines
        ]  # fmt: skip
        review(
            session, decisions, actor="f0@mde-cotentin.example", settings=get_settings(),
            today=today, now=clock_now(),
        )  # fmt: skip
        session.commit()
    with store.session() as session:
        lot = session.get(Lot, site["lot"].id)
        market = session.get(Market, site["market"].id)
        assert lot.hours_validated == Decimal("281.00")  # 3 × 70 + 2 × 35.5, not the rejected 35.5
        progress = pace.lot_progress(
            session, market, [lot], today=today, settings=get_settings(), departement="50"
        )[lot.id]
        assert progress.validated == Decimal("281.00") and progress.submitted == 0
        # expected by the end of March (the last month whose declaration is due): 600 × 90/365
        assert progress.expected_on == date(2027, 3, 31)
        assert progress.expected == Decimal("147.95") and not progress.behind
        assert {
            t.status for t in session.exec(select(Task).where(Task.kind == "check_declaration"))
        } == {TaskStatus.done}
        rejected = session.exec(
            select(DeclarationLine).where(DeclarationLine.status == "rejected")
        ).one()
        assert rejected.review_reason.startswith("Bruno était")  # fmt: skip


def clock_now() -> datetime:
    return datetime.now(UTC)


def test_a_month_declared_again_is_amended_not_duplicated(store, site, clock):
    clock.move_to(paris(date(2027, 2, 5)))
    _declare(store, site, "2027-01", [LineInput(site["alice"], "direct_hire", 70),
                                      LineInput(site["bruno"], "direct_hire", 20)])  # fmt: skip
    with store.session() as session:
        first = session.exec(select(DeclarationLine).order_by(DeclarationLine.id)).all()
        review(session, [Decision(first[0].id, True)], actor="f0", settings=get_settings(),
               today=date(2027, 2, 5), now=clock_now())  # fmt: skip
        session.commit()
    amended = _declare(store, site, "2027-01", [LineInput(site["alice"], "direct_hire", 70),
                                                LineInput(site["bruno"], "direct_hire", 28)])  # fmt: skip
    assert (amended.added, amended.changed, amended.unchanged, amended.withdrawn) == (0, 1, 1, 0)
    with store.session() as session:
        assert len(session.exec(select(Statement)).all()) == 1
        lines = {line.hours: line for line in session.exec(select(DeclarationLine)).all()}
        assert set(lines) == {Decimal("70.00"), Decimal("28.00")}
        assert lines[Decimal("70.00")].status == "validated"  # unchanged: its review stands
        assert lines[Decimal("28.00")].status == "submitted"  # changed: checked again
        assert session.exec(select(Statement)).one().amendments == 1
    _declare(store, site, "2027-01", [LineInput(site["bruno"], "direct_hire", 28)])
    with store.session() as session:
        assert session.get(Lot, site["lot"].id).hours_validated == 0  # Alice's line withdrawn


def test_bad_lines_are_all_named_and_nothing_is_written(store, site, clock):
    clock.move_to(paris(date(2027, 2, 5)))
    with pytest.raises(LoadErrors) as refused:
        _declare(
            store, site, "2027-01",
            [LineInput(site["alice"], "direct_hire", "-7", line=2),
             LineInput("B-NOBODY00", "direct_hire", "7", line=3),
             LineInput(site["bruno"], "bricolage", "7", line=4),
             LineInput(site["bruno"], "direct_hire", "7", "stage", line=5)],
        )  # fmt: skip
    message = str(refused.value)
    assert "4 erreurs, rien n'a été enregistré" in message
    assert (  # MONTH_HOURS's words, as a load file's line gets them
        "ligne 2, champ « hours » : « -7 » : attendu : une valeur strictement supérieure à 0"
        in message
    )
    assert "ligne 3, champ « beneficiary » : bénéficiaire « B-NOBODY00 » inconnu" in message
    assert (
        "ligne 4, champ « modality »" in message and "ligne 5, champ « contract_type »" in message
    )
    with pytest.raises(LoadErrors, match="n'a pas commencé"):
        _declare(store, site, "2027-03", [])
    with store.session() as session:
        assert session.exec(select(Statement)).all() == []
        assert session.exec(select(DeclarationLine)).all() == []


def test_more_hours_than_a_plausible_month_for_one_person_are_refused(store, site, clock):
    clock.move_to(paris(date(2027, 2, 5)))
    with store.session() as session:  # a second lot of the same market, same person
        other = Lot(market_id=site["market"].id, number=2, title="Lot 2", amount=1, hours=100,
                    contractor_id=site["lot"].contractor_id)  # fmt: skip
        session.add(other)
        session.commit()
        other_id = other.id
    _declare(store, site, "2027-01", [LineInput(site["alice"], "direct_hire", 120)])

    def refusal(*, show_other_lots: bool) -> str:
        with store.session() as session, pytest.raises(LoadErrors) as refused:
            declare(
                session, lot=session.get(Lot, other_id), period="2027-01",
                lines=[LineInput(site["alice"], "direct_hire", 61)], actor="c",
                settings=get_settings(), today=date(2027, 2, 5), now=clock_now(),
                show_other_lots=show_other_lots,
            )  # fmt: skip
        return str(refused.value).replace("\u202f", " ")

    # an operator is told what the other lots hold
    assert (
        f"{site['alice']} : 181,00 h en janvier 2027, dont 120,00 h déjà déclarées sur d'autres "
        "lots, au-delà du maximum plausible de 180 h par personne et par mois"
    ) in refusal(show_other_lots=True)
    # a contractor, that the maximum is passed: neither the other lots' hours nor the total
    told = refusal(show_other_lots=False)
    assert (
        f"{site['alice']} : en janvier 2027, avec ce relevé (61,00 h), ses heures dépassent le "
        "maximum plausible de 180 h par personne et par mois, tous lots confondus"
    ) in told
    assert "120" not in told and "181" not in told


def test_a_contractor_behind_pace_is_reminded_and_the_facilitator_gets_a_task(
    store, site, clock, tmp_path
):
    # by 12 May, January to April are due: 600 × 120/365 = 197.26 h expected; 100 validated
    clock.move_to(paris(date(2027, 3, 1)))
    _declare(store, site, "2027-01", [LineInput(site["alice"], "direct_hire", 100)])
    with store.session() as session:
        line = session.exec(select(DeclarationLine)).one()
        review(session, [Decision(line.id, True)], actor="f0", settings=get_settings(),
               today=date(2027, 3, 1), now=clock_now())  # fmt: skip
        session.commit()
    moment = paris(date(2027, 5, 12), 9)
    clock.move_to(moment)
    sweep.plan(store.engine, get_settings(), moment)
    sweep.plan(store.engine, get_settings(), moment)  # planning twice changes nothing
    with store.session() as session:
        [reminder] = session.exec(select(Reminder).where(Reminder.rule == "behind_pace")).all()
        assert reminder.recipient_role == "contractor" and reminder.lot_id == site["lot"].id
        [task] = session.exec(select(Task).where(Task.kind == "review_pace")).all()
        assert task.status == "open" and task.priority == 1 and task.structure_id == site["mde"].id
        assert task.key == f"review_pace:lot:{site['lot'].id}:2027-04"
    # the sweep of that morning e-mails the contractor, figures in French
    from clausier.config import Settings
    from notifications.models import OutboxMessage
    from notifications.settings import OutboxSettings

    settings = Settings(outbox=OutboxSettings(maildir=tmp_path / "outbox"))
    sweep.run_once(store.engine, settings, worker="t", now=moment, planning=False)
    with store.session() as session:
        mails = session.exec(select(OutboxMessage)).all()
    [mail] = [m for m in mails if m.subject.startswith("Heures d'insertion en retard")]
    assert mail.to_email == site["lot_contractor_email"]
    assert mail.subject.startswith(
        "Heures d'insertion en retard : 100 h validées sur 197,26 h attendues"
    )
    assert "Le retard est de 97,26 heures" in mail.text_body and "Alice" not in mail.text_body


def test_the_missing_declaration_reminder_checks_real_statements(store, site, clock, tmp_path):
    from clausier.config import Settings
    from notifications.settings import OutboxSettings

    settings = Settings(outbox=OutboxSettings(maildir=tmp_path / "outbox"))
    clock.move_to(paris(date(2027, 2, 1)))
    _declare(store, site, "2027-01", [])  # nobody worked in January: a statement with no line
    moment = paris(date(2027, 2, 16), 9)
    clock.move_to(moment)
    sweep.run_once(store.engine, settings, worker="t", now=moment, planning=False)
    with store.session() as session:
        january = session.exec(select(Reminder).where(Reminder.period == "2027-01")).all()
        assert january and all(r.status == ReminderStatus.cancelled for r in january)
        assert january[0].cancel_reason == "relevé de janvier 2027 reçu"


def test_complete_counts_validated_hours_and_close_needs_every_outcome(store, site, clock):
    clock.move_to(paris(date(2027, 3, 1)))
    _declare(store, site, "2027-01", [LineInput(site["alice"], "direct_hire", 180)])
    _declare(store, site, "2027-02", [LineInput(site["alice"], "direct_hire", 150),
                                      LineInput(site["bruno"], "training", 150)])  # fmt: skip
    _declare(store, site, "2027-03", [LineInput(site["bruno"], "training", 120)])
    with store.session() as session:
        with pytest.raises(GuardRefused, match="il manque encore 600 heures à valider"):
            fire(session, ref=site["market"].ref, trigger="complete", actor="buyer")
        session.rollback()
        ids = [line.id for line in session.exec(select(DeclarationLine)).all()]
        review(session, [Decision(i, True) for i in ids], actor="f0", settings=get_settings(),
               today=date(2027, 3, 1), now=clock_now())  # fmt: skip
        session.commit()
        [proposal] = session.exec(select(Task).where(Task.kind == "propose_completion")).all()
        fire(session, ref=site["market"].ref, trigger="complete", actor="buyer")
        session.commit()
        assert session.get(Task, proposal.id).status == TaskStatus.done
        with pytest.raises(GuardRefused) as refused:
            fire(session, ref=site["market"].ref, trigger="close", actor="f0",
                 data={"evaluation": "Bilan : objectif atteint"})  # fmt: skip
        session.rollback()
        assert "la sortie à six mois de 2 bénéficiaire(s) n'est pas enregistrée" in str(
            refused.value
        )
        market = session.get(Market, site["market"].id)
        missing = outcomes.record(
            session, market, summary="Bilan : objectif atteint en mars.",
            outcomes={site["alice"]: "durable_employment"}, actor="f0", now=clock_now(),
            early_reason="CDI signé dès la fin de l'exécution",
        )  # fmt: skip
        assert missing == [site["bruno"]]
        outcomes.record(session, market, summary=None, outcomes={site["bruno"]: "unknown"},
                        actor="f0", now=clock_now(), early_reason="parti sans adresse")  # fmt: skip
        session.commit()
        fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.commit()
        assert session.get(Market, site["market"].id).state == "closed"


# --- the end of execution (issue 17) -------------------------------------------------------


def _ending_on_31_may(store, site, clock, *, april: bool = True):
    """The site's market ending on 31 May 2027, January to April declared (April unless not
    ``april``) and validated, then completed on its last day."""
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        market.execution_ends_on = date(2027, 5, 31)
        session.add(market)
        session.commit()
    clock.move_to(paris(date(2027, 5, 3)))
    for period in ("2027-01", "2027-02", "2027-03") + (("2027-04",) if april else ()):
        _declare(store, site, period, [LineInput(site["alice"], "direct_hire", 40)])
    with store.session() as session:
        ids = session.exec(select(DeclarationLine.id)).all()
        review(session, [Decision(i, True) for i in ids], actor="f0", settings=get_settings(),
               today=date(2027, 5, 3), now=clock_now())  # fmt: skip
        session.commit()
    clock.move_to(paris(date(2027, 5, 31), 17))
    with store.session() as session:
        fire(session, ref=site["market"].ref, trigger="complete", actor="buyer")
        session.commit()


def _evaluated(store, site, clock, **codes):
    """The summary and the outcomes (by name: alice=…), recorded early with a reason."""
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        outcomes.record(
            session, market, summary="Bilan : objectif atteint.",
            outcomes={site[name]: code for name, code in codes.items()}, actor="f0",
            now=clock_now(), early_reason="situation connue dès la fin du chantier",
        )  # fmt: skip
        session.commit()


def test_after_complete_on_31_may_may_is_declared_on_5_june_then_no_more(store, site, clock):
    _ending_on_31_may(store, site, clock)
    clock.move_to(paris(date(2027, 6, 5)))
    declared = _declare(store, site, "2027-05", [LineInput(site["alice"], "direct_hire", 70)],
                        date(2027, 6, 5))  # fmt: skip
    assert declared.added == 1
    with store.session() as session:  # and its lines are still reviewed in evaluation
        [line] = session.exec(
            select(DeclarationLine).where(DeclarationLine.period == "2027-05")
        ).all()
        review(session, [Decision(line.id, True)], actor="f0", settings=get_settings(),
               today=date(2027, 6, 5), now=clock_now())  # fmt: skip
        session.commit()
        assert session.get(Lot, site["lot"].id).hours_validated == Decimal("230.00")
    # May was due by 10 June 2027: after it, the month is no longer declared, nor amended
    clock.move_to(paris(date(2027, 6, 11)))
    with pytest.raises(Exception, match="le relevé de mai 2027 se déclarait jusqu'au 10/06/2027"):
        _declare(store, site, "2027-05", [LineInput(site["alice"], "direct_hire", 80)],
                 date(2027, 6, 11))  # fmt: skip


def test_close_names_the_hours_still_to_review(store, site, clock):
    _ending_on_31_may(store, site, clock)
    clock.move_to(paris(date(2027, 6, 5)))
    _declare(store, site, "2027-05", [LineInput(site["alice"], "direct_hire", 70)],
             date(2027, 6, 5))  # fmt: skip
    _evaluated(store, site, clock, alice="durable_employment")
    with store.session() as session:
        with pytest.raises(GuardRefused) as refused:
            fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.rollback()
        assert "il reste 70 heures à contrôler (lot 1 : mai 2027 (70 heures))" in str(refused.value)
        [blocked] = refused.value.reasons
        assert in_words(blocked).endswith("validez ou rejetez ces lignes")
        [line] = session.exec(
            select(DeclarationLine).where(DeclarationLine.status == LineStatus.submitted)
        ).all()
        review(session, [Decision(line.id, False, "heures en double")], actor="f0",
               settings=get_settings(), today=date(2027, 6, 5), now=clock_now())  # fmt: skip
        session.commit()
        assert fire(session, ref=site["market"].ref, trigger="close", actor="f0").to_state == (
            "closed"
        )


def test_close_names_a_month_still_undeclared_until_its_deadline(store, site, clock):
    _ending_on_31_may(store, site, clock)
    _evaluated(store, site, clock, alice="durable_employment")
    clock.move_to(paris(date(2027, 6, 1)))
    with store.session() as session:
        with pytest.raises(GuardRefused) as refused:
            fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.rollback()
        assert (
            "des mois de la période d'exécution ne sont pas encore déclarés "
            "(lot 1 : mai 2027 (au plus tard le 10/06/2027))"
        ) in str(refused.value)
        status = market_status(session, session.get(Market, site["market"].id),
                               today=date(2027, 6, 1))  # fmt: skip
        [close] = [t for t in status["blocked_triggers"] if t["trigger"] == "close"]
        assert any("mai 2027" in reason for reason in close["reasons"])
    # its deadline passed, May can no longer be declared: close no longer waits for it
    clock.move_to(paris(date(2027, 6, 11)))
    with store.session() as session:
        assert fire(session, ref=site["market"].ref, trigger="close", actor="f0").to_state == (
            "closed"
        )


def test_an_outcome_recorded_before_its_date_needs_a_reason(store, site, clock):
    _ending_on_31_may(store, site, clock)
    clock.move_to(paris(date(2027, 6, 20)))
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        with pytest.raises(InvalidInput, match="se constate à partir du 30/11/2027"):
            outcomes.record(session, market, summary="Bilan", actor="f0", now=clock_now(),
                            outcomes={site["alice"]: "durable_employment"})  # fmt: skip
        session.rollback()
        market = session.get(Market, site["market"].id)
        outcomes.record(session, market, summary="Bilan", actor="f0", now=clock_now(),
                        outcomes={site["alice"]: "durable_employment"},
                        early_reason="CDI signé le 1er juin")  # fmt: skip
        session.commit()
        [row] = session.exec(select(Outcome)).all()
        assert (row.outcome, row.early_reason) == ("durable_employment", "CDI signé le 1er juin")
    # six months after the end, an outcome needs no reason
    clock.move_to(paris(date(2027, 11, 30)))
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        outcomes.record(session, market, summary=None, actor="f0", now=clock_now(),
                        outcomes={site["alice"]: "transition_employment"})  # fmt: skip
        session.commit()
        assert session.exec(select(Outcome)).one().early_reason is None


def test_close_does_not_take_an_early_outcome_without_a_reason_for_the_follow_up(
    store, site, clock
):
    _ending_on_31_may(store, site, clock)
    clock.move_to(paris(date(2027, 6, 20)))
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        market.evaluation = "Bilan : objectif atteint."
        alice = session.exec(select(Beneficiary).where(Beneficiary.code == site["alice"])).one()
        # recorded on the last day, before the rule, without a reason
        session.add(Outcome(market_id=market.id, beneficiary_id=alice.id, outcome="unknown",
                            recorded_by="f0", recorded_at=paris(date(2027, 5, 31))))  # fmt: skip
        session.add(market)
        session.commit()
        with pytest.raises(GuardRefused, match=f"la sortie à six mois de {site['alice']} a été "
                           "enregistrée avant sa date sans motif"):  # fmt: skip
            fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.rollback()
        follow_up = session.exec(select(Task).where(Task.kind == "outcomes_follow_up")).one()
        assert follow_up.status == TaskStatus.open
    _evaluated(store, site, clock, alice="unknown")  # the same answer, now with its reason
    with store.session() as session:
        fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.commit()
        follow_up = session.exec(select(Task).where(Task.kind == "outcomes_follow_up")).one()
        assert follow_up.status == TaskStatus.done


def test_the_positive_rate_counts_every_person_concerned(store, site, clock, capsys):
    """Two positive outcomes, and a third person with validated hours and none recorded: 2
    positives of 3 (67 %), the third counted as « inconnu », not 2 of 2 (100 %)."""
    with store.session() as session:
        carol = make.beneficiary(session, site["mde"], public="senior", age_band="50_plus")
        session.commit()
        site = site | {"carol": carol.code}
    _ending_on_31_may(store, site, clock)
    clock.move_to(paris(date(2027, 6, 5)))
    _declare(store, site, "2027-05", [LineInput(site["bruno"], "placement", 30, **ETTI),
                                      LineInput(site["carol"], "placement", 30, **ETTI)],
             date(2027, 6, 5))  # fmt: skip
    with store.session() as session:
        ids = session.exec(
            select(DeclarationLine.id).where(DeclarationLine.period == "2027-05")
        ).all()
        review(session, [Decision(i, True) for i in ids], actor="f0", settings=get_settings(),
               today=date(2027, 6, 5), now=clock_now())  # fmt: skip
        session.commit()
    _evaluated(store, site, clock, alice="durable_employment", bruno="positive_exit")
    with store.session() as session:
        scope = resolve_scope(session, "buyer", "Région Normandie")
        report = indicators(session, scope, 2027, today=date(2027, 6, 5), now=clock_now())
    assert (report.outcomes.positive, report.outcomes.total) == (2, 3)
    assert report.outcomes.positive_rate == Decimal("0.6667")
    counts = {row.code: row.count for row in report.outcomes.by_outcome}
    assert counts == {"durable_employment": 1, "transition_employment": 0, "positive_exit": 1,
                      "other": 0, "unknown": 1}  # fmt: skip
    assert [row.label for row in report.outcomes.by_outcome] == [
        "emploi durable", "emploi de transition", "sortie positive", "autre", "inconnu"]  # fmt: skip
    print_report(report)
    assert "2 positives sur 3 personnes concernées" in capsys.readouterr().out


def test_an_old_outcome_code_is_refused(store, site, clock):
    _ending_on_31_may(store, site, clock)
    with store.session() as session:
        market = session.get(Market, site["market"].id)
        with pytest.raises(InvalidInput, match="sortie « job_6_months » inconnue"):
            outcomes.record(session, market, summary=None, actor="f0", now=clock_now(),
                            outcomes={site["alice"]: "job_6_months"}, early_reason="déjà")  # fmt: skip
