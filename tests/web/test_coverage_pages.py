"""Coverage, for those it concerns: a buyer settles an ambiguous market side by side, a facilitator
reads its structure's territory, « à arbitrer » is never « non couvert », the map frames the
territory concerned; and two settlements sent at once."""

from __future__ import annotations

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.errors import AssignmentRefused, VersionConflict
from clausier.markets.models import Market, TransitionLog
from clausier.partners.models import Structure
from clausier.partnerships import assignment
from clausier.web import auth
from clausier.web.models import WebSession
from clausier.web.routes.coverage import BOUNDS, coloured_map, view_box
from tests import factories as make
from tests.serving import PATIENT, serving
from tests.web.conftest import screenshot

ORNE = "Maison de l'emploi et de la formation de l'Orne"
PLIE = "PLIE de l'agglomération caennaise"
WHOLE_MAP = "0 0 613 585"


def sign_in(page, site, role) -> None:
    page.goto(site["url"] + "/")
    page.get_by_label("Jeton", exact=True).fill(site["tokens"][role])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_load_state()
    page.goto(site["url"] + "/couverture")  # its menu names it: the link is checked there
    expect(page.get_by_role("link", name="Couverture", exact=True)).to_be_visible()


def market_line(page, ref: str):
    return page.locator(".markets li").filter(has_text=ref)


def framed(page) -> tuple[float, float, float, float]:
    return tuple(float(n) for n in page.locator(".map svg").get_attribute("viewBox").split())


def test_a_buyer_settles_an_ambiguous_market_side_by_side(page, site):
    sign_in(page, site, Role.buyer)
    expect(page.get_by_role("heading", name="Marchés à arbitrer")).to_be_visible()
    line = market_line(page, "MKT-2027-003")
    assert line.inner_text().startswith("À arbitrer : Alençon (61001)")
    assert page.get_by_text("Non couvert : Alençon").count() == 0, "ambiguous is not uncovered"
    left, top, width, height = framed(page)  # the Région's départements: Manche, Calvados, Orne
    assert (width, height) < (613, 585)
    for code in ("50", "14", "61"):
        x0, y0, x1, y1 = BOUNDS[code]
        assert left <= x0 and x1 <= left + width and top <= y0 and y1 <= top + height, code
    assert (
        page.get_by_text("CC de Granville, Terre et Mer : aucune convention sur ses").count() == 1
    )
    page.get_by_role("link", name="Choisir la structure de MKT-2027-003").first.click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Choisir la structure qui suit le marché MKT-2027-003"
    )
    orne, plie = (page.locator("section.candidate").filter(has=page.get_by_role("heading", name=n))
                  for n in (ORNE, PLIE))  # fmt: skip
    assert "Convention CONV-2026-003" in orne.inner_text()
    assert "Convention CONV-2026-002" in plie.inner_text()
    assert "la commune Alençon (61001)" in plie.inner_text()
    assert "la commune Alençon (61001), et par le département Orne (61)" in orne.inner_text()
    assert orne.bounding_box()["y"] == plie.bounding_box()["y"], "side by side"
    screenshot(page, "arbitrage")
    page.get_by_role("button", name=f"Choisir {ORNE}").click()

    expect(page.get_by_role("status")).to_have_text(
        f"Choix enregistré : {ORNE} suit désormais le marché MKT-2027-003."
    )
    assert "structure choisie" in orne.inner_text()
    page.get_by_role("link", name="Couverture", exact=True).first.click()
    assert market_line(page, "MKT-2027-003").inner_text().startswith("Couvert : Alençon (61001)")
    assert (
        f"suivi par {ORNE}, au choix de l'acheteur"
        in market_line(page, "MKT-2027-003").inner_text()
    )
    assert page.get_by_role("heading", name="Marchés à arbitrer").count() == 0
    page.goto(site["url"] + "/marches/MKT-2027-003")
    assert page.get_by_text(f"Structure : {ORNE}").is_visible()


def test_the_coverage_and_settling_pages_fit_a_phone(page, site):
    sign_in(page, site, Role.buyer)
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/marches/MKT-2027-003/arbitrage", "/couverture"):
        page.goto(site["url"] + path)
        assert page.evaluate("document.querySelector('main').scrollWidth") <= 390, path


