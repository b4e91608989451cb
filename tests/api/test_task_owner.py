"""Issue 17, item 7: the status document the API answers, and the market page built from it, say
who does each open task. A task of a service the market's convention lacks is the buyer's: the
buyer reads it, « à faire par l'acheteur », and the structure's facilitators do not see it (the
scope decides, ``auth.scope.task_condition``). On both stores."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from sqlmodel import select

from clausier import clock
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.partnerships.models import Service
from notifications import contexts
from notifications.models import Reminder
from tests import factories as make

CARENTAN = "50099"
BY_THE_BUYER = "à faire par l'acheteur : la convention ne comprend pas ce service"
OFFER_TASK = "Préparer l'offre d'insertion (heures, texte de clause)"


def _market_without_offer_service(store, world) -> str:
    """A market of the world's buyer, assigned to its structure by a convention (Carentan) that
    does not include the insertion offer, entered in insertion_offer."""
    with store.session() as session:
        make.convention(
            session, buyer=world.own.buyer, structure=world.own.structure, covering=(CARENTAN,),
            services=tuple(s.value for s in Service if s != Service.prepare_offer),
        )  # fmt: skip
        market = make.market(
            session, buyer=world.own.buyer, in_commune=CARENTAN, state="insertion_offer",
            ref="MKT-2027-950",
        )  # fmt: skip
        assert market.structure_id == world.own.structure.id
        session.commit()
        return market.ref


def _page_text(world, role: Role, url: str) -> str:
    client = TestClient(world.client.app, follow_redirects=False)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/connexion").text).group(1)
    signed = client.post("/connexion/jeton", data={"token": world.tokens[role], "csrf": csrf})
    assert signed.status_code == 303, signed.text
    page = client.get(url)
    assert page.status_code == 200, page.text
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page.text)))


def test_the_status_document_and_the_market_page_say_the_buyer_does_the_task(store, world):
    ref = _market_without_offer_service(store, world)
    answered = world.call(Role.buyer, "GET", f"/api/markets/{ref}")
    assert answered.status_code == 200, answered.text
    [offer] = answered.json()["open_tasks"]
    assert (offer["kind"], offer["service"], offer["owner"], offer["structure"]) == (
        "prepare_offer",
        "prepare_offer",
        "buyer",
        None,
    )
    assert f"{OFFER_TASK} — échéance le" in _page_text(world, Role.buyer, f"/marches/{ref}")
    assert BY_THE_BUYER in _page_text(world, Role.buyer, f"/marches/{ref}")
    # its reminders are the buyer's too: the page says so, and the sweep writes to the buyer
    reminders = [r for r in answered.json()["next_reminders"] if r["task"]]
    assert reminders and {r["recipient_label"] for r in reminders} == {"l'acheteur"}
    with store.session() as session:
        for row in session.exec(select(Reminder).where(Reminder.task_id == offer["id"])).all():
            ready = contexts.prepare(session, row, get_settings(), clock.today())
            assert ready.recipient.email == world.own.buyer.email, ready
        queue = world.call(Role.buyer, "GET", "/api/tasks", params={"limit": 200}).json()["items"]
    assert [t["owner"] for t in queue if t["market"] == ref] == ["buyer"]

    # the structure follows the market but the task is not in its reach
    followed = world.call(Role.facilitator, "GET", f"/api/markets/{ref}")
    assert followed.status_code == 200 and followed.json()["open_tasks"] == []
    assert [r for r in followed.json()["next_reminders"] if r["task"]] == []
    mine = world.call(Role.facilitator, "GET", "/api/tasks", params={"limit": 200}).json()
    assert ref not in {t["market"] for t in mine["items"]}
    assert OFFER_TASK not in _page_text(world, Role.facilitator, f"/marches/{ref}")


def test_a_task_of_an_included_service_is_the_structures(world):
    ref = world.own.market.ref
    tasks = world.call(Role.buyer, "GET", f"/api/markets/{ref}").json()["open_tasks"]
    assert tasks and {t["owner"] for t in tasks} == {"structure"}
    assert BY_THE_BUYER not in _page_text(world, Role.buyer, f"/marches/{ref}")
