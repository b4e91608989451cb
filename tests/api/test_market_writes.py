"""Markets belong to their buyer: who creates and edits a market and its lots, in which state,
and the log each write leaves (docs/security.md, "Markets belong to their buyer")."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from html import unescape

import httpx
from sqlalchemy import func
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.markets.models import Lot, Market, TransitionLog
from tests import factories as make
from tests.serving import serving

A, B = Role.admin, Role.buyer


def new_market(world, ref: str = "MKT-2027-NEUF", **fields) -> dict:
    """A market of the own buyer's territory, as a buyer posts it."""
    return {
        "ref": ref, "title": "Voirie", "commune": world.own.market.commune_code, "cpv": "45233140",
        "amount": 100000, "lots": [{"number": 1, "title": "Chaussée", "amount": 100000}], **fields,
    }  # fmt: skip


def snapshot(store, ref: str) -> dict:
    """What the store holds of a market: its row, its lots, its log."""
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number))
        log = session.exec(select(TransitionLog).where(TransitionLog.market_id == market.id)).all()
        return {
            "market": market.model_dump(),
            "lots": [lot.model_dump() for lot in lots],
            "log": [entry.model_dump() for entry in log],
        }


def refs_named(store, ref: str) -> int:
    with store.session() as session:
        return session.exec(select(func.count()).where(Market.ref == ref)).one()


# --- a ref belongs to its buyer --------------------------------------------------------------


def test_a_buyer_posting_another_buyers_ref_is_told_it_does_not_exist(world, store):
    """The take-over of the issue: buyer A posts buyer B's ref with its own title, amount and
    contractor. B's market is not found, as on a read, and nothing of it changes; a wrong row
    on that ref tells nothing of that market either (its state, its frozen offer)."""
    theirs = world.other.market
    before = snapshot(store, theirs.ref)
    takeover = new_market(
        world, ref=theirs.ref, title="Repris", amount=1,
        buyer=world.other.buyer.siret,  # ignored: a buyer files under its own SIRET
        lots=[{"number": 1, "title": "Repris", "amount": 1, "contractor": world.own.contractor.siret}],
    )  # fmt: skip
    response = world.call(B, "POST", "/api/markets", json=takeover)
    assert response.status_code == 404, response.text
    read = world.call(B, "GET", f"/api/markets/{theirs.ref}")
    assert response.json()["error"] == read.json()["error"]  # a write is told as a read
    wrong = new_market(world, ref=theirs.ref, amount="beaucoup")
    wrong["lots"] = [{"number": 1, "title": "Gros œuvre", "amount": 1, "hours": 1}]
    response = world.call(B, "POST", "/api/markets", json=wrong)
    assert response.json()["error"] == read.json()["error"], response.text
    assert snapshot(store, theirs.ref) == before
    # and so the own contractor never reaches the other lot's declarations
    lot = world.call(Role.contractor, "GET", f"/api/lots/{world.other.lot.id}/declarations")
    assert lot.status_code == 404


DUPLICATES = {
    "buyer": '{"ref": "MKT-2027-NEUF-2", "buyer": "{other}", "title": "Voirie", "commune": "{commune}", '
    '"cpv": "45233140", "amount": 100000, "buyer": "{own}"}',
    "contractor": '{"ref": "MKT-2027-NEUF-2", "title": "Voirie", "commune": "{commune}", "cpv": "45233140", '
    '"amount": 100000, "lots": [{"number": 1, "title": "Lot", "amount": 1, "contractor": "{contractor}", '
    '"contractor": null}]}',
}  # fmt: skip


def test_a_body_with_a_key_twice_is_refused_whole(world, store):
    values = {
        "{own}": world.own.buyer.siret, "{other}": world.other.buyer.siret,
        "{commune}": world.own.market.commune_code, "{contractor}": world.own.contractor.siret,
    }  # fmt: skip
    json_body = {"Content-Type": "application/json"}
    for key, template in DUPLICATES.items():
        text = template
        for name, value in values.items():
            text = text.replace(name, value)
        for role, url, sent in (
            (B, "/api/markets", text),
            (A, "/api/load", f'{{"markets": [{text}]}}'),
        ):
            response = world.call(role, "POST", url, content=sent, headers=json_body)
            assert response.status_code == 422, response.text
            assert response.json()["error"] == {
                "type": "DuplicateKey",
                "message": f"Données invalides : la clé « {key} » figure deux fois dans un même "
                "objet JSON ; envoyez-la une seule fois (rien n'a été enregistré).",
            }
    assert refs_named(store, "MKT-2027-NEUF-2") == 0
    # not only the market upsert: a careful API reads one value per key everywhere
    response = world.call(
        Role.facilitator, "PUT", f"/api/markets/{world.own.market.ref}/evaluation",
        content='{"summary": "Bilan", "summary": "Autre bilan"}', headers=json_body,
    )  # fmt: skip
    assert (response.status_code, response.json()["error"]["type"]) == (422, "DuplicateKey")
    # the caller is known first: without a token it is 401, whatever the body holds
    anonymous = world.call(
        None, "POST", "/api/markets", content='{"a": 1, "a": 2}', headers=json_body
    )
    assert anonymous.status_code == 401