def test_a_facilitator_reads_its_structures_territory_and_the_markets_in_it(page, site):
    sign_in(page, site, Role.facilitator)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Territoire de Maison de l'emploi et de la formation du Cotentin"
    )
    conventions = page.locator("table").filter(has_text="Conventions, acheteurs et territoires")
    for ref, buyer in (("CONV-2026-001", "Région Normandie"),
                       ("CONV-2026-004", "Conseil départemental de la Manche")):  # fmt: skip
        assert buyer in conventions.locator("tr").filter(has_text=ref).inner_text()
    expect(page.get_by_role("heading", name="CA du Cotentin")).to_be_visible()
    cherbourg = market_line(page, "MKT-2027-001").inner_text()
    assert cherbourg.startswith("Couvert : Cherbourg-en-Cotentin (50129)")
    assert "suivi par votre structure" in cherbourg
    assert page.get_by_role("heading", name="Hors de votre territoire").count() >= 1
    assert page.get_by_text("CA Saint-Lô Agglo").count() == 1  # named, out of its territory
    assert page.get_by_role("link", name=re.compile("Choisir la structure")).count() == 0
    assert framed(page) != tuple(float(n) for n in WHOLE_MAP.split())
    screenshot(page, "couverture-facilitateur")
    answer = page.goto(site["url"] + "/marches/MKT-2027-003/arbitrage")
    assert answer.status == 403  # the buyer's choice


def test_the_map_is_framed_on_the_departements_concerned():
    left, top, width, height = (float(n) for n in view_box({"50"}).split())
    x0, y0, x1, y1 = BOUNDS["50"]
    assert left < x0 and x1 < left + width and top < y0 and y1 < top + height
    assert width < 613 / 4, "the Manche, not France"
    assert view_box(set()) is None and view_box({"974"}) is None  # overseas: not on the map
    svg = coloured_map({"50": "partial"}, {"50"})
    assert f'viewBox="{view_box({"50"})}"' in svg and 'id="50" class="partial"' in svg
    assert "style=" not in svg  # CSP: no inline style
    assert WHOLE_MAP in coloured_map({})


# --- settling over HTTP: bad input, a stale version, two at once --------------------------------


@pytest.fixture
def ambiguous(store, clock):
    """A market two structures cover at the same level (the CA du Cotentin), and a buyer's token."""
    with store.session() as session:
        buyer = make.buyer(session)
        for ref in ("mde-arbitrage", "plie-arbitrage"):
            make.convention(session, buyer=buyer, structure=make.structure(session, ref))
        market = make.market(session, buyer=buyer, ref="MKT-2027-ARB")
        token = tokens.create(session, role=Role.buyer, org=buyer.siret, expires_at=None,
                              now=product_clock.now())[0]  # fmt: skip
        session.commit()
        assert market.coverage_flag == "ambiguous"
    with serving(create_app(store.engine, get_settings())) as url:
        yield {"url": url, "store": store, "token": token, "ref": market.ref}


def web_session(ambiguous) -> tuple[dict, str]:
    """A buyer's web session (its cookie, its form token), opened as signing in does."""
    with ambiguous["store"].session() as session:
        now = product_clock.now()
        principal = tokens.authenticate(session, ambiguous["token"], now=now)
        secret = auth.open_session(session, principal, now=now)
        csrf = session.exec(
            select(WebSession.csrf).where(WebSession.secret_hash == tokens.digest(secret))
        ).one()
        session.commit()
    return {"Cookie": f"{auth.COOKIE}={secret}"}, csrf


def market_row(ambiguous) -> Market:
    with ambiguous["store"].session() as session:
        return session.exec(select(Market).where(Market.ref == ambiguous["ref"])).one()


