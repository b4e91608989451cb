"""Issue 7's « done when », in a real Chromium: a contractor declares a month's hours (a bad
value first: named by line and field, nothing written), the facilitator validates one line and
rejects the other with a reason, and the buyer's market page counts the validated hours only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from clausier.formatting import fr_number
from tests.factories import siret
from tests.web.conftest import screenshot
from tests.web.execution_world import MARKET, NAMES, prepare

ETTI = siret(7501)  # the integration temp agency Bruno is placed by


@pytest.fixture
def world(site):
    return prepare(site)


def sign_in(page, world, who: str) -> None:
    page.goto(world.url + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(world.tokens[who])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/(marches|taches|lots)$"))


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion$"))


def test_a_month_declared_reviewed_and_counted_on_the_buyers_page(page, world):
    alice, bruno = world.codes["alice"], world.codes["bruno"]

    sign_in(page, world, "contractor")
    page.get_by_role("link", name="Mes déclarations").click()
    page.get_by_role("link", name=f"Relevés du lot 1 de {MARKET}").click()
    expect(
        page.locator("#mois-2026-10").get_by_text("déclaré")
    ).to_be_visible()  # waits for the page the click opened
    screenshot(page, "declarations-mois")
    page.get_by_role("link", name="Déclarer le relevé de novembre 2026").click()
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Heures d'insertion de novembre 2026"
    )
    page.get_by_label("Ligne 1 : code du bénéficiaire").fill(alice)
    page.get_by_label("Ligne 1 : type de contrat").select_option(label="CDI")
    page.get_by_label("Ligne 1 : heures").fill("35")
    page.get_by_label("Ligne 2 : code du bénéficiaire").fill(bruno)
    page.get_by_label("Ligne 2 : modalité").select_option(label="mise à disposition")
    page.get_by_label("Ligne 2 : SIRET de l'organisme").fill(ETTI)  # Bruno comes through an ETTI
    page.get_by_label("Ligne 2 : type d'organisme").select_option("etti")
    page.get_by_label("Ligne 2 : heures").fill("douze")
    page.get_by_role("button", name="Enregistrer le relevé de novembre 2026").click()

    summary = page.get_by_role("alert")
    assert "1 erreur : rien n'a été enregistré" in summary.inner_text()
    assert "Ligne 2, heures : « douze » : attendu : un nombre" in summary.inner_text()
    hours = page.get_by_label("Ligne 2 : heures")
    assert hours.get_attribute("aria-invalid") == "true" and hours.input_value() == "douze"
    assert world.lines() == [], "nothing written"
    screenshot(page, "declaration-erreur")
    summary.get_by_role("link").click()
    assert page.evaluate("document.activeElement.id") == "hours-2"

    hours.fill("12,5")
    page.get_by_role("button", name="Enregistrer le relevé de novembre 2026").click()
    assert "Relevé de novembre 2026 enregistré : 2 lignes ajoutées" in (
        page.get_by_role("status").inner_text()
    )
    assert page.locator(".badge.status-submitted").count() == 2
    assert page.get_by_label("Ligne 2 : heures").input_value() == "12,5"
    assert not [name for name in NAMES.values() if name in page.content()]
    screenshot(page, "declaration-titulaire")
    page.get_by_role("button", name="Ajouter une ligne").click()  # a row more, by script
    assert page.evaluate("document.activeElement.id") == "beneficiary-4"
    sign_out(page)

    sign_in(page, world, "facilitator")
    page.get_by_role("link", name="Contrôle des heures").click()
    alice_row, bruno_row = page.locator("tr", has_text=alice), page.locator("tr", has_text=bruno)
    assert NAMES["alice"] in alice_row.inner_text(), "the facilitator reads the name"
    screenshot(page, "controle-facilitateur")
    alice_row.get_by_role("button", name=re.compile("^Valider")).click()
    assert page.get_by_role("status").inner_text().startswith("Ligne validée")
    bruno_row.get_by_label(re.compile("^Motif")).fill("heures déjà déclarées sur le lot 2")
    bruno_row.get_by_role("button", name=re.compile("^Rejeter")).click()
    assert page.get_by_role("status").inner_text().startswith("Ligne rejetée")
    assert page.locator("tr", has_text=alice).count() == 0
    assert {line.status for line in world.lines()} == {"validated", "rejected"}
    page.get_by_role("link", name="Bénéficiaires").click()
    expect(
        page.locator("tr", has_text=alice).get_by_text(NAMES["alice"])
    ).to_be_visible()  # waits for the page the click opened
    screenshot(page, "beneficiaires")
    sign_out(page)

    sign_in(page, world, "buyer")
    page.get_by_role("link", name=MARKET).click()
    validated = world.validated_before + 35
    assert world.lot().hours_validated == validated
    lot = page.locator(".lot", has_text="Lot 1")
    expect(
        lot.get_by_text(f"{fr_number(validated)} heures validées sur 490 requises")
    ).to_be_visible()  # waits for the page the click opened
    figures = lot.locator(".pace-figures").inner_text()
    assert f"Validées : {fr_number(validated)} h" in figures
    assert f"À contrôler : {fr_number(world.submitted_before)} h" in figures
    screenshot(page, "marche-rythme")