# --- the lifecycle is not skipped ----------------------------------------------------------


def test_a_buyer_cannot_bring_a_market_past_identification(world, store):
    for state in ("execution", "closed", "consultation"):
        row = new_market(world, state=state)
        row["lots"][0] |= {"hours": 700, "contractor": world.own.contractor.siret}
        response = world.call(B, "POST", "/api/markets", json=row)
        assert response.status_code == 403, response.text
        message = response.json()["error"]["message"]
        assert message.startswith(
            "Un acheteur ne peut pas mettre le marché MKT-2027-NEUF à l'état « "
        ), message
        assert "il crée ses marchés à l'état « Identification », puis le cycle de vie" in message
        assert "Seul l'import historique d'un administrateur" in message
    assert refs_named(store, "MKT-2027-NEUF") == 0
    # nor move one of its own by posting it again with a state
    world.call(B, "POST", "/api/markets", json=new_market(world))
    before = snapshot(store, "MKT-2027-NEUF")
    response = world.call(B, "POST", "/api/markets", json=new_market(world, state="execution"))
    assert response.status_code == 403
    assert snapshot(store, "MKT-2027-NEUF") == before


def test_an_admins_historical_import_may_set_any_state_and_is_logged_as_such(world, store):
    row = new_market(world, buyer=world.own.buyer.siret, state="execution")
    row["lots"][0] |= {"hours": 700, "contractor": world.own.contractor.siret}
    response = world.call(A, "POST", "/api/markets", json=row)
    assert response.status_code == 201, response.text
    status = world.call(B, "GET", "/api/markets/MKT-2027-NEUF").json()
    assert status["state"] == "execution"
    assert len(status["history"]) == 1, status["history"]
    (entry,) = status["history"]
    assert (entry["from"], entry["to"], entry["trigger"]) == (None, "execution", "import")
    assert entry["label"] == "Import historique à l'état « Exécution »"
    assert entry["actor"] == "api:administration"

    # an admin may correct a market in any state: an edit, logged, no transition
    mine = world.own.market
    row = new_market(world, ref=mine.ref, buyer=world.own.buyer.siret, title="Titre corrigé",
                     amount=2000000, cpv="45454000", execution_starts_on="2026-09-01",
                     execution_ends_on="2027-08-31")  # fmt: skip
    del row["lots"]
    response = world.call(A, "POST", "/api/markets", json=row)
    assert response.status_code == 201, response.text
    status = world.call(A, "GET", f"/api/markets/{mine.ref}").json()
    edit = status["history"][-1]
    assert (edit["trigger"], edit["from"], edit["to"]) == ("edit", "execution", "execution")
    assert edit["changes"] == [
        "titre « Réhabilitation du collège » → « Titre corrigé »",
        "date de consultation 15/02/2027 → non fixée",
        "date d'attribution 15/02/2027 → non fixée",
    ]
    assert status["state"] == "execution"


# --- every change is logged, and only in identification ----------------------------------


def test_editing_an_own_market_in_identification_logs_each_change_before_and_after(world, store):
    assert world.call(B, "POST", "/api/markets", json=new_market(world)).status_code == 201
    edited = new_market(world, title="Voirie communale", amount=120000)
    edited["lots"] = [
        {
            "number": 1,
            "title": "Chaussée",
            "amount": 120000,
            "contractor": world.own.contractor.siret,
        }
    ]
    response = world.call(B, "POST", "/api/markets", json=edited)
    assert response.status_code == 201, response.text
    assert response.json()["counts"] == {"markets": {"updated": 1}, "lots": {"updated": 1}}

    status = world.call(B, "GET", "/api/markets/MKT-2027-NEUF").json()
    assert status["version"] == 2  # an edit moves the version, as a transition does
    created, edit = status["history"]
    assert (created["trigger"], created["label"]) == ("load", "Création")
    assert (edit["from"], edit["to"], edit["trigger"]) == (
        "identification",
        "identification",
        "edit",
    )
    assert edit["actor"] == f"api:{world.own.buyer.name}"
    changes = edit["payload"]["changes"]
    assert changes["title"] == ["Voirie", "Voirie communale"]
    assert changes["lots[1].contractor"] == [None, world.own.contractor.siret]
    assert set(changes) == {"title", "amount", "lots[1].amount", "lots[1].contractor"}
    assert edit["label"] == "Modification"
    assert edit["changes"] == [
        "titre « Voirie » → « Voirie communale »",
        "montant 100\u202f000 € HT → 120\u202f000 € HT",
        "lot 1, montant 100\u202f000 € HT → 120\u202f000 € HT",
        f"lot 1, titulaire (aucun) → SIRET {world.own.contractor.siret}",
    ]

    # posting the same again changes nothing, and logs nothing
    again = world.call(B, "POST", "/api/markets", json=edited)
    assert again.json()["counts"] == {"markets": {"unchanged": 1}, "lots": {"unchanged": 1}}
    assert len(world.call(B, "GET", "/api/markets/MKT-2027-NEUF").json()["history"]) == 2

    # the contractor reads that the market changed, not what (the log names contractors)
    seen = world.call(Role.contractor, "GET", "/api/markets/MKT-2027-NEUF").json()
    assert [(e["label"], e["changes"], e["payload"]) for e in seen["history"]][-1] == (
        "Modification",
        [],
        {},
    )

    # the market page says it in French, and its timeline is not fooled by the edit
    page = _page_as(world, world.tokens[B], "/marches/MKT-2027-NEUF")
    assert (
        "Modification : titre « Voirie » → « Voirie communale » ; montant 100\u202f000 € HT → "
        "120\u202f000 € HT" in page
    )
    assert "Identification (état inchangé)" in page


