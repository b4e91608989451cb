"""A contractor declares its monthly hours, a facilitator checks them, and only validated hours
count: on the lot's progress, on the pace, on ``complete`` and on ``close``."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlmodel import select

from clausier.beneficiaries import outcomes
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.declarations import pace
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.errors import GuardRefused, LoadErrors
from clausier.markets.models import Lot, Market
from clausier.tasks.models import Task, TaskStatus
from notifications import sweep
from notifications.models import Reminder, ReminderStatus
from tests import factories as make
from workflow.engine import fire


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
             LineInput(site["bruno"], "placement", Decimal("35.5"))],
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
            outcomes={site["alice"]: "job_6_months"}, actor="f0", now=clock_now(),
        )  # fmt: skip
        assert missing == [site["bruno"]]
        outcomes.record(session, market, summary=None, outcomes={site["bruno"]: "unknown"},
                        actor="f0", now=clock_now())  # fmt: skip
        session.commit()
        fire(session, ref=site["market"].ref, trigger="close", actor="f0")
        session.commit()
        assert session.get(Market, site["market"].id).state == "closed"
