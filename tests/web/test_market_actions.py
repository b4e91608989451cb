"""The market page acts: each trigger the signed-in person may fire is a button with the form
its data needs; one a guard blocks is shown disabled with what is missing, in the guard's own
words; a change made meanwhile is said, never lost. In a real Chromium, as each role."""

from __future__ import annotations

from html import unescape

from playwright.sync_api import expect
from sqlmodel import select

from clausier import clock
from clausier.auth.models import Role
from clausier.auth.policy import fires
from clausier.auth.tokens import Principal
from clausier.markets.models import Lot, Market
from clausier.partners.models import Contractor
from clausier.partnerships.assignment import market_coverage
from tests.web.conftest import screenshot
from tests.web.execution_world import signed_in_client
from tests.web.test_pages import sign_in
from workflow.guards import in_words
from workflow.lifecycle import TRIGGERS
from workflow.possible import triggers_now

NEW_SIRET = "73282932000074"  # a valid SIRET (Luhn) nobody holds in the example


def _market(site, ref: str) -> Market:
    with site["store"].session() as session:
        return session.exec(select(Market).where(Market.ref == ref)).one()


def test_a_facilitator_takes_up_a_market_and_the_buyer_publishes_it(page, site):
    sign_in(page, site, Role.facilitator)
    page.goto(site["url"] + "/marches/MKT-2027-001")
    assert page.get_by_role("button", name="Publier la consultation").count() == 0  # the buyer's
    page.get_by_role("button", name="Préparer l'offre d'insertion").click()
    expect(page.get_by_role("status")).to_have_text("L'offre d'insertion est en préparation.")
    assert page.locator(".current-state").inner_text() == "Offre d'insertion"
    page.get_by_role("button", name="Se déconnecter").click()

    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/marches/MKT-2027-001")
    page.get_by_role("button", name="Publier la consultation").click()
    expect(page.get_by_role("status")).to_have_text("La consultation est publiée.")
    assert page.locator(".current-state").inner_text() == "Consultation"
    assert _market(site, "MKT-2027-001").state == "consultation"
    screenshot(page, "marche-publie")