def test_an_own_market_past_identification_cannot_be_edited_by_its_buyer(world, store):
    mine = world.own.market  # in execution
    before = snapshot(store, mine.ref)
    row = new_market(world, ref=mine.ref, title="Autre titre")
    row["lots"] = [{"number": 1, "title": "Lot 1", "amount": 1000000,
                    "contractor": world.other.contractor.siret}]  # fmt: skip
    response = world.call(B, "POST", "/api/markets", json=row)
    assert response.status_code == 409, response.text
    assert response.json()["error"] == {
        "type": "MarketEditRefused",
        "message": f"Le marché {mine.ref} est à l'état « Exécution » : un acheteur ne modifie "
        "ses marchés et leurs lots qu'à l'état « Identification ». Ensuite, seul le cycle de vie "
        "les fait changer (offre d'insertion, publication, attribution).",
    }
    assert snapshot(store, mine.ref) == before


def _page_as(world, token: str, path: str) -> str:
    client = world.client
    form = client.get("/connexion").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    signed = client.post("/connexion/jeton", data={"token": token, "csrf": csrf})
    assert signed.status_code == 200, signed.text
    page = client.get(path)
    assert page.status_code == 200, page.text
    return unescape(page.text)


def test_the_evaluation_is_logged_with_its_summary_and_a_count_of_outcomes_never_whose(
    world, clock
):
    F, ref, code = Role.facilitator, world.own.market.ref, world.own.beneficiary
    review = {"decisions": [{"line": world.own.line.id, "decision": "validate"}]}
    assert world.call(F, "POST", "/api/declarations/review", json=review).status_code == 200
    clock.move_to(datetime(2027, 9, 1, 10, 0, tzinfo=PARIS))  # the execution is over
    moved = world.call(F, "POST", f"/api/markets/{ref}/transitions/complete", json={})
    assert moved.status_code == 200, moved.text
    body = {
        "summary": "Bilan : une embauche durable",
        "outcomes": {code: "durable_employment"},
        "early_reason": "CDI signé à la fin du chantier",
    }  # before six months after the end
    for _ in range(2):  # the same again changes nothing, and logs nothing
        answer = world.call(F, "PUT", f"/api/markets/{ref}/evaluation", json=body)
        assert answer.status_code == 200, answer.text
    body["outcomes"] = {code: "positive_exit"}
    assert world.call(F, "PUT", f"/api/markets/{ref}/evaluation", json=body).status_code == 200

    history = world.call(B, "GET", f"/api/markets/{ref}").json()["history"]
    assert [entry["trigger"] for entry in history][-3:] == ["complete", "edit", "edit"]
    recorded, corrected = history[-2:]
    assert recorded["actor"] == f"facilitator:{world.own.structure.name}"
    assert recorded["payload"]["changes"] == {
        "evaluation": [None, "Bilan : une embauche durable"],
        "outcomes": [None, 1],
    }
    assert recorded["changes"] == ["bilan ajouté", "1 sortie à six mois enregistrée"]
    assert corrected["changes"] == ["1 sortie à six mois enregistrée"]
    assert code not in str(history), "the log names no beneficiary"
    page = _page_as(world, world.tokens[B], f"/marches/{ref}")
    assert "Modification : bilan ajouté ; 1 sortie à six mois enregistrée" in page


# --- races ----------------------------------------------------------------------------------

RACERS = 6


