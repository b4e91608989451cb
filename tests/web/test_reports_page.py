"""The reports page in a real Chromium: a buyer reads its 2027 report, its charts, changes the
year and downloads the workbook (the world of ``tests/reports_world.py``)."""

from __future__ import annotations

import re

import pytest
from openpyxl import load_workbook

from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.clock import now as clock_now
from clausier.config import get_settings
from tests import reports_world
from tests.serving import serving
from tests.web.conftest import screenshot


@pytest.fixture
def served(sqlite_store, clock):
    world = reports_world.build(sqlite_store, clock)
    with sqlite_store.session() as session:
        orgs = {"buyer": (Role.buyer, world["region"].siret),
                "contractor": (Role.contractor, world["winner"].siret)}  # fmt: skip
        issued = {name: tokens.create(session, role=role, org=org, expires_at=None, now=clock_now())[0]
                  for name, (role, org) in orgs.items()}  # fmt: skip
        session.commit()
    with serving(create_app(sqlite_store.engine, get_settings())) as url:
        yield {"url": url, "tokens": issued}


def sign_in(page, served, who: str) -> None:
    page.goto(served["url"] + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(served["tokens"][who])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/(marches|lots)$"))


def test_a_buyer_reads_its_yearly_report_and_downloads_it(page, served, tmp_path):
    sign_in(page, served, "buyer")
    page.get_by_role("link", name="Rapports").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Rapport 2027 de la clause sociale"
    hours = page.get_by_role("img", name=re.compile(r"^Heures validées cumulées en 2027"))
    publics = page.get_by_role("img", name="Bénéficiaires 2027 par public éligible")
    assert hours.is_visible() and publics.is_visible()
    assert page.locator("#graphique-heures polyline.validated").count() == 1
    assert page.locator("#graphique-heures circle.validated").count() == 7  # January to July
    assert page.locator("#graphique-publics rect").count() == 9  # every public, zero included
    figures = page.locator(".kpis").inner_text().replace("\u202f", " ")
    assert "293,25 h" in figures and "847,95 h" in figures and "34,6 %" in figures
    # the same figures in a table, for those who do not see the chart
    page.get_by_text("Les chiffres du graphique, mois par mois").click()
    january = page.locator("#table-mois tbody tr").first.inner_text().replace("\u202f", " ")
    assert "180,50 h" in january and "93,43 h" in january
    assert "Nom secret" not in page.content()
    screenshot(page, "rapport-acheteur")

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Télécharger le classeur Excel (XLSX)").click()
    download = downloading.value
    assert re.fullmatch(r"rapport-buyer-\d{14}-2027\.xlsx", download.suggested_filename)
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    book = load_workbook(saved)
    assert book.sheetnames == ["Synthèse", "Marchés", "Bénéficiaires", "Mois"]
    assert book["Marchés"]["B4"].value == "'" + reports_world.EVIL_TITLE

    page.get_by_label("Année", exact=True).select_option("2026")
    page.get_by_role("button", name="Afficher").click()
    page.wait_for_url(re.compile(r"annee=2026"))
    assert page.get_by_role("heading", level=1).inner_text() == "Rapport 2026 de la clause sociale"


def test_a_contractor_has_no_report(page, served):
    sign_in(page, served, "contractor")
    assert page.get_by_role("link", name="Rapports").count() == 0
    response = page.goto(served["url"] + "/rapports")
    assert response.status == 403 and "Accès réservé" in page.content()
