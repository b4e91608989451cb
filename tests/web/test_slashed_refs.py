"""A buyer numbers its markets as it always has (« 2026/015 ») and its conventions too
(« CONV/2026/7 »): the pages and the API open them, act on them and link to them like any other,
and the pages beneath a reference (its offer, its edit form) stay those pages."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from clausier.api import declarations, directory, markets
from clausier.auth.models import Role
from clausier.http.refs import PAGE_WORDS, RefConvertor
from clausier.markets.models import Market
from clausier.web.routes import FAMILIES
from tests import factories as make
from tests.web.test_page_matrix import Browsers

A, B, F = Role.admin, Role.buyer, Role.facilitator
MARKET, CONVENTION = "2026/015", "CONV/2026/7"
API = (markets, declarations, directory)


@pytest.fixture
def slashed(world, store):
    with store.session() as session:
        own = world.own
        make.market(session, buyer=own.buyer, ref=MARKET, in_commune=make.CHERBOURG)
        make.convention(
            session, buyer=own.buyer, structure=own.structure, ref=CONVENTION,
            covering=(make.VALOGNES,), renewal="explicit",
        )  # fmt: skip
        session.commit()
    return world


def _state(store) -> str:
    with store.session() as session:
        return session.exec(select(Market.state).where(Market.ref == MARKET)).one()


def test_a_market_numbered_with_slashes_opens_and_acts_on_the_pages(slashed, store):
    browsers = Browsers(slashed)
    listed = browsers.call(B, "GET", "/marches").text
    assert f'href="/marches/{MARKET}"' in listed
    page = browsers.call(B, "GET", f"/marches/{MARKET}")
    assert page.status_code == 200 and "Réhabilitation du collège" in page.text
    edit = browsers.call(B, "GET", f"/marches/{MARKET}/modifier")
    assert edit.status_code == 200 and 'name="title"' in edit.text

    version = re.search(
        r'name="version" value="(\d+)"', browsers.call(F, "GET", f"/marches/{MARKET}").text
    )
    fired = browsers.call(F, "POST", f"/marches/{MARKET}/declencher/prepare_offer",
                          data={"version": version.group(1)})  # fmt: skip
    assert fired.status_code == 303, fired.text
    assert fired.headers["location"].startswith(f"/marches/{MARKET}?fait=prepare_offer")
    assert _state(store) == "insertion_offer"
    offer = browsers.call(F, "GET", f"/marches/{MARKET}/offre")
    assert offer.status_code == 200 and "Offre d'insertion" in offer.text


def test_a_market_numbered_with_slashes_answers_on_the_api(slashed, store):
    for address in (f"/api/markets/{MARKET}", "/api/markets/2026%2F015"):
        answer = slashed.call(B, "GET", address)
        assert answer.status_code == 200, (address, answer.text)
        assert answer.json()["ref"] == MARKET
    moved = slashed.call(F, "POST", f"/api/markets/{MARKET}/transitions/prepare_offer", json={})
    assert moved.status_code == 200, moved.text
    assert _state(store) == "insertion_offer"


def test_a_convention_numbered_with_slashes_opens_and_is_renewed(slashed):
    browsers = Browsers(slashed)
    listed = browsers.call(B, "GET", "/conventions").text
    assert f'href="/conventions/{CONVENTION}"' in listed
    page = browsers.call(B, "GET", f"/conventions/{CONVENTION}")
    assert page.status_code == 200 and CONVENTION in page.text
    assert f'action="/conventions/{CONVENTION}/renouveler"' in page.text
    renewals = re.search(r'name="renouvellements" value="(\d+)"', page.text).group(1)
    renewed = browsers.call(B, "POST", f"/conventions/{CONVENTION}/renouveler",
                            data={"renouvellements": renewals})  # fmt: skip
    assert renewed.status_code == 303, renewed.text
    assert renewed.headers["location"].startswith(f"/conventions/{CONVENTION}?fait=")
    assert "31/12/2027" in browsers.call(B, "GET", f"/conventions/{CONVENTION}").text


def test_every_reference_in_an_address_takes_slashes():
    """A route written ``{ref}`` would stop at the first slash: each says ``{ref:ref}``."""
    routers = [family.router for family in FAMILIES] + [api.router for api in API]
    plain = [route.path for router in routers for route in router.routes if "{ref}" in route.path]
    assert plain == []


@pytest.mark.parametrize("word", PAGE_WORDS)
def test_a_page_beneath_a_reference_is_never_read_as_part_of_it(word):
    pattern = re.compile(rf"/marches/(?P<ref>{RefConvertor.regex})$")
    assert pattern.match(f"/marches/2026/015/{word}") is None
    assert pattern.match(f"/marches/2026/015/{word}x")["ref"] == f"2026/015/{word}x"