def _buyer_tokens(world, store) -> dict[str, str]:
    """A token for each of the two buyers."""
    with store.session() as session:
        other = tokens.create(session, role=Role.buyer, org=world.other.buyer.siret,
                              expires_at=None, now=product_clock.now())[0]  # fmt: skip
        session.commit()
    return {"own": world.tokens[B], "other": other}


def _race(url: str, requests: list[tuple[str, str, dict]]) -> list[httpx.Response]:
    """Every request sent at once (a barrier), each on its own connection."""
    barrier = threading.Barrier(len(requests))

    def send(request):
        method, path, kwargs = request
        with httpx.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            return client.request(method, path, **kwargs)

    with ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(send, requests))


def test_two_buyers_racing_for_one_new_ref_make_one_market_with_one_owner(world, store):
    issued = _buyer_tokens(world, store)
    ref = "MKT-2027-COURSE"
    bodies = {side: new_market(world, ref=ref, title=f"Voirie {side}") for side in issued}
    requests = [
        ("POST", "/api/markets", {"json": bodies[side],
                                  "headers": {"Authorization": f"Bearer {issued[side]}"}})
        for side in ("own", "other") * (RACERS // 2)
    ]  # fmt: skip
    with serving(create_app(store.engine, get_settings())) as url:
        answers = _race(url, requests)
    by_side: dict[str, Counter] = {"own": Counter(), "other": Counter()}
    for (_, _, kwargs), answer in zip(requests, answers, strict=True):
        side = "own" if kwargs["headers"]["Authorization"].endswith(issued["own"]) else "other"
        by_side[side][answer.status_code] += 1
    assert refs_named(store, ref) == 1
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        log = session.exec(
            select(TransitionLog.trigger).where(TransitionLog.market_id == market.id)
        ).all()
    owner = "own" if market.buyer_id == world.own.buyer.id else "other"
    loser = "other" if owner == "own" else "own"
    # the owner's requests all succeed (one creates, the others find it unchanged), the other
    # buyer's are told the ref does not exist; no request fails
    assert by_side[owner] == Counter({201: RACERS // 2}), by_side
    assert by_side[loser] == Counter({404: RACERS // 2}), by_side
    assert market.title == f"Voirie {owner}" and market.version == 1
    assert log == ["load"]


def test_racing_edits_of_one_market_each_apply_whole_or_are_told_of_the_conflict(world, store):
    assert world.call(B, "POST", "/api/markets", json=new_market(world)).status_code == 201
    auth = {"Authorization": f"Bearer {world.tokens[B]}"}
    requests = []
    for number in range(RACERS):
        row = new_market(world, title=f"Voirie {number}")
        row["lots"].append({"number": 2, "title": f"Trottoirs {number}", "amount": 1000})
        requests.append(("POST", "/api/markets", {"json": row, "headers": auth}))
    with serving(create_app(store.engine, get_settings())) as url:
        answers = _race(url, requests)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers if a.status_code >= 500]
    for answer in answers:
        if answer.status_code == 409:
            assert "modifié par quelqu'un d'autre" in answer.json()["error"]["message"]
    status = world.call(B, "GET", "/api/markets/MKT-2027-NEUF").json()
    edits = [entry for entry in status["history"] if entry["trigger"] == "edit"]
    assert status["version"] == 1 + len(edits) == 1 + statuses[201]
    # the market holds the last applied edit whole: its title and its lot 2 go together
    number = status["title"].removeprefix("Voirie ")
    assert [lot["title"] for lot in status["lots"]] == ["Chaussée", f"Trottoirs {number}"]


def test_racing_loads_of_one_new_file_make_each_record_once(world, store):
    """``POST /api/load``: an operator's script retried, or run twice at once."""
    buyer, contractor = make.siret(9_000_001), make.siret(9_000_002)
    body = {
        "buyers": [{"siret": buyer, "name": "Commune de Cherbourg", "email": "achats@cherbourg.example"}],
        "contractors": [{"siret": contractor, "name": "Bâtiments du Cotentin", "email": "contact@bc.example"}],
        "markets": [new_market(world, ref="MKT-2027-LOT", buyer=buyer)],
    }  # fmt: skip
    auth = {"Authorization": f"Bearer {world.tokens[A]}"}
    with serving(create_app(store.engine, get_settings())) as url:
        answers = _race(url, [("POST", "/api/load", {"json": body, "headers": auth})] * RACERS)
    assert [answer.status_code for answer in answers] == [201] * RACERS, [
        answer.text for answer in answers if answer.status_code != 201
    ]
    created = Counter()
    for answer in answers:
        for kind, counts in answer.json()["counts"].items():
            created[kind] += counts.get("created", 0)
    assert created == {"buyers": 1, "contractors": 1, "markets": 1, "lots": 1}
    assert refs_named(store, "MKT-2027-LOT") == 1
