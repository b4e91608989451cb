"""Issue 16, typed read models: the market page, the task queue, a convention and the insertion
offer are rendered from the document the API answers for the same person, validated into the
same model (``MarketStatus``, ``Task``, ``Convention``, ``Offer``; and beside them a
structure's conventions on its coverage page, a lot's progress), not from a dict or ORM rows of
their own. The page's context is read through Starlette's test client (``response.context``:
what the template was given); the figures, states and labels the page shows are compared with
the API's document. On both stores."""

from __future__ import annotations

import html
import re
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlmodel import Session

from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.declarations.read import LotProgress
from clausier.formatting import fr_date, fr_moment, fr_number
from clausier.markets.read import MarketStatus
from clausier.offers import service as offers
from clausier.offers.read import Offer
from clausier.partnerships.models import CONVENTION_STATUS_LABELS
from clausier.partnerships.read import Convention
from clausier.tasks.read import Task
from tests import factories as make

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def browser(world, role: Role) -> TestClient:
    """A client signed in on the pages with ``role``'s token (the one the API calls carry)."""
    client = TestClient(world.client.app, follow_redirects=False)
    form = client.get("/connexion").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answer = client.post("/connexion/jeton", data={"token": world.tokens[role], "csrf": csrf})
    assert answer.status_code == 303, answer.text
    return client


