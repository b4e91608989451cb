# ruff: noqa: F811  (the API tests' ``world`` fixture, imported, is every test's argument)
"""Issue 16: one rule per field kind, whatever the way in (docs/input-rules.md). The same bad
values sent through a load row, an API body, a CSV upload and a page's form are each refused,
nothing written, in the same rule's French words (only how the field is named differs)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from clausier.auth.models import Role
from clausier.declarations.models import DeclarationLine
from clausier.errors import InvalidInput
from clausier.markets.models import Lot, Market
from clausier.offers import service as offers
from clausier.partnerships.models import Convention
from clausier.validation.identifiers import siret_problem
from clausier.validation.numbers import (
    HOURLY_COST,
    INSERTION_RATE,
    LABOUR_SHARE,
    LOT_HOURS,
    MONTH_HOURS,
)
from tests import factories as make
from tests.api.conftest import world  # noqa: F401  (two organisations, a token per role)
from tests.api.test_hostile_input import market_sample, sign_in
from workflow.payloads import Award


def said(answer) -> str:
    """Everything an answer says: a JSON error with its problems, or a page's text."""
    if answer.headers.get("content-type", "").startswith("application/json"):
        return json.dumps(answer.json(), ensure_ascii=False)
    return unescape(answer.text)


def count(store, model, *where) -> int:
    with store.session() as session:
        return session.exec(select(func.count()).select_from(model).where(*where)).one()


def web_client(world, role: Role) -> tuple[TestClient, str]:
    client = TestClient(world.client.app, raise_server_exceptions=False)
    client.__enter__()
    return client, sign_in(client, world.tokens[role])


# --- a month's hours: MONTH_HOURS ---------------------------------------------------------

MONTH_BAD = ["0", "-1", "1e9", "12,345"]


@pytest.mark.parametrize("typed", MONTH_BAD)
def test_a_months_hours_are_refused_alike_by_the_load_the_api_the_csv_and_the_form(
    world, store, typed
):
    own = world.own
    words = MONTH_HOURS.problem(Decimal(typed.replace(",", ".")))
    assert words
    number = float(typed.replace(",", "."))
    before = count(store, DeclarationLine)
    line = {"beneficiary": own.beneficiary, "modality": "direct_hire", "hours": number}
    answers = {
        "load": world.call(Role.admin, "POST", "/api/load", json={"declarations": [
            {"market": own.market.ref, "lot": 1, "period": "2026-10", "lines": [line]}]}),
        "api": world.call(Role.contractor, "PUT",
                          f"/api/lots/{own.lot.id}/declarations/2026-10", json={"lines": [line]}),
        "csv": world.call(
            Role.contractor, "POST", f"/api/lots/{own.lot.id}/declarations.csv?period=2026-10",
            content=f"beneficiaire;modalite;heures\n{own.beneficiary};direct_hire;{typed}\n".encode(),
            headers={"Content-Type": "text/csv"},
        ),
    }  # fmt: skip
    client, csrf = web_client(world, Role.contractor)
    with client:
        answers["form"] = client.post(
            f"/lots/{own.lot.id}/declarations/2026-10",
            data={"csrf": csrf, "beneficiary-1": own.beneficiary, "modality-1": "direct_hire",
                  "hours-1": typed, "contract_type-1": "cdi", "action": "enregistrer"},
        )  # fmt: skip
    for way, answer in answers.items():
        assert answer.status_code == 422, (way, answer.text[:400])
        assert words in said(answer), (way, words, said(answer)[:600])
    assert count(store, DeclarationLine) == before


# --- a convention's figures, dates and territories ---------------------------------------


def _convention_row(world, **changes) -> dict:
    return {
        "ref": "CONV-2027-900", "buyer": world.own.buyer.siret, "structure": world.own.structure.ref,
        "starts_on": "2027-01-01", "ends_on": "2027-12-31", "renewal": "tacit",
        "territories": [make.COTENTIN_EPCI], "services": ["advise"],
    } | changes  # fmt: skip