def test_what_blocks_a_trigger_is_shown_before_the_click_in_the_guards_words(page, site):
    """Alençon is covered by two structures at one level: nothing to click, and the page says
    why in the words the guard itself gives, with no command line."""
    with site["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == "MKT-2027-003")).one()
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        coverage = market_coverage(session, market, today=clock.today())
        blocked = triggers_now(
            session, market, lots, today=clock.today(), coverage=coverage
        ).blocked
    words = [in_words(reason) for reason in blocked["prepare_offer"]]
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/marches/MKT-2027-003")
    button = page.get_by_role("button", name="Préparer l'offre d'insertion")
    expect(button).to_be_disabled()
    why = page.locator("#pourquoi-prepare_offer").inner_text()
    assert why == f"Pour préparer l'offre d'insertion : {' ; '.join(words)}."
    assert "choisir celle qui suit le marché" in why
    assert "clausier" not in page.locator("section[aria-labelledby=actions]").inner_text()


def test_an_award_names_a_known_contractor_and_creates_another_on_the_spot(page, site):
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/marches/MKT-2026-041")
    page.get_by_label("Titulaire connu (SIRET ou raison sociale)").first.fill("41234567000019")
    lot2 = page.locator("fieldset", has_text="Titulaire du lot 2")
    lot2.get_by_label("SIRET", exact=True).fill("12345678900000")  # fails the Luhn check
    lot2.get_by_label("Raison sociale", exact=True).fill("Peintures de la Plaine SARL")
    lot2.get_by_label("Adresse e-mail du titulaire").fill("contact@peintures-plaine.example")
    page.get_by_role("button", name="Attribuer").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("« Attribuer » n'a pas été fait")
    expect(alert).to_contain_text("Lot 2 : Titulaire à créer : SIRET")
    assert _market(site, "MKT-2026-041").state == "consultation"  # nothing written
    with site["store"].session() as session:
        assert (
            session.exec(select(Contractor).where(Contractor.name.like("Peintures%"))).first()
            is None
        )
    lot2 = page.locator("fieldset", has_text="Titulaire du lot 2")
    expect(lot2.get_by_label("Raison sociale", exact=True)).to_have_value(
        "Peintures de la Plaine SARL"
    )  # kept
    lot2.get_by_label("SIRET", exact=True).fill(NEW_SIRET)
    page.get_by_role("button", name="Attribuer").click()
    expect(page.get_by_role("status")).to_have_text(
        "Le marché est attribué : son exécution commence."
    )
    assert page.locator(".current-state").inner_text() == "Exécution"
    assert page.get_by_text("Titulaire : Peintures de la Plaine SARL").is_visible()
    with site["store"].session() as session:
        created = session.exec(select(Contractor).where(Contractor.siret == NEW_SIRET)).one()
        assert created.email == "contact@peintures-plaine.example"


def test_two_browsers_firing_on_one_market_one_wins_and_the_other_reads_the_conflict(browser, site):
    pages = []
    for _ in range(2):
        context = browser.new_context(locale="fr-FR")
        pages.append(context.new_page())
        sign_in(pages[-1], site, Role.buyer)
        pages[-1].goto(site["url"] + "/marches/MKT-2027-001")
    first, second = pages
    first.get_by_label("Pourquoi le marché est abandonné").fill("Projet arrêté par le conseil")
    first.get_by_role("button", name="Abandonner").click()
    expect(first.get_by_role("status")).to_have_text("Le marché est abandonné.")
    second.get_by_label("Pourquoi le marché ne peut pas porter de clause").fill(
        "Pas de main-d'œuvre"
    )
    second.get_by_role("button", name="Déclarer non clausable").click()
    alert = second.get_by_role("alert")
    expect(alert).to_contain_text("Le marché a changé depuis l'affichage")
    assert second.locator(".current-state").inner_text() == "Abandonné"  # the page reloaded
    assert _market(site, "MKT-2027-001").state == "abandoned"
    for each in pages:
        each.context.close()


def test_a_reason_too_short_is_refused_in_words_and_nothing_moves(site):
    with signed_in_client(site, Role.buyer) as (client, csrf):
        answer = client.post(
            "/marches/MKT-2027-001/declencher/decline",
            data={
                "csrf": csrf,
                "version": str(_market(site, "MKT-2027-001").version),
                "motif": "ab",
            },
        )
        assert answer.status_code == 422
        text = unescape(answer.text)
        assert "le motif : " in text and "3 caractères" in text
        assert "--data" not in text
        stale = client.post(
            "/marches/MKT-2027-001/declencher/decline",
            data={"csrf": csrf, "motif": "Pas de clause"},
        )
        assert stale.status_code == 422 and "rechargez la page" in unescape(stale.text)
        superscript = client.post(  # « ²⁰²⁶ »: digits to isdigit(), not to int()
            "/marches/MKT-2027-001/declencher/decline",
            data={"csrf": csrf, "version": "²⁰²⁶", "motif": "Pas de clause"},
        )
        assert superscript.status_code == 422 and "rechargez la page" in unescape(superscript.text)
    assert _market(site, "MKT-2027-001").state == "identification"


def test_a_role_that_may_not_fire_a_trigger_is_refused_even_by_hand(site):
    """No button for a facilitator to publish; a form sent by hand is refused all the same."""
    with signed_in_client(site, Role.facilitator) as (client, csrf):
        version = _market(site, "MKT-2027-001").version
        client.post(
            "/marches/MKT-2027-001/declencher/prepare_offer",
            data={"csrf": csrf, "version": str(version)},
        )
        page = unescape(client.get("/marches/MKT-2027-001").text)
        assert "Préparer l'offre d'insertion</button>" not in page  # done: the offer is open
        assert "Publier la consultation</button>" not in page
        answer = client.post(
            "/marches/MKT-2027-001/declencher/publish",
            data={"csrf": csrf, "version": str(_market(site, "MKT-2027-001").version)},
        )
        assert answer.status_code == 403
    assert _market(site, "MKT-2027-001").state == "insertion_offer"


def test_every_refusal_shown_before_the_click_is_the_guards_own(site):
    """On every market of the example, for the buyer and the facilitator: each button shown
    disabled is a trigger the guard refuses now, and its words are the guard's, with no command;
    each enabled one is a trigger the guard lets pass (with the data its form asks for)."""
    shown = 0
    for role in (Role.buyer, Role.facilitator):
        with signed_in_client(site, role) as (client, _csrf), site["store"].session() as session:
            for market in session.exec(select(Market).order_by(Market.ref)).all():
                page = client.get(f"/marches/{market.ref}")
                if page.status_code == 404:  # out of this person's reach
                    continue
                text = unescape(page.text)
                lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
                coverage = market_coverage(session, market, today=clock.today())
                now = triggers_now(session, market, lots, today=clock.today(), coverage=coverage)
                for trigger, reasons in now.blocked.items():
                    if f'id="pourquoi-{trigger}"' not in text:
                        assert not fires(principal_for(role), trigger), (market.ref, trigger)
                        continue
                    label = TRIGGERS[trigger].label
                    words = " ; ".join(in_words(reason) for reason in reasons)
                    assert f"Pour {label[0].lower()}{label[1:]} : {words}." in text, (
                        market.ref,
                        trigger,
                    )
                    assert "clausier " not in words and "--data" not in words
                    shown += 1
                for trigger in now.allowed:
                    if fires(principal_for(role), trigger):
                        assert f"/declencher/{trigger}" in text, (market.ref, trigger)
    assert shown >= 3, "the example has refusals to show"


def principal_for(role: Role) -> Principal:
    return Principal(role=role, org_id=None)
