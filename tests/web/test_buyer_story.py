"""The issue's story, in a real Chromium and nothing else (no CLI, no API call): a buyer creates a
market where none of its conventions reaches, signs a convention that covers it, signs a second
one with another structure at the same level, and settles the ambiguity from the market page."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlmodel import select

from clausier.auth.models import Role
from clausier.markets.models import Market
from clausier.partners.models import Structure
from tests.web.conftest import screenshot
from tests.web.test_pages import sign_in

REF = "MKT-2027-950"
# Granville (50218), in the CC de Granville, Terre et Mer: no convention of the example reaches it
COMMUNE, EPCI = "Granville", "CC de Granville, Terre et Mer"
COTENTIN = "Maison de l'emploi et de la formation du Cotentin"
PLIE = "PLIE de l'agglomération caennaise"


def followed(page) -> str:
    """What the market page says under « Suivi »: the structure, or why there is none."""
    return (
        page.locator("h2", has_text="Suivi").locator("xpath=following-sibling::p[1]").inner_text()
    )


def sign_convention(page, structure: str) -> None:
    """Sign a convention covering the EPCI, in force today (25/11/2026) and at the consultation."""
    page.get_by_role("link", name="Conventions", exact=True).click()
    page.get_by_role("link", name="Nouvelle convention").click()
    ref = page.get_by_label("Référence").input_value()
    page.get_by_label("Structure partenaire").select_option(label=structure)
    page.get_by_label("Territoire 1", exact=True).fill(EPCI)
    page.get_by_label("Début").fill("2026-01-01")
    page.get_by_label("Fin de la première période").fill("2027-12-31")
    page.get_by_label("Tacite", exact=True).check()
    page.get_by_role("button", name="Enregistrer la convention").click()
    expect(page.get_by_role("status")).to_have_text("Convention enregistrée.")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Convention {ref}")
    assert EPCI in page.locator(".facts").inner_text()


def coverage_column(page) -> str:
    """The market's « Couverture » cell on the list of markets."""
    page.get_by_role("link", name="Marchés", exact=True).click()
    row = page.locator("tr", has=page.get_by_role("link", name=REF, exact=True))
    return row.locator("td").last.inner_text()


def open_market(page) -> None:
    page.get_by_role("link", name="Marchés", exact=True).click()
    page.get_by_role("link", name=REF, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{REF} — Rénovation de la piscine")


def test_a_buyer_creates_a_market_covers_it_twice_and_settles_the_ambiguity(page, site):
    sign_in(page, site, Role.buyer)
    expect(page.get_by_role("heading", level=1)).to_have_text("Marchés")

    # 1. a market in a commune no convention of the Région's covers
    page.get_by_role("link", name="Nouveau marché").click()
    page.get_by_label("Référence").fill(REF)
    page.get_by_label("Objet").fill("Rénovation de la piscine")
    page.get_by_label("Commune d'exécution").fill(COMMUNE)
    page.get_by_label("Code CPV").fill("45212212")
    page.get_by_label("Montant HT (€)").fill("900 000")
    page.get_by_label("Intitulé du lot 1").fill("Bassins et traitement de l'eau")
    page.get_by_label("Montant HT du lot 1 (€)").fill("900 000")
    page.get_by_label("Date de consultation").fill("2027-03-01")
    page.get_by_role("button", name="Créer le marché").click()
    page.wait_for_url(re.compile(rf"/marches/{REF}$"))
    assert followed(page) == "Aucune structure ne suit ce marché : non couvert."
    screenshot(page, "histoire-acheteur-non-couvert")

    assert coverage_column(page) == "non couvert"
    page.get_by_role("link", name="Couverture", exact=True).click()
    line = page.locator(".markets li").filter(has_text=REF)
    assert line.inner_text().startswith(f"Non couvert : {COMMUNE} (50218)")

    # 2. a convention with the MEF du Cotentin over the EPCI: it follows the market
    sign_convention(page, COTENTIN)
    open_market(page)
    assert followed(page) == f"Structure : {COTENTIN} — clauses@mde-cotentin.example"
    assert "non couvert" not in page.locator("main").inner_text()
    assert coverage_column(page) == "couvert"

    # 3. a second one, the PLIE's, over the same EPCI: two structures at the same level
    sign_convention(page, PLIE)
    open_market(page)
    main = page.locator("main")
    expect(main).to_contain_text(
        "Choisir la structure : plusieurs structures couvrent le lieu d'exécution au même niveau."
    )
    assert "non couvert" not in main.inner_text().lower()
    assert followed(page) == f"Structure : {COTENTIN} — clauses@mde-cotentin.example", (
        "the MEF du Cotentin still follows it until the buyer chooses"
    )
    screenshot(page, "histoire-acheteur-a-arbitrer")
    assert coverage_column(page) == "à arbitrer"
    page.get_by_role("link", name="Couverture", exact=True).click()
    expect(page.get_by_role("heading", name="Marchés à arbitrer")).to_be_visible()
    settle = page.locator(".to-settle li").filter(has_text=REF).inner_text()
    assert f"{COMMUNE} (50218) : {COTENTIN} ou {PLIE}, à choisir par l'acheteur" in settle
    line = page.locator(".markets li").filter(has_text=REF)
    assert line.inner_text().startswith(f"À arbitrer : {COMMUNE} (50218)")
    assert page.get_by_text(f"Non couvert : {COMMUNE}").count() == 0

    # 4. settled from the market page: the PLIE follows it
    open_market(page)
    page.get_by_role("link", name="Choisir la structure", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Choisir la structure qui suit le marché {REF}"
    )
    assert page.locator("section.candidate").count() == 2
    page.get_by_role("button", name=f"Choisir {PLIE}").click()
    expect(page.get_by_role("status")).to_have_text(
        f"Choix enregistré : {PLIE} suit désormais le marché {REF}."
    )
    page.get_by_role("link", name=f"← Marché {REF}").click()
    assert followed(page) == f"Structure : {PLIE} — clauses@plie-caen.example"
    assert page.get_by_role("link", name=re.compile("^Choisir la structure")).count() == 0
    screenshot(page, "histoire-acheteur-arbitre")
    assert coverage_column(page) == "couvert"
    with site["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == REF)).one()
        structure = session.get(Structure, market.structure_id)
        assert (structure.name, market.assignment, market.coverage_flag) == (
            PLIE, "explicit", None,
        )  # fmt: skip
