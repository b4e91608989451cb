"""Issue 17, item 7: a convention's services decide which tasks its structure gets. A task of a
service the convention that assigned the market lacks is opened for no structure: it is the
buyer's (``auth.scope.task_condition``), and the status document says so. On both stores."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlmodel import select

from clausier.auth.models import Role
from clausier.auth.scope import task_condition
from clausier.auth.tokens import Principal
from clausier.clock import now, today
from clausier.config import get_settings
from clausier.loading.loader import load
from clausier.markets.status import market_overview
from clausier.partners.models import Buyer, Structure
from clausier.partnerships.assignment import assign_explicitly
from clausier.partnerships.models import Service
from clausier.tasks import service as tasks
from clausier.tasks.models import Task
from tests import factories as make
from workflow.engine import fire

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"
MANCHE_BUYER, CARENTAN = "22500001800013", "50099"
WITHOUT_OFFER = tuple(s.value for s in Service if s != Service.prepare_offer)


def _open(session, market) -> dict[str, Task]:
    rows = session.exec(
        select(Task).where(Task.market_id == market.id, Task.status == "open").order_by(Task.id)
    ).all()
    return {task.kind: task for task in rows}


def _queue_kinds(session, principal: Principal, market) -> list[str]:
    rows = tasks.queue(session, now=now(), market=market, scope=task_condition(principal))
    return [row.task.kind for row in rows]


def _principal(role: Role, org_id: int) -> Principal:
    return Principal(role=role, org_id=org_id, token_id=0)


def _owners(session, market, principal: Principal) -> dict[str, str]:
    """Who does each open task, as the API's status document (and the market page) says."""
    document = market_overview(
        session, market, today=today(), now=now(), settings=get_settings(),
        task_scope=task_condition(principal),
    )  # fmt: skip
    return {task["kind"]: task["owner"] for task in document["open_tasks"]}


def test_the_example_convention_without_the_offer_leaves_the_offer_task_to_the_buyer(
    session, clock
):
    """CONV-2026-005 (Manche ↔ MEF du Cotentin, Carentan-les-Marais) lists facilitate, follow,
    control and report: a market it assigns gets no offer task for the structure."""
    load(session, EXAMPLE, today=today())
    buyer = session.exec(select(Buyer).where(Buyer.siret == MANCHE_BUYER)).one()
    mde = session.exec(select(Structure).where(Structure.ref == "mde-cotentin")).one()
    market = make.market(
        session,
        buyer=buyer,
        in_commune=CARENTAN,
        consultation_on=date(2026, 12, 21),
        ref="MKT-2026-900",
    )
    assert market.structure_id == mde.id, "the example's convention assigns it"
    fire(session, ref=market.ref, trigger="prepare_offer", actor="buyer")
    offer = _open(session, market)["prepare_offer"]
    assert (offer.structure_id, offer.assignee_id) == (None, None)

    facilitator = _principal(Role.facilitator, mde.id)
    the_buyer = _principal(Role.buyer, buyer.id)
    assert "prepare_offer" not in _queue_kinds(session, facilitator, market)
    assert "prepare_offer" in _queue_kinds(session, the_buyer, market)
    assert _owners(session, market, the_buyer)["prepare_offer"] == "buyer"


def test_a_convention_with_every_service_gives_every_task_to_its_structure(session, clock):
    buyer, mde = make.buyer(session), make.structure(session, "mde")
    make.convention(session, buyer=buyer, structure=mde)
    market = make.market(session, buyer=buyer)
    assert _open(session, market)["assess_market"].structure_id == mde.id
    fire(session, ref=market.ref, trigger="prepare_offer", actor="buyer")
    assert _open(session, market)["prepare_offer"].structure_id == mde.id
    facilitator = _principal(Role.facilitator, mde.id)
    assert _queue_kinds(session, facilitator, market) == ["prepare_offer"]
    assert _owners(session, market, _principal(Role.buyer, buyer.id)) == {
        "prepare_offer": "structure"
    }


def test_only_the_tasks_of_a_missing_service_go_to_the_buyer(session, clock):
    buyer, mde = make.buyer(session), make.structure(session, "mde")
    make.convention(session, buyer=buyer, structure=mde, services=("facilitate", "control"))
    market = make.market(session, buyer=buyer, state="execution")
    opened = _open(session, market)
    # present_candidates is facilitation; the start-up meeting is follow-up, which it lacks
    assert opened["present_candidates"].structure_id == mde.id
    assert opened["kickoff_meeting"].structure_id is None
    owners = _owners(session, market, _principal(Role.buyer, buyer.id))
    assert owners == {"kickoff_meeting": "buyer", "present_candidates": "structure"}
    assert _owners(session, market, _principal(Role.facilitator, mde.id)) == {
        "present_candidates": "structure"
    }


def test_an_open_task_follows_the_services_of_the_structure_the_buyer_assigns(session, clock):
    buyer = make.buyer(session)
    mde, plie = make.structure(session, "mde"), make.structure(session, "plie")
    make.convention(session, buyer=buyer, structure=mde)
    make.convention(session, buyer=buyer, structure=plie, services=WITHOUT_OFFER)
    market = make.market(session, buyer=buyer, state="insertion_offer")
    [offer] = _open(session, market).values()
    assert offer.structure_id is None, "ambiguous: nobody's until the buyer chooses"
    assign_explicitly(session, market, structure=plie, today=today(), actor="buyer")
    session.flush()
    assert offer.structure_id is None, "the PLIE's convention does not prepare offers"
    assign_explicitly(session, market, structure=mde, today=today(), actor="buyer")
    session.flush()
    assert offer.structure_id == mde.id
