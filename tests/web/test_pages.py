"""People using the pages in a real headless Chromium: a buyer, a facilitator, the coverage."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.web.conftest import screenshot


def sign_in(page, site, role) -> None:
    page.goto(site["url"] + "/")
    page.get_by_label("Jeton", exact=True).fill(site["tokens"][role])
    page.get_by_role("button", name="Se connecter", exact=True).click()


def test_a_buyer_signs_in_and_reads_a_markets_state_and_hours(page, site):
    from clausier.auth.models import Role

    sign_in(page, site, Role.buyer)
    assert page.get_by_role("heading", level=1).inner_text() == "Marchés"
    page.get_by_role("link", name="MKT-2026-012").click()
    assert page.locator(".current-state").inner_text() == "Exécution"
    assert page.get_by_text("0 heures validées sur 1 200 requises").is_visible()
    assert page.locator('[aria-current="step"]').inner_text() == "Exécution"
    screenshot(page, "marche-acheteur")
    page.goto(site["url"] + "/marches/MKT-2026-041")  # a Région market: visible
    assert "Consultation" in page.locator(".current-state").inner_text()


def test_a_facilitator_marks_a_task_done_and_it_leaves_the_queue(page, site):
    from clausier.auth.models import Role

    sign_in(page, site, Role.facilitator)
    assert page.get_by_role("heading", level=1).inner_text() == "Tâches à faire"
    rows = page.locator("tbody tr")
    before = rows.count()
    first_id = rows.first.get_attribute("id")
    screenshot(page, "taches-facilitateur")
    page.get_by_role("button", name=re.compile(r"Marquer la tâche \d+ comme faite")).first.click()
    page.wait_for_url(re.compile(r"/taches\?fait=fait$"))
    assert page.get_by_role("status").inner_text() == "Tâche marquée faite."
    assert page.locator("tbody tr").count() == before - 1
    assert page.locator(f"#{first_id}").count() == 0


def test_the_coverage_report_lists_the_uncovered_epci(page, site):
    from clausier.auth.models import Role

    sign_in(page, site, Role.buyer)
    page.get_by_role("link", name="Couverture").click()
    expect(page.get_by_role("heading", name="CA Saint-Lô Agglo")).to_be_visible()  # waits
    assert page.get_by_text("Non couvert : Saint-Lô (50502)").is_visible()
    fill = page.locator('.map path[id="50"]').evaluate("p => getComputedStyle(p).fill")
    assert fill == "rgb(179, 64, 0)", "the Manche is partly covered"
    assert page.get_by_text("CC BY 4.0").is_visible()
    screenshot(page, "couverture")