def text_of(page: str) -> str:
    """The page's text, tags dropped and spaces folded, as a reader reads it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def row_of(page: str, row_id: str) -> str:
    found = re.search(rf'<tr id="{re.escape(row_id)}">(.*?)</tr>', page, re.S)
    assert found, f"no row {row_id}"
    return text_of(found.group(1))


# --- the market page ----------------------------------------------------------------------------


def test_the_market_page_is_the_status_document_the_api_answers(world):
    ref = world.own.market.ref
    for role in (A, B, F, C):
        page = browser(world, role).get(f"/marches/{ref}")
        assert page.status_code == 200, (role, page.text)
        doc = page.context["doc"]
        assert type(doc) is MarketStatus, role
        answered = world.call(role, "GET", f"/api/markets/{ref}")
        assert answered.status_code == 200
        assert doc == MarketStatus.model_validate(answered.json()), role
        shown = text_of(page.text)
        api = answered.json()
        assert f"État : {api['state_label']}" in shown
        for lot in api["lots"]:  # a contractor's own lots only, as the API redacts them
            assert f"Lot {lot['number']} — {lot['title']}" in shown
            assert (f"{fr_number(Decimal(lot['hours_validated']))} heures validées sur "
                    f"{fr_number(lot['hours'])} requises") in shown  # fmt: skip
        assert len(re.findall(r'<div class="lot">', page.text)) == len(api["lots"])
        for task in api["open_tasks"]:
            assert f"{task['label']} — échéance le {fr_moment(task['due_at'])}" in shown
        for entry in api["history"]:
            assert entry["label"] in shown
        for blocked in page.context["actions"]["blocked"]:
            assert blocked in doc.blocked_triggers  # the document's own, not a copy
    other = world.other.market.ref
    assert browser(world, B).get(f"/marches/{other}").status_code == 404


# --- the task queue -----------------------------------------------------------------------------


def test_the_task_queue_shows_the_tasks_the_api_answers(world):
    for role in (A, B, F):
        page = browser(world, role).get("/taches")
        assert page.status_code == 200, (role, page.text)
        tasks = page.context["tasks"]
        assert tasks and all(type(task) is Task for task in tasks), role
        answered = world.call(role, "GET", "/api/tasks", params={"limit": 200}).json()
        assert answered["total"] == len(tasks), role
        assert tasks == [Task.model_validate(item) for item in answered["items"]], role
        for item in answered["items"]:
            row = row_of(page.text, f"tache-{item['id']}")
            assert fr_moment(item["due_at"]) in row
            assert item["label"] in row and item["market"] in row
            assert ("en retard" in row) == item["overdue"]
            assert ("à prendre" in row) == (item["assignee"] is None)
    mine = {task.id for task in browser(world, F).get("/taches").context["tasks"]}
    assert world.own.task.id in mine and world.other.task.id not in mine


# --- a convention -------------------------------------------------------------------------------


def test_a_convention_is_the_document_the_api_lists(world):
    ref = world.own.convention.ref
    listed = world.call(B, "GET", "/api/conventions").json()["items"]
    (api,) = [item for item in listed if item["ref"] == ref]
    client = browser(world, B)
    page = client.get(f"/conventions/{ref}")
    assert page.status_code == 200, page.text
    shown = page.context["c"]
    assert type(shown.document) is Convention
    assert shown.document == Convention.model_validate(api)
    said = text_of(page.text)
    assert CONVENTION_STATUS_LABELS[api["status"]] in said
    assert f"Début {fr_date(api['starts_on'])}" in said
    assert f"En vigueur jusqu'au {fr_date(api['in_force_until'])}" in said
    renewal = {"tacit": "tacite", "explicit": "expresse"}[api["renewal"]]
    assert f"Reconduction {renewal}" in said

    listing = client.get("/conventions")
    assert [c.document for c in listing.context["rows"]] == [
        Convention.model_validate(item) for item in listed
    ]
    row = row_of(listing.text, f"convention-{ref}")
    assert f"du {fr_date(api['starts_on'])} au {fr_date(api['in_force_until'])}" in row
    assert CONVENTION_STATUS_LABELS[api["status"]] in row


# --- the insertion offer ------------------------------------------------------------------------


def test_the_offer_page_shows_the_computation_the_api_answers(world):
    with Session(world.client.app.state.engine) as session:
        market = make.market(session, buyer=world.own.buyer, state="insertion_offer")
        offers.prepare(session, market, settings=get_settings().offer, actor="test")
        session.commit()
        ref = market.ref
    answered = world.call(B, "GET", f"/api/markets/{ref}").json()
    for role in (B, F):
        page = browser(world, role).get(f"/marches/{ref}/offre")
        assert page.status_code == 200, (role, page.text)
        views = page.context["views"]
        assert [view.lot.number for view in views] == [lot["number"] for lot in answered["lots"]]
        for view, lot in zip(views, answered["lots"], strict=True):
            assert type(view.offer) is Offer, role
            assert view.offer == Offer.model_validate(lot["offer"]), role
            n, offer = lot["number"], lot["offer"]
            assert _figure(page.text, n, "raw") == f"{fr_number(Decimal(offer['raw']), 2)} heures"
            assert _figure(page.text, n, "rounded") == f"{fr_number(offer['rounded'])} heures"
            assert _figure(page.text, n, "floor") == f"{fr_number(offer['floor'])} heures"
            assert _figure(page.text, n, "amount") == f"{fr_number(Decimal(offer['amount']))} €"


def _figure(page: str, lot: int, key: str) -> str:
    found = re.search(rf'id="chiffre-{lot}-{key}">([^<]*)<', page)
    assert found, f"no figure {key} for lot {lot}"
    return html.unescape(found.group(1))


# --- beside them: a structure's conventions on its coverage page, a lot's progress ---------------


def test_the_coverage_page_lists_the_structures_conventions_as_the_api(world):
    page = browser(world, F).get("/couverture")
    assert page.status_code == 200, page.text
    shown = [row["document"] for row in page.context["conventions"]]
    assert shown and all(type(document) is Convention for document in shown)
    listed = world.call(F, "GET", "/api/conventions").json()["items"]
    assert shown == [Convention.model_validate(item) for item in listed]
    for item in listed:
        assert CONVENTION_STATUS_LABELS[item["status"]] in text_of(page.text)


def test_a_lots_months_show_its_progress_as_the_status_document(world):
    lot, ref = world.own.lot, world.own.market.ref
    (api,) = [
        one
        for one in world.call(C, "GET", f"/api/markets/{ref}").json()["lots"]
        if one["id"] == lot.id
    ]
    page = browser(world, C).get(f"/lots/{lot.id}/declarations")
    assert page.status_code == 200, page.text
    progress = page.context["progress"]
    assert type(progress) is LotProgress
    assert progress == LotProgress.model_validate(api["progress"])
    said = text_of(page.text)
    assert (f"{fr_number(Decimal(api['progress']['validated']))} heures validées sur "
            f"{fr_number(api['progress']['target'])} requises") in said  # fmt: skip
