"""A deactivated buyer's, structure's or contractor's token is refused by the API at once (the
next call), kept status lookups included, and works again once the organisation is reactivated
(issue 16)."""

from __future__ import annotations

from datetime import date

from sqlmodel import select

from clausier import clock as product_clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.markets.models import Market
from clausier.partners import service as directory
from clausier.partners.models import Buyer, Contractor
from tests import factories as make


def _free_world(world, store):
    """A buyer whose only market is closed, a structure and a contractor with nothing running,
    each with its token."""
    with store.session() as session:
        buyer = make.buyer(session, "Commune de Tourlaville")
        market = make.market(session, buyer=buyer, state="closed", lots=1,
                             execution_starts_on=date(2025, 1, 1),
                             execution_ends_on=date(2025, 12, 31))  # fmt: skip
        structure = make.structure(session, "mde-libre", facilitators=1)
        contractor = make.contractor(session, "Entreprise Libre")
        issued = {
            role: tokens.create(session, role=role, org=org, expires_at=None,
                                now=product_clock.now())[0]
            for role, org in ((Role.buyer, buyer.siret), (Role.facilitator, structure.ref),
                              (Role.contractor, contractor.siret))
        }  # fmt: skip
        session.commit()
        return buyer.id, market.ref, structure.id, contractor.id, issued


def _get(world, secret: str, url: str):
    return world.client.get(url, headers={"Authorization": f"Bearer {secret}"})


def test_a_deactivated_buyers_token_is_refused_at_once_then_works_again(world, store, clock):
    buyer_id, market_ref, _s, _c, issued = _free_world(world, store)
    secret = issued[Role.buyer]
    for _ in range(2):  # the second lookup is the kept one
        assert _get(world, secret, f"/api/markets/{market_ref}").status_code == 200
    assert _get(world, secret, "/api/markets").status_code == 200
    with store.session() as session:
        directory.deactivate_buyer(session, buyer_id, now=product_clock.now())
        session.commit()
    for url in (f"/api/markets/{market_ref}", "/api/markets"):
        refused = _get(world, secret, url)
        assert refused.status_code == 401, (url, refused.text)
        assert "Jeton inconnu, expiré ou révoqué" in refused.text
    with store.session() as session:
        directory.reactivate_org(session, "buyer", buyer_id)
        session.commit()
    assert _get(world, secret, f"/api/markets/{market_ref}").status_code == 200


def test_a_deactivated_structures_and_contractors_tokens_are_refused(world, store, clock):
    _b, _m, structure_id, contractor_id, issued = _free_world(world, store)
    assert _get(world, issued[Role.facilitator], "/api/tasks").status_code == 200
    assert _get(world, issued[Role.contractor], "/api/markets").status_code == 200
    with store.session() as session:
        directory.deactivate_structure(session, structure_id, now=product_clock.now())
        directory.deactivate_contractor(session, contractor_id, now=product_clock.now())
        session.commit()
    assert _get(world, issued[Role.facilitator], "/api/tasks").status_code == 401
    assert _get(world, issued[Role.contractor], "/api/markets").status_code == 401
    # the others' tokens are untouched
    assert world.call(Role.buyer, "GET", "/api/markets").status_code == 200


def test_the_directory_listings_say_who_is_deactivated(world, store, clock):
    buyer_id, _m, structure_id, contractor_id, _issued = _free_world(world, store)
    with store.session() as session:
        directory.deactivate_buyer(session, buyer_id, now=product_clock.now())
        directory.deactivate_structure(session, structure_id, now=product_clock.now())
        directory.deactivate_contractor(session, contractor_id, now=product_clock.now())
        session.commit()
    listed = {}
    for url, key in (("/api/buyers", "name"), ("/api/structures", "ref"),
                     ("/api/contractors", "name")):  # fmt: skip
        answer = world.call(Role.admin, "GET", url, params={"limit": 100})
        assert answer.status_code == 200, answer.text
        listed |= {item[key]: item["active"] for item in answer.json()["items"]}
    assert listed["Commune de Tourlaville"] is False
    assert listed["mde-libre"] is False
    assert listed["Entreprise Libre"] is False
    assert listed[world.own.buyer.name] is True and listed[world.own.structure.ref] is True
    assert listed[world.own.contractor.name] is True


def test_no_market_is_posted_for_a_deactivated_buyer_nor_a_lot_for_a_deactivated_contractor(
    world, store, clock
):
    buyer_id, _m, _s, contractor_id, _issued = _free_world(world, store)
    with store.session() as session:
        directory.deactivate_buyer(session, buyer_id, now=product_clock.now())
        directory.deactivate_contractor(session, contractor_id, now=product_clock.now())
        session.commit()
        buyer, contractor = session.get(Buyer, buyer_id), session.get(Contractor, contractor_id)
    row = {
        "ref": "MKT-FERME", "buyer": buyer.siret, "title": "Voirie", "commune": make.CHERBOURG,
        "cpv": "45233140", "amount": 100000,
        "lots": [{"number": 1, "title": "Chaussée", "amount": 100000,
                  "contractor": contractor.siret}],
    }  # fmt: skip
    for url, body in (("/api/markets", row), ("/api/load", {"markets": [row]})):
        answer = world.call(Role.admin, "POST", url, json=body)
        assert answer.status_code == 422, answer.text
        problems = {p["field"]: p["message"] for p in answer.json()["error"]["problems"]}
        assert (
            problems["markets[MKT-FERME].buyer"].startswith(
                "l'acheteur « Commune de Tourlaville » (SIRET "
            )
            and "est désactivé" in problems["markets[MKT-FERME].buyer"]
        )
        assert "« Entreprise Libre »" in problems["markets[MKT-FERME].lots[1].contractor"]
    with store.session() as session:
        assert session.exec(select(Market).where(Market.ref == "MKT-FERME")).first() is None
