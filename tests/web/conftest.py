"""The example territory served by a real uvicorn on 127.0.0.1, and a real headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from clausier import clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.loading.loader import load
from tests.api.conftest import world  # noqa: F401  (two organisations of each kind, for the page matrix)
from tests.serving import serving

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def site(sqlite_store, clock):
    with sqlite_store.session() as session:
        load(session, EXAMPLE, today=clock_today())
        orgs = {Role.buyer: "Région Normandie", Role.facilitator: "mde-cotentin", Role.admin: None}
        issued = {role: tokens.create(session, role=role, org=org, expires_at=None, now=clock_now())[0]
                  for role, org in orgs.items()}  # fmt: skip
        session.commit()
    with serving(create_app(sqlite_store.engine, get_settings())) as url:
        yield {"url": url, "tokens": issued, "store": sqlite_store}


def clock_today():
    return clock.today()


def clock_now():
    return clock.now()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium introuvable ({CHROMIUM}) : apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )  # fmt: skip
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="fr-FR")
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