def _convention_form(world, csrf: str, **changes) -> dict:
    return {
        "csrf": csrf, "ref": "CONV-2027-900", "acheteur": world.own.buyer.siret,
        "structure": world.own.structure.ref, "debut": "2027-01-01", "fin": "2027-12-31",
        "renouvellement": "tacit", "territoire": make.COTENTIN_EPCI, "service": "advise",
    } | changes  # fmt: skip


CONVENTION_CASES = [
    # (load row's fields, form's fields, the rule's words)
    ({"insertion_rate": 1.5}, {"taux": "150"}, INSERTION_RATE.problem(Decimal("1.5"))),
    ({"insertion_rate": 0.07125}, {"taux": "7,125"}, INSERTION_RATE.problem(Decimal("0.07125"))),
    ({"insertion_rate": 0}, {"taux": "0"}, INSERTION_RATE.problem(Decimal(0))),
    ({"hourly_cost": 0}, {"cout": "0"}, HOURLY_COST.problem(Decimal(0))),
    ({"hourly_cost": 900}, {"cout": "900"}, HOURLY_COST.problem(Decimal(900))),
    ({"hourly_cost": 32.505}, {"cout": "32,505"}, HOURLY_COST.problem(Decimal("32.505"))),
    ({"starts_on": "1999-01-01"}, {"debut": "1999-01-01"}, "attendu : une date entre 2000 et 2099"),
    ({"ends_on": "2026-06-30"}, {"fin": "2026-06-30"}, "la fin de la convention précède son début"),
    ({"territories": ["99999"]}, {"territoire": "99999"},
     "« 99999 » n'est ni une commune, ni un EPCI, ni un département connu du code officiel "
     "géographique"),
]  # fmt: skip


@pytest.mark.parametrize(("row", "form", "words"), CONVENTION_CASES)
def test_a_conventions_fields_are_refused_alike_by_the_load_and_the_page(
    world, store, row, form, words
):
    assert words
    before = count(store, Convention)
    load = world.call(
        Role.admin, "POST", "/api/load", json={"conventions": [_convention_row(world, **row)]}
    )
    client, csrf = web_client(world, Role.buyer)
    with client:
        page = client.post("/conventions/nouvelle", data=_convention_form(world, csrf, **form))
    for way, answer in (("load", load), ("form", page)):
        assert answer.status_code == 422, (way, answer.text[:400])
        assert words in said(answer), (way, words, said(answer)[:800])
    assert count(store, Convention) == before


# --- a market's commune, SIRET, amount and lot's hours -------------------------------------


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"commune": "99999"}, "commune inconnue « 99999 »"),
        ({"cpv": "4526"}, "code CPV « 4526 » invalide"),
        ({"amount": -1}, "attendu : une valeur supérieure ou égale à 0"),
        ({"execution_ends_on": "2027-01-01"}, "précède"),
    ],
)
def test_a_markets_fields_are_refused_alike_by_the_api_and_the_page(world, store, changes, words):
    before = count(store, Market)
    body = market_sample(world) | changes
    answer = world.call(Role.buyer, "POST", "/api/markets", json=body)
    client, csrf = web_client(world, Role.buyer)
    form = {"csrf": csrf, "ref": body["ref"], "title": body["title"], "commune": body["commune"],
            "cpv": body["cpv"], "amount": str(body["amount"]).replace(".", ","),
            "consultation_on": body["consultation_on"], "award_on": body["award_on"],
            "execution_starts_on": body["execution_starts_on"],
            "execution_ends_on": body["execution_ends_on"],
            "lot_1_number": "1", "lot_1_title": "Couverture", "lot_1_amount": "300000"}  # fmt: skip
    with client:
        page = client.post("/marches/nouveau", data=form)
    for way, response in (("api", answer), ("form", page)):
        assert response.status_code == 422, (way, response.text[:400])
        assert words in said(response), (way, words, said(response)[:800])
    assert count(store, Market) == before


BAD_SIRET = "41234567000018"  # a wrong Luhn key