def edits(ambiguous) -> int:
    with ambiguous["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == ambiguous["ref"])).one()
        return len(session.exec(select(TransitionLog).where(
            TransitionLog.market_id == market.id, TransitionLog.trigger == "edit")).all())  # fmt: skip


def post(client: httpx.Client, ambiguous, headers, data) -> httpx.Response:
    return client.post(f"/marches/{ambiguous['ref']}/arbitrage", headers=headers, data=data)


def test_two_settlements_at_once_one_wins_the_other_is_told(ambiguous):
    version = market_row(ambiguous).version
    sessions = [web_session(ambiguous) for _ in range(2)]
    choices = ["mde-arbitrage", "plie-arbitrage"]
    start = threading.Barrier(2)

    def one(n: int) -> httpx.Response:
        headers, csrf = sessions[n]
        with httpx.Client(base_url=ambiguous["url"], timeout=60) as client:
            client.get("/api/health")  # connected before the start
            start.wait()
            return post(client, ambiguous, headers,
                        {"csrf": csrf, "version": str(version), "structure": choices[n]})  # fmt: skip

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(one, range(2)))
    assert sorted(a.status_code for a in answers) == [303, 409], [a.text[:300] for a in answers]
    winner = choices[[a.status_code for a in answers].index(303)]
    lost = html.unescape(next(a.text for a in answers if a.status_code == 409))
    assert "a changé pendant votre choix" in lost and "rien n'a été enregistré" in lost
    assert "Choix actuel" in lost, "the page shows the choice that won"
    market = market_row(ambiguous)
    with ambiguous["store"].session() as session:
        assert session.get(Structure, market.structure_id).ref == winner
    assert (market.version, market.assignment) == (version + 1, "explicit")
    assert edits(ambiguous) == 1


def test_a_settlement_without_a_structure_or_on_a_stale_version_writes_nothing(ambiguous):
    headers, csrf = web_session(ambiguous)
    version = market_row(ambiguous).version
    with httpx.Client(timeout=PATIENT, base_url=ambiguous["url"]) as client:
        missing = post(client, ambiguous, headers, {"csrf": csrf, "version": str(version)})
        assert missing.status_code == 422 and "Structure : choisissez" in missing.text
        unreadable = post(client, ambiguous, headers, {"csrf": csrf, "structure": "mde-arbitrage"})
        assert unreadable.status_code == 422 and "Version du marché" in unreadable.text
        superscript = post(client, ambiguous, headers,  # a digit to isdigit(), not to int()
                           {"csrf": csrf, "version": "²⁰²⁶", "structure": "mde-arbitrage"})  # fmt: skip
        assert superscript.status_code == 422 and "Version du marché" in superscript.text
        stranger = post(client, ambiguous, headers,
                        {"csrf": csrf, "version": str(version), "structure": "inconnue"})  # fmt: skip
        assert stranger.status_code == 422
        assert (market_row(ambiguous).version, edits(ambiguous)) == (version, 0)
        stale = post(client, ambiguous, headers,
                     {"csrf": csrf, "version": str(version - 1), "structure": "mde-arbitrage"})  # fmt: skip
        assert stale.status_code == 409 and "a changé pendant votre choix" in stale.text
        assert (market_row(ambiguous).version, edits(ambiguous)) == (version, 0)
        page = client.get(f"/marches/{ambiguous['ref']}/arbitrage", headers=headers)
        assert page.status_code == 200 and "À arbitrer" in page.text
        assert "non couvert" not in page.text.lower()


def test_only_a_structure_at_the_winning_level_settles_an_ambiguity(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        mde, plie, wide = (make.structure(session, ref) for ref in ("mde-n", "plie-n", "cd-n"))
        for structure in (mde, plie):
            make.convention(session, buyer=buyer, structure=structure)
        make.convention(session, buyer=buyer, structure=wide, covering=(make.MANCHE,))
        market = make.market(session, buyer=buyer)
        today = product_clock.today()
        with pytest.raises(AssignmentRefused, match="n'est pas l'une des structures"):
            assignment.settle(session, market, structure=wide, expected_version=market.version,
                              today=today, actor="achats")  # fmt: skip
        with pytest.raises(VersionConflict):
            assignment.settle(session, market, structure=plie, expected_version=market.version + 1,
                              today=today, actor="achats")  # fmt: skip
        before = market.version
        assignment.settle(session, market, structure=plie, expected_version=before, today=today,
                          actor="achats")  # fmt: skip
        assert (market.structure_id, market.version) == (plie.id, before + 1)
        assignment.assign_explicitly(session, market, structure=plie, today=today, actor="achats")
        assert market.version == before + 1, "choosing the same again changes nothing"
        alone = make.market(session, buyer=make.buyer(session, "Seul"), in_commune=make.CHERBOURG)
        with pytest.raises(AssignmentRefused, match="n'est pas à arbitrer"):
            assignment.settle(session, alone, structure=plie, expected_version=alone.version,
                              today=today, actor="achats")  # fmt: skip
