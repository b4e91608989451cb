"""The facilitator's queue: tasks opened and closed by the lifecycle, due in business days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from clausier.clock import PARIS
from clausier.errors import UnknownRecord
from clausier.tasks import service
from clausier.tasks.models import Task
from clausier.tasks.service import TaskRefused
from tests import factories as make
from workflow.engine import fire

STRASBOURG, ALSACE = "67482", "67"


def paris(day: date, hour: int = 18) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def open_tasks(session, market) -> list[Task]:
    return session.exec(
        select(Task).where(Task.market_id == market.id, Task.status == "open").order_by(Task.id)
    ).all()


@pytest.fixture
def region(session, clock):
    buyer = make.buyer(session)
    structure = make.structure(session, "mde", facilitators=2)
    make.convention(
        session, buyer=buyer, structure=structure, covering=(make.CALVADOS, ALSACE, make.MANCHE)
    )
    return buyer, structure


def identify(session, buyer, commune, clock) -> Task:
    """A market identified today: its assessment task (the factory opens it as an import does)."""
    market = make.market(session, buyer=buyer, in_commune=commune, consultation_on=date(2027, 6, 1))
    [task] = open_tasks(session, market)
    return task


def test_a_market_identified_on_good_friday_is_due_later_in_strasbourg(session, region, clock):
    clock.move_to(datetime(2027, 3, 26, 10, tzinfo=PARIS))
    in_caen = identify(session, region[0], make.CAEN, clock)
    in_strasbourg = identify(session, region[0], STRASBOURG, clock)
    assert in_caen.kind == in_strasbourg.kind == "assess_market"
    assert in_caen.due_at == paris(date(2027, 4, 5))
    assert in_strasbourg.due_at == paris(date(2027, 4, 6))


def test_publishing_closes_the_offer_task_and_opens_the_next(session, region, clock):
    market = make.market(
        session, buyer=region[0], in_commune=make.CAEN, consultation_on=date(2027, 1, 15)
    )
    fire(session, ref=market.ref, trigger="prepare_offer", actor="f0@mde.example")
    [offer] = open_tasks(session, market)
    assert (offer.kind, offer.due_at) == (
        "prepare_offer",
        paris(date(2026, 12, 31)),
    )  # 10 business days before
    fire(session, ref=market.ref, trigger="publish", actor="f0@mde.example")
    session.refresh(offer)
    assert (offer.status, offer.closed_by) == ("done", "f0@mde.example")
    [inform] = open_tasks(session, market)
    assert inform.kind == "inform_bidders"
    assert inform.due_at == paris(date(2026, 12, 2))


def test_leaving_a_state_otherwise_cancels_its_tasks_with_the_reason(session, region, clock):
    market = make.market(session, buyer=region[0], state="consultation")
    [inform] = open_tasks(session, market)
    fire(
        session,
        ref=market.ref,
        trigger="abandon",
        actor="acheteur",
        data={"reason": "budget supprimé"},
    )
    session.refresh(inform)
    assert inform.status == "cancelled"
    assert inform.cancel_reason == "le marché a quitté l'état « Consultation » (abandon)"


def test_execution_opens_the_start_up_meeting_and_the_candidates(session, region, clock):
    winner = make.contractor(session)
    market = make.market(
        session, buyer=region[0], state="consultation", execution_starts_on=date(2027, 1, 4)
    )
    fire(
        session,
        ref=market.ref,
        trigger="award",
        actor="x",
        data={"contractors": {"1": winner.siret, "2": winner.siret}},
    )
    tasks = {task.kind: task.due_at for task in open_tasks(session, market)}
    assert tasks == {
        "kickoff_meeting": paris(date(2026, 12, 9)),
        "present_candidates": paris(date(2027, 1, 25)),
    }


def test_evaluation_follows_the_outcomes_six_months_after_the_end(session, region, clock):
    market = make.market(
        session, buyer=region[0], state="execution", execution_ends_on=date(2026, 11, 20)
    )
    fire(session, ref=market.ref, trigger="complete", actor="x")
    tasks = {task.kind: task.due_at for task in open_tasks(session, market)}
    assert tasks["outcomes_follow_up"] == paris(date(2027, 5, 20))
    assert tasks["evaluation_report"] == paris(date(2026, 12, 23))
    fire(session, ref=market.ref, trigger="close", actor="x", data={"evaluation": "Bilan"})
    assert open_tasks(session, market) == []


def test_the_queue_puts_overdue_tasks_first_then_due_date_then_priority(session, region, clock):
    buyer, structure = region
    late = make.market(
        session, buyer=buyer, state="execution", execution_starts_on=date(2026, 9, 1)
    )
    soon = make.market(session, buyer=buyer, state="consultation")
    clock.move_to(datetime(2026, 11, 26, 10, tzinfo=PARIS))
    rows = service.queue(session, now=datetime.now(UTC), structure=structure)
    assert [(row.market.ref, row.task.kind, row.overdue) for row in rows] == [
        (late.ref, "present_candidates", True),
        (soon.ref, "inform_bidders", False),  # 2 Dec, normal priority
        (late.ref, "kickoff_meeting", False),  # 9 Dec
    ]
    assert [
        r.task.kind for r in service.queue(session, now=datetime.now(UTC), overdue_only=True)
    ] == ["present_candidates"]
    assert [
        r.task.kind for r in service.queue(session, now=datetime.now(UTC), kind="kickoff_meeting")
    ] == ["kickoff_meeting"]
    assert len(service.queue(session, now=datetime.now(UTC), market=soon)) == 1


def test_same_due_day_higher_priority_first(session, region, clock):
    buyer, structure = region
    make.market(session, buyer=buyer, state="consultation", ref="MKT-NORMAL")
    market = make.market(session, buyer=buyer, state="consultation", ref="MKT-HIGH")
    [task] = open_tasks(session, market)
    task.priority = 1
    session.add(task)
    session.flush()
    rows = service.queue(session, now=datetime.now(UTC), structure=structure)
    assert [row.market.ref for row in rows] == ["MKT-HIGH", "MKT-NORMAL"]


def test_take_assign_complete_and_the_rules_that_protect_a_task(session, region, clock):
    buyer, _ = region
    market = make.market(session, buyer=buyer, state="consultation")
    [task] = open_tasks(session, market)
    other = make.structure(session, "plie")

    service.take(session, task.id, actor="f0@mde.example")
    assert task.assignee_id is not None
    mine = service.queue(
        session,
        now=datetime.now(UTC),
        facilitator=service.facilitator_by_email(session, "f0@mde.example"),
    )
    assert [row.task.id for row in mine] == [task.id]
    colleague = service.queue(
        session,
        now=datetime.now(UTC),
        facilitator=service.facilitator_by_email(session, "f1@mde.example"),
    )
    assert colleague == [], "a task taken by a colleague leaves my queue"

    with pytest.raises(TaskRefused, match="n'appartient pas à la structure"):
        service.complete(session, task.id, actor=f"f0@{other.ref}.example", now=datetime.now(UTC))
    with pytest.raises(TaskRefused, match="n'appartient pas à la structure"):
        service.assign(session, task.id, to=f"f0@{other.ref}.example", actor="f0@mde.example")

    service.complete(
        session, task.id, actor="f1@mde.example", now=datetime.now(UTC), comment="réunion faite"
    )
    assert (task.status, task.comment, task.closed_by) == (
        "done",
        "réunion faite",
        "f1@mde.example",
    )
    with pytest.raises(TaskRefused, match=f"La tâche {task.id} est déjà faite"):
        service.complete(session, task.id, actor="f1@mde.example", now=datetime.now(UTC))
    with pytest.raises(TaskRefused, match="Indiquez pourquoi"):
        service.cancel(session, task.id, actor="f1@mde.example", now=datetime.now(UTC), reason=" ")
    with pytest.raises(UnknownRecord, match="Tâche introuvable"):
        service.complete(session, 999999, actor="x", now=datetime.now(UTC))


def test_tasks_follow_the_market_to_the_structure_the_buyer_assigns(session, clock):
    buyer = make.buyer(session)
    mde, plie = make.structure(session, "mde"), make.structure(session, "plie")
    make.convention(session, buyer=buyer, structure=mde)
    make.convention(session, buyer=buyer, structure=plie)
    market = make.market(session, buyer=buyer)
    [task] = open_tasks(session, market)
    assert task.structure_id is None, "ambiguous: nobody's queue until the buyer chooses"
    from clausier.partnerships.assignment import assign_explicitly

    assign_explicitly(session, market, structure=plie, today=date(2026, 11, 25), actor="buyer")
    assert task.structure_id == plie.id