def test_a_siret_with_a_wrong_key_is_refused_alike_everywhere(world, store):
    words = siret_problem(BAD_SIRET)
    assert words and "Luhn" in words
    load = world.call(Role.admin, "POST", "/api/load", json={"buyers": [
        {"siret": BAD_SIRET, "name": "Acheteur faux", "email": "achats@faux.example"}]})  # fmt: skip
    api = world.call(
        Role.admin, "POST", "/api/markets", json=market_sample(world) | {"buyer": BAD_SIRET}
    )
    for way, answer in (("load", load), ("api", api)):
        assert answer.status_code == 422, (way, answer.text[:400])
        assert words in said(answer), way
    with pytest.raises(ValueError, match="algorithme de Luhn"):
        Award.model_validate({"contractors": {"1": BAD_SIRET}})
    assert count(store, Market, Market.ref == "MKT-2027-NEUF") == 0


@pytest.mark.parametrize("hours", [-1, 1_000_000_000])
def test_a_lots_hours_are_refused_alike_by_the_api_the_offer_page_and_the_cli(world, store, hours):
    words = LOT_HOURS.problem(Decimal(hours))
    assert words
    body = market_sample(world)
    body["lots"][0]["hours"] = hours
    api = world.call(Role.buyer, "POST", "/api/markets", json=body)
    assert api.status_code == 422 and words in said(api), said(api)[:600]
    ref, version = _offer_market(world, store)
    client, csrf = web_client(world, Role.facilitator)
    with client:
        page = client.post(f"/marches/{ref}/offre", data={
            "csrf": csrf, "version": str(version), "action": "enregistrer",
            "modalites-1": "direct_hire", "modalites-2": "direct_hire",
            "heures-1": str(hours), "motif-1": "chantier court",
        })  # fmt: skip
    assert page.status_code == 422 and words in said(page), said(page)[:800]
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        with pytest.raises(InvalidInput, match=re.escape(words)):  # ``clausier offer --hours``
            offers.prepare(session, market, settings=_offer_settings(), actor="test",
                           lot_number=1, hours=hours, reason="chantier court")  # fmt: skip
        session.rollback()
    assert _offer_untouched(store, ref, version)


OFFER_FIELDS = [
    ("taux-1", "150", INSERTION_RATE),
    ("taux-1", "7,125", INSERTION_RATE),
    ("part-1", "150", LABOUR_SHARE),
    ("part-1", "0", LABOUR_SHARE),
    ("cout-1", "900", HOURLY_COST),
    ("cout-1", "0", HOURLY_COST),
]


@pytest.mark.parametrize(("field", "typed", "rule"), OFFER_FIELDS)
def test_the_offer_pages_figures_follow_the_load_files_rules(world, store, field, typed, rule):
    scale = 100 if rule.percent else 1
    words = rule.problem(Decimal(typed.replace(",", ".")), scale=scale)
    assert words
    ref, version = _offer_market(world, store)
    client, csrf = web_client(world, Role.facilitator)
    with client:
        page = client.post(f"/marches/{ref}/offre", data={
            "csrf": csrf, "version": str(version), "action": "enregistrer",
            "modalites-1": "direct_hire", "modalites-2": "direct_hire", field: typed,
        })  # fmt: skip
    assert page.status_code == 422 and words in said(page), said(page)[:800]
    assert _offer_untouched(store, ref, version)
    # the same figure in a load file (a buyer's or a convention's) gets the same words
    if rule is not LABOUR_SHARE:
        key = "insertion_rate" if rule is INSERTION_RATE else "hourly_cost"
        value = float(Decimal(typed.replace(",", ".")) / scale)
        load = world.call(Role.admin, "POST", "/api/load", json={
            "conventions": [_convention_row(world, **{key: value})]})  # fmt: skip
        assert load.status_code == 422 and words in said(load), said(load)[:600]


def _offer_settings():
    from clausier.config import get_settings

    return get_settings().offer


def _offer_market(world, store) -> tuple[str, int]:
    """A market of the first buyer whose offer the first structure prepares."""
    with store.session() as session:
        buyer = session.merge(world.own.buyer)
        market = make.market(
            session, buyer=buyer, in_commune=make.CHERBOURG, state="insertion_offer",
            hours=None, clause_text=None,
        )  # fmt: skip
        session.commit()
        return market.ref, market.version


def _offer_untouched(store, ref: str, version: int) -> bool:
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        return market.version == version and all(lot.offer is None for lot in lots)
