"""Issue 7's « done when », on the demo itself (``clausier serve --demo`` in a subprocess, its
printed tokens, a real Chromium): the contractor declares November in the browser, the
facilitator validates it, the buyer's page shows the lot's progress, and the buyer downloads the
yearly report as XLSX whose figures are right."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.processes import demo_server
from tests.web.conftest import screenshot

ROOT = Path(__file__).parents[2]
MARKET, PERSON = "MKT-2026-012", "B-5F1G7J9E"  # the Région's lycée works; the PLIE follows them


@pytest.fixture
def demo():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    env["CLAUSIER_NOW"] = "2026-11-25T10:00"  # the day the example is written for
    with demo_server(ROOT, env) as served:
        yield served


def sign_in(page, demo, who: str) -> None:
    page.goto(demo["url"] + "/connexion")  # serve binds its port before it says « écoute sur »
    page.get_by_label("Jeton", exact=True).fill(demo["tokens"][who])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/(marches|taches|lots)$"))


def sign_out(page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r"/connexion$"))


def test_on_the_demo_hours_go_from_the_contractor_to_the_buyers_report(page, demo, tmp_path):
    sign_in(page, demo, "titulaire")  # Bâtiments du Bessin SARL, lot 1 of MKT-2026-012
    page.get_by_role("link", name=f"Relevés du lot 1 de {MARKET}").click()
    page.get_by_role("link", name="Déclarer le relevé de novembre 2026").click()
    page.get_by_label("Ligne 1 : code du bénéficiaire").fill(PERSON)
    page.get_by_label("Ligne 1 : type de contrat").select_option(label="contrat d'apprentissage")
    page.get_by_label("Ligne 1 : heures").fill("35")
    page.get_by_role("button", name="Enregistrer le relevé de novembre 2026").click()
    assert "Relevé de novembre 2026 enregistré" in page.get_by_role("status").inner_text()
    assert "Yanis Benali" not in page.content()  # a contractor reads codes only
    sign_out(page)

    sign_in(page, demo, "facilitateur")  # the PLIE de l'agglomération caennaise
    page.get_by_role("link", name="Contrôle des heures").click()
    rows = page.locator("tr", has_text=PERSON)
    assert rows.count() == 2 and "Yanis Benali" in rows.first.inner_text()  # October and November
    for _ in range(2):
        page.locator("tr", has_text=PERSON).first.get_by_role(
            "button", name=re.compile("^Valider")
        ).click()
        assert page.get_by_role("status").inner_text().startswith("Ligne validée")
    assert page.locator("tr", has_text=PERSON).count() == 0
    sign_out(page)

    sign_in(page, demo, "acheteur")  # the Région Normandie
    page.get_by_role("link", name=MARKET).click()
    lot = page.locator(".lot", has_text="Lot 1")
    # 480 h validated in the example, plus October's 120 and November's 35
    expect(
        lot.get_by_text("635 heures validées sur 1\u202f200 requises")
    ).to_be_visible()  # waits for the page the click opened
    screenshot(page, "demo-marche-acheteur")
    page.get_by_role("link", name="Rapports").click()
    page.get_by_label("Année", exact=True).select_option("2026")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r"annee=2026"))
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Télécharger le classeur Excel (XLSX)").click()
    saved = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(saved)
    book = load_workbook(saved)
    summary = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=4, values_only=True)}
    # the hand count of the example (1 220 h) and the 155 h just validated
    assert summary["Heures validées en 2026"] == pytest.approx(1375)
    assert summary["Heures prévues en 2026"] == pytest.approx(2113.06)
    assert summary["Bénéficiaires en 2026"] == 6
    text = repr([list(sheet.values) for sheet in book.worksheets])
    assert "Yanis Benali" not in text and PERSON not in text
