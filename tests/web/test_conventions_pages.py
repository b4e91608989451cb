"""Issue 16 item 5, in a real Chromium: a buyer signs a convention covering an uncovered
market's commune, picked by name (refused first for an unknown territory and an end before
its start: said in French, nothing written), sees it flagged to renew on its home page, renews
it, terminates it; the facilitator's home flags its structure's convention to renew. Then two
renewals and two creations sent at the same instant, on both stores: one wins."""

from __future__ import annotations

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import httpx
import pytest
from playwright.sync_api import expect
from sqlmodel import select

from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.partnerships.models import Convention, ConventionService, ConventionTerritory
from tests import factories as make
from tests.serving import PATIENT, serving
from tests.web.conftest import clock_now, screenshot

UNCOVERED = "MKT-2027-002"  # Saint-Lô, in no convention of the Région's


def sign_in(page, site, role: Role) -> None:
    page.goto(site["url"] + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(site["tokens"][role])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/(marches|taches)$"))


def conventions(site) -> list[str]:
    with site["store"].session() as session:
        return list(session.exec(select(Convention.ref).order_by(Convention.ref)).all())


def coverage_of(page, ref: str) -> str:
    """The coverage column (the last) of a market's row on the list of markets."""
    row = page.locator("tr", has=page.get_by_role("link", name=ref, exact=True))
    return row.locator("td").last.inner_text()


def test_a_buyer_signs_renews_and_terminates_a_convention(page, site):
    sign_in(page, site, Role.buyer)
    assert coverage_of(page, UNCOVERED) == "non couvert"
    assert page.locator("#a-renouveler").count() == 0, "the Région's conventions renew tacitly"
    page.get_by_role("link", name="Conventions", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conventions de partenariat")
    assert page.locator("#convention-CONV-2026-001").count() == 1
    assert page.locator("#convention-CONV-2026-005").count() == 0, "the Manche's, not the Région's"
    page.get_by_role("link", name="Nouvelle convention").click()
    before = conventions(site)

    assert page.get_by_label("Référence").input_value() == "CONV-2026-006"
    page.get_by_label("Structure partenaire").select_option(
        label="Maison de l'emploi et de la formation du Cotentin"
    )
    page.get_by_label("Territoire 1", exact=True).fill("Saint-Lôô")
    page.get_by_label("Début").fill("2026-01-01")
    page.get_by_label("Fin de la première période").fill("2026-12-31")
    page.get_by_label("Taux d'insertion (%)").fill("7")
    page.get_by_label("Coût horaire moyen (€ HT)").fill("32,50")
    page.get_by_role("button", name="Enregistrer la convention").click()
    summary = page.get_by_role("alert")
    assert "1 erreur : la convention n'est pas enregistrée" in summary.inner_text()
    assert (
        "Territoire 1 : « Saint-Lôô » n'est ni une commune, ni un EPCI, ni un département connu"
        in summary.inner_text()
    )
    assert page.get_by_label("Territoire 1", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Coût horaire moyen (€ HT)").input_value() == "32,50", "kept as typed"
    assert conventions(site) == before, "nothing written"
    screenshot(page, "convention-territoire-inconnu")

    # picked in the list by its label; the end is now before the start
    page.get_by_label("Territoire 1", exact=True).fill("Saint-Lô (commune 50502)")
    page.get_by_label("Fin de la première période").fill("2025-12-31")
    page.get_by_role("button", name="Enregistrer la convention").click()
    summary = page.get_by_role("alert")
    assert "Fin : la fin de la convention précède son début" in summary.inner_text()
    assert conventions(site) == before, "nothing written"
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "fin"

    page.get_by_label("Fin de la première période").fill("2026-12-31")
    page.get_by_label("Suivi", exact=True).uncheck()
    page.get_by_role("button", name="Enregistrer la convention").click()
    expect(page.get_by_role("status")).to_have_text("Convention enregistrée.")
    assert page.get_by_role("heading", level=1).inner_text() == "Convention CONV-2026-006"
    facts = page.locator(".facts").inner_text()
    assert "Saint-Lô (commune 50502)" in facts and "7,0\u202f%" in facts and "32,50 € HT" in facts
    assert "suivi" not in facts.split("Services")[1].split("Taux")[0]
    with site["store"].session() as session:
        new = session.exec(select(Convention).where(Convention.ref == "CONV-2026-006")).one()
        assert [
            (t.kind, t.code)
            for t in session.exec(
                select(ConventionTerritory).where(ConventionTerritory.convention_id == new.id)
            )
        ] == [("commune", "50502")]
        assert (
            len(
                session.exec(
                    select(ConventionService).where(ConventionService.convention_id == new.id)
                ).all()
            )
            == 7
        )
    screenshot(page, "convention-creee")

    # ending before the market's consultation (15/03/2027), it does not cover it yet; explicit
    # and ending in five weeks, it is to renew
    page.get_by_role("link", name="Marchés", exact=True).click()
    expect(page.locator("#a-renouveler")).to_be_visible()
    assert coverage_of(page, UNCOVERED) == "non couvert"
    notice = page.locator(".notice.renew").inner_text()
    assert "CONV-2026-006" in notice and "prend fin le 31/12/2026" in notice
    screenshot(page, "marches-conventions-a-renouveler")
    page.get_by_role("link", name="Couverture", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert "CONV-2026-006" in page.content()

    page.goto(site["url"] + "/marches")
    page.locator(".notice.renew").get_by_role("link", name="CONV-2026-006").click()
    page.get_by_role("button", name="Renouveler jusqu'au 31/12/2027").click()
    expect(page.get_by_role("status")).to_have_text("Convention renouvelée.")
    facts = page.locator(".facts").inner_text()
    assert "renouvelée 1 fois" in facts and "31/12/2027" in facts
    page.get_by_role("link", name="Marchés", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marchés")
    assert page.locator("#a-renouveler").count() == 0, "renewed: no longer to renew"
    assert coverage_of(page, UNCOVERED) == "couvert", "in force at the consultation now"

    page.goto(site["url"] + "/conventions/CONV-2026-006")
    page.get_by_label("Résilier à compter du").fill("2027-01-01")
    page.get_by_role("button", name="Résilier la convention").click()
    expect(page.get_by_role("status")).to_have_text("Convention résiliée.")
    assert "résiliée à compter du 01/01/2027" in page.locator(".facts").inner_text()
    assert page.get_by_role("button", name="Résilier la convention").count() == 0
    page.get_by_role("link", name="Marchés", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Marchés")
    assert coverage_of(page, UNCOVERED) == "non couvert", "no longer in force at the consultation"


def test_refusals_of_renewal_and_termination_are_said_on_the_page(page, site):
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/conventions/CONV-2026-001")
    assert page.get_by_role("button", name=re.compile("^Renouveler")).count() == 0, "tacit"
    page.get_by_label("Résilier à compter du").fill("2025-06-01")
    page.get_by_role("button", name="Résilier la convention").click()
    alert = page.get_by_role("alert")
    assert "Action refusée : rien n'a été modifié" in alert.inner_text()
    assert "précède le début de la convention CONV-2026-001" in alert.inner_text()
    with site["store"].session() as session:
        row = session.exec(select(Convention).where(Convention.ref == "CONV-2026-001")).one()
        assert row.terminated_on is None


def test_a_buyer_caps_a_tacit_convention_and_its_page_says_until_when(page, site):
    """Issue 17 item 7: a tacit convention renewed for three years at most; a cap on an
    explicit one is refused next to its field, nothing written."""
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/conventions/nouvelle")
    before = conventions(site)
    page.get_by_label("Structure partenaire").select_option(
        label="Maison de l'emploi et de la formation du Cotentin"
    )
    page.get_by_label("Territoire 1", exact=True).fill("Saint-Lô (commune 50502)")
    page.get_by_label("Début").fill("2026-01-01")
    page.get_by_label("Fin de la première période").fill("2026-12-31")
    page.get_by_label("Expresse", exact=True).check()
    page.get_by_label("Reconduction tacite : jusqu'au (facultatif)").fill("2028-12-31")
    page.get_by_role("button", name="Enregistrer la convention").click()
    summary = page.get_by_role("alert").inner_text()
    assert "Limite des reconductions : seule une reconduction tacite a une limite" in summary
    limit = page.get_by_label("Reconduction tacite : jusqu'au (facultatif)")
    assert limit.get_attribute("aria-invalid") == "true" and limit.input_value() == "2028-12-31"
    assert conventions(site) == before, "nothing written"

    page.get_by_label("Tacite", exact=True).check()
    page.get_by_role("button", name="Enregistrer la convention").click()
    expect(page.get_by_role("status")).to_have_text("Convention enregistrée.")
    facts = page.locator(".facts").inner_text()
    assert "tacite, dans la limite du 31/12/2028 : elle expire alors" in facts
    with site["store"].session() as session:
        row = session.exec(select(Convention).where(Convention.ref == "CONV-2026-006")).one()
        assert (row.renewal, row.renewal_until) == ("tacit", date(2028, 12, 31))
    page.goto(site["url"] + "/conventions")
    row = page.locator("#convention-CONV-2026-006").inner_text()
    assert "tacite, au plus tard jusqu'au 31/12/2028" in row


def test_the_facilitators_home_flags_its_structures_convention_to_renew(page, site):
    sign_in(page, site, Role.facilitator)
    notice = page.locator(".notice.renew")
    expect(notice).to_be_visible()
    assert "CONV-2026-005" in notice.inner_text(), (
        "the Manche's convention with the MEF du Cotentin"
    )
    notice.get_by_role("link", name="CONV-2026-005").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Convention CONV-2026-005")
    assert page.get_by_role("button", name=re.compile("^Renouveler")).count() == 0, (
        "the buyer's act"
    )
    page.goto(site["url"] + "/conventions/CONV-2026-002")  # the PLIE's: out of reach
    assert page.get_by_role("heading", level=1).inner_text() == "Introuvable"


def test_the_form_fits_a_phone(page, site):
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, site, Role.buyer)
    for path in ("/conventions/nouvelle", "/conventions", "/conventions/CONV-2026-001"):
        page.goto(site["url"] + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(site["url"] + "/conventions/nouvelle")
    page.get_by_label("Référence").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "structure"


# --- at the same instant, on both stores -------------------------------------------------------


@pytest.fixture
def served(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-course")
        convention = make.convention(
            session, buyer=buyer, structure=structure, renewal="explicit", ref="CONV-COURSE"
        )
        token = tokens.create(
            session, role=Role.buyer, org=buyer.siret, expires_at=None, now=clock_now()
        )[0]
        session.commit()
        ids = {"convention": convention.ref, "structure": structure.ref}
    with serving(create_app(store.engine, get_settings())) as url:
        yield url, token, store, ids


def _signed_in(url: str, token: str) -> tuple[dict, str]:
    with httpx.Client(timeout=PATIENT, base_url=url) as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/connexion").text)[1]
        client.post("/connexion/jeton", data={"token": token, "csrf": csrf})
        page = client.get("/conventions/nouvelle").text
        return dict(client.cookies), re.search(r'name="csrf" value="([^"]+)"', page)[1]


def _race(url: str, cookies: dict, send, racers: int = 2) -> list[httpx.Response]:
    start = threading.Barrier(racers)

    def one(_n):
        with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
            client.get("/api/health")  # connected before the start
            start.wait()
            return send(client)

    with ThreadPoolExecutor(racers) as pool:
        answers = list(pool.map(one, range(racers)))
    assert not [a.status_code for a in answers if a.status_code >= 500], [
        a.text[:300] for a in answers
    ]
    return answers


def test_two_renewals_at_once_grant_one_period(served):
    url, token, store, ids = served
    cookies, csrf = _signed_in(url, token)
    answers = _race(url, cookies, lambda client: client.post(
        f"/conventions/{ids['convention']}/renouveler", data={"csrf": csrf, "renouvellements": "0"}))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [303, 409]
    refused = next(a for a in answers if a.status_code == 409)
    said = html.unescape(refused.text)
    assert "vient d'être renouvelée par quelqu'un d'autre" in said and "31/12/2027" in said
    with store.session() as session:
        row = session.exec(select(Convention).where(Convention.ref == ids["convention"])).one()
        assert row.renewals == 1


def test_two_creations_of_one_reference_at_once_write_one(served):
    url, token, store, ids = served
    cookies, csrf = _signed_in(url, token)
    form = {"csrf": csrf, "ref": "CONV-NOUVELLE", "structure": ids["structure"], "debut": "2027-01-01",
            "fin": "2027-12-31", "renouvellement": "tacit", "territoire": "Saint-Lô (commune 50502)",
            "service": ["follow", "control"]}  # fmt: skip
    answers = _race(url, cookies, lambda client: client.post("/conventions/nouvelle", data=form))
    assert sorted(a.status_code for a in answers) == [303, 422]
    refused = next(a for a in answers if a.status_code == 422)
    said = html.unescape(refused.text)
    assert "la convention n'est pas enregistrée" in said
    # read after the winner's commit, or met by its insert (PostgreSQL, at the same instant)
    assert (
        "la référence CONV-NOUVELLE est déjà celle d'une convention" in said
        or "La référence CONV-NOUVELLE vient d'être donnée à une autre convention" in said
    )
    with store.session() as session:
        rows = session.exec(select(Convention).where(Convention.ref == "CONV-NOUVELLE")).all()
        assert len(rows) == 1 and rows[0].starts_on == date(2027, 1, 1)
        territories = session.exec(
            select(ConventionTerritory).where(ConventionTerritory.convention_id == rows[0].id)
        ).all()
        assert [t.code for t in territories] == ["50502"]


def test_a_renewal_count_in_superscripts_is_no_server_error(served):
    """« ²⁰²⁶ » is a digit to ``str.isdigit`` but not to ``int``: read as no count, as « abc »."""
    url, token, store, ids = served
    cookies, csrf = _signed_in(url, token)
    with httpx.Client(base_url=url, cookies=cookies, timeout=60) as client:
        answer = client.post(f"/conventions/{ids['convention']}/renouveler",
                             data={"csrf": csrf, "renouvellements": "²⁰²⁶"})  # fmt: skip
    assert answer.status_code == 303, answer.text[:300]
    with store.session() as session:
        row = session.exec(select(Convention).where(Convention.ref == ids["convention"])).one()
        assert row.renewals == 1
