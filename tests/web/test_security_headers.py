"""Cookies and headers (issue 15, item 8): what every answer tells the browser, cookies that only
travel over https when the site is served over https, and a proxy believed only when trusted.

Served by a real uvicorn (in a thread, and ``clausier serve --demo`` in a subprocess), read with
httpx and with a real Chromium, which reports any breach of the Content-Security-Policy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import SignInSettings, WebSettings, get_settings
from tests.processes import demo_server
from tests.serving import PATIENT, serving

ROOT = Path(__file__).parents[2]
TEMPLATES = ROOT / "clausier" / "web" / "templates"
HTTPS_SITE = "https://clausier.example.fr"
CLIENT, OTHER_CLIENT = "203.0.113.7", "198.51.100.23"


def served_with(store, **web):
    """The application with these ``web`` settings, one wrong token a minute per client."""
    settings = get_settings().model_copy(
        update={
            "web": WebSettings(**web),
            "sign_in": SignInSettings(attempts_per_client_per_minute=1),
        }
    )
    return serving(create_app(store.engine, settings))


@pytest.fixture
def admin_token(sqlite_store, clock):
    with sqlite_store.session() as session:
        token = tokens.create(
            session, role=Role.admin, org=None, expires_at=None, now=product_clock.now()
        )[0]
        session.commit()
    return token


def form(client: httpx.Client, **headers) -> dict:
    """The sign-in form's CSRF token, and its cookie sent back by hand: a client keeps a Secure
    cookie for https, and these requests travel over http to the server behind the proxy."""
    csrf = re.search(
        r'name="csrf" value="([^"]+)"', client.get("/connexion", headers=headers).text
    )[1]
    return {"data": {"csrf": csrf}, "headers": {**headers, "Cookie": f"clausier_csrf={csrf}"}}


def cookies_set(client: httpx.Client, admin_token: str, **headers) -> dict[str, str]:
    """Every Set-Cookie of a visit: the form's CSRF cookie, the « next page » cookie of a page
    asked for before signing in, the session (and the « next page » cookie's removal)."""
    answers = [client.get("/marches", headers=headers)]
    answers.append(client.get("/connexion", headers=headers))
    sign_in = form(client, **headers)
    answers.append(
        client.post(
            "/connexion/jeton",
            headers=sign_in["headers"],
            data={**sign_in["data"], "token": admin_token},
        )
    )
    assert answers[-1].status_code == 303, answers[-1].text
    return {
        line.split("=", 1)[0] + ("" if "Max-Age=0" not in line else " (removed)"): line
        for answer in answers
        for line in answer.headers.get_list("set-cookie")
    }


def wrong_token(client: httpx.Client, **headers) -> int:
    sign_in = form(client, **headers)
    return client.post(
        "/connexion/jeton", headers=sign_in["headers"], data={**sign_in["data"], "token": "clz_x"}
    ).status_code


def test_every_answer_forbids_sniffing_framing_and_inline_scripts(sqlite_store, clock):
    with served_with(sqlite_store) as url, httpx.Client(timeout=PATIENT, base_url=url) as client:
        answers = {
            "page": client.get("/connexion"),
            "unknown page": client.get("/nulle-part"),
            "API answer": client.get("/api/health"),
            "API refusal": client.get("/api/markets"),
            "style sheet": client.get("/static/clausier.css"),
            "script": client.get("/static/declaration.js"),
        }
    assert [answers[k].status_code for k in answers] == [200, 404, 200, 401, 200, 200]
    for what, answer in answers.items():
        headers = answer.headers
        assert headers["x-content-type-options"] == "nosniff", what
        assert headers["x-frame-options"] == "DENY", what
        assert headers["referrer-policy"] == "same-origin", what
        policy = dict(
            d.strip().split(" ", 1) for d in headers["content-security-policy"].split(";")
        )
        assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'", what
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'", what
        assert "strict-transport-security" not in headers, f"{what}: HSTS over plain http"
    assert answers["script"].headers["content-type"].startswith("text/javascript")


def test_over_an_https_base_url_every_cookie_is_secure_and_hsts_is_sent(sqlite_store, admin_token):
    with (
        served_with(sqlite_store, base_url=HTTPS_SITE) as url,
        httpx.Client(timeout=PATIENT, base_url=url) as client,
    ):
        cookies = cookies_set(client, admin_token)
        health = client.get("/api/health")
    assert set(cookies) == {"clausier_suite", "clausier_csrf", "clausier_session",
                            "clausier_suite (removed)"}  # fmt: skip
    for name, line in cookies.items():
        assert "; Secure" in line, name
        assert "HttpOnly" in line or name.endswith("(removed)"), name
    # but this answer travelled over plain http, where HSTS must not be sent (RFC 6797 § 7.2)
    assert "strict-transport-security" not in health.headers


def test_over_plain_http_cookies_are_not_secure(sqlite_store, admin_token):
    """A site on http://127.0.0.1 (the demo): a Secure cookie would never come back."""
    with served_with(sqlite_store) as url, httpx.Client(timeout=PATIENT, base_url=url) as client:
        cookies = cookies_set(client, admin_token)
    assert len(cookies) == 4
    assert not [line for line in cookies.values() if "secure" in line.lower()]


def test_behind_a_trusted_proxy_its_https_and_its_client_are_believed(sqlite_store, admin_token):
    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT}
    with served_with(sqlite_store, trusted_proxies=["127.0.0.1"]) as url:
        with httpx.Client(timeout=PATIENT, base_url=url) as client:
            cookies = cookies_set(client, admin_token, **proxy)
            hsts = client.get("/api/health", headers=proxy).headers.get("strict-transport-security")
        # the proxy's plain http answer stays plain
        with httpx.Client(timeout=PATIENT, base_url=url) as client:
            plain = client.get("/connexion", headers={"X-Forwarded-For": CLIENT})
        with httpx.Client(timeout=PATIENT, base_url=url) as client:
            first, second = wrong_token(client, **proxy), wrong_token(client, **proxy)
            other = wrong_token(client, **{**proxy, "X-Forwarded-For": OTHER_CLIENT})
    assert len(cookies) == 4 and all("; Secure" in line for line in cookies.values())
    assert hsts == "max-age=31536000"
    assert "secure" not in plain.headers["set-cookie"].lower()
    assert "strict-transport-security" not in plain.headers
    # one wrong token a minute per client: the proxy's clients are told apart
    assert (first, second, other) == (401, 429, 401)


def test_an_untrusted_peer_cannot_claim_https_nor_another_address(sqlite_store, admin_token):
    claims = {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT}
    with served_with(sqlite_store, trusted_proxies=["10.0.0.5"]) as url:
        with httpx.Client(timeout=PATIENT, base_url=url) as client:
            cookies = cookies_set(client, admin_token, **claims)
            health = client.get("/api/health", headers=claims)
        with httpx.Client(timeout=PATIENT, base_url=url) as client:
            first = wrong_token(client, **claims)
            # another address claimed: the same peer all the same, over its limit
            other = wrong_token(client, **{**claims, "X-Forwarded-For": OTHER_CLIENT})
    assert len(cookies) == 4
    assert not [line for line in cookies.values() if "secure" in line.lower()]
    assert "strict-transport-security" not in health.headers
    assert (first, other) == (401, 429)


def test_a_sign_in_link_page_tells_no_other_page_its_address(sqlite_store, clock):
    with served_with(sqlite_store) as url, httpx.Client(timeout=PATIENT, base_url=url) as client:
        link_page = client.get("/connexion/a-secret-from-an-e-mail")
    assert link_page.headers["referrer-policy"] == "no-referrer"


def test_no_template_carries_an_inline_script_style_or_event_handler():
    """Every page obeys the CSP by construction; the downloadable report, a file opened from the
    disk, carries its style sheet inside."""
    inline = re.compile(r"<script(?![^>]*\ssrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.I)
    found = {
        path.name: inline.findall(path.read_text(encoding="utf-8"))
        for path in TEMPLATES.glob("*.html")
        if path.name != "rapport_fichier.html"
    }
    assert {name: hits for name, hits in found.items() if hits} == {}


# --- the demo: clausier serve, in a real Chromium ---------------------------------------------


@pytest.fixture(scope="module")
def demo():
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAUSIER_")}
    env["CLAUSIER_NOW"] = "2026-11-25T10:00"  # the day the example is written for
    with demo_server(ROOT, env) as served:
        yield served


WHO = {"titulaire": "/lots", "acheteur": "/marches", "facilitateur": "/taches",
       "administrateur": "/marches"}  # fmt: skip
# report every breach of the policy (and whatever the console says) to the test
WATCH = """window.__violations = [];
document.addEventListener("securitypolicyviolation", e => window.__violations.push(
  `${e.effectiveDirective} ${e.blockedURI || "inline"} ${e.sourceFile}:${e.lineNumber}`));"""


def sign_in(page, demo, who: str) -> None:
    page.goto(demo["url"] + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(demo["tokens"][who])
    with page.expect_navigation(url=re.compile(re.escape(WHO[who]) + "$")):
        page.get_by_role("button", name="Se connecter", exact=True).click()


def watched(page) -> list[str]:
    """What goes wrong in the page: breaches of the policy (``window.__violations``), errors
    and warnings of the console, a style sheet or script that did not load."""
    page.add_init_script(WATCH)
    said: list[str] = []

    def console(message) -> None:  # a 403 page is a page of the walk; its status is no error
        if message.type in ("error", "warning") and "Failed to load resource" not in message.text:
            said.append(f"console {message.type}: {message.text}")

    def answered(response) -> None:  # browsers ask for /favicon.ico, which the site has not
        asset = response.request.resource_type != "document"
        if response.status >= 400 and asset and not response.url.endswith("/favicon.ico"):
            said.append(f"{response.status} {response.url}")

    page.on("console", console)
    page.on("response", answered)
    page.on("pageerror", lambda error: said.append(f"error: {error}"))
    return said


def test_clausier_serve_believes_no_forwarded_header_from_an_unconfigured_peer(demo):
    """The demo listens on 127.0.0.1 and trusts no proxy: a local process cannot make it think
    it is behind one (uvicorn alone would believe 127.0.0.1)."""
    claims = {"X-Forwarded-Proto": "https", "X-Forwarded-For": CLIENT}
    with httpx.Client(timeout=PATIENT, base_url=demo["url"]) as client:
        answer = client.get("/connexion", headers=claims)
    assert "secure" not in answer.headers["set-cookie"].lower()
    assert "strict-transport-security" not in answer.headers


def kept_to(page, said: list[str]) -> list[str]:
    """What went wrong on the page shown, since the last look."""
    wrong = page.evaluate("window.__violations") + said
    said.clear()
    return wrong


def test_every_page_of_the_demo_keeps_to_the_policy_for_every_role(page, demo):
    said = watched(page)
    sign_in(page, demo, "titulaire")
    page.get_by_role("link", name="Relevés du lot 1 de MKT-2026-012").click()
    page.get_by_role("link", name="Déclarer le relevé de novembre 2026").click()
    declaration = page.url.removeprefix(demo["url"])
    assert kept_to(page, said) == [], "signing in, the contractor's way to its declaration"
    pages = ["/marches", "/marches/MKT-2026-012", "/taches", "/couverture", "/lots", declaration,
             "/controle", "/beneficiaires", "/rapports", "/connexion"]  # fmt: skip
    seen = {}
    for who in WHO:
        if who != "titulaire":
            page.context.clear_cookies()
            sign_in(page, demo, who)
        for path in pages:
            answer = page.goto(demo["url"] + path)
            seen[(who, path)] = answer.status
            assert "content-security-policy" in answer.headers, path
            assert kept_to(page, said) == [], f"{who} on {path}"
    # the walk saw the pages themselves, not only « Accès réservé »
    assert seen[("titulaire", declaration)] == seen[("acheteur", "/couverture")] == 200
    assert seen[("facilitateur", "/beneficiaires")] == seen[("administrateur", "/controle")] == 200
    assert seen[("facilitateur", declaration)] == seen[("acheteur", "/rapports")] == 200


def test_adding_a_line_to_a_declaration_works_under_the_policy(page, demo):
    """« Ajouter une ligne » adds an empty row in the page, the cursor in it, without sending
    the form: the script that does it now comes from /static."""
    said = watched(page)
    sign_in(page, demo, "titulaire")
    page.get_by_role("link", name="Relevés du lot 1 de MKT-2026-012").click()
    page.get_by_role("link", name="Déclarer le relevé de novembre 2026").click()
    page.get_by_label("Ligne 1 : heures").fill("7")  # typed, not sent
    rows = page.locator("#lignes tr").count()
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)  # fmt: skip
    page.get_by_role("button", name="Ajouter une ligne").click()
    assert page.locator("#lignes tr").count() == rows + 1
    added = page.get_by_label(f"Ligne {rows + 1} : code du bénéficiaire")
    assert added.evaluate("input => input === document.activeElement")
    assert page.get_by_label("Ligne 1 : heures").input_value() == "7"
    assert sent == [] and page.evaluate("window.__violations") == [] and said == []


def test_the_marks_drawn_without_style_attributes_stand_where_they_did(page, demo):
    """The expected hours' mark on a lot's bar, the small bars of the report's tables: drawn in
    SVG now, at the same places."""
    sign_in(page, demo, "acheteur")
    page.goto(demo["url"] + "/marches/MKT-2026-012")
    lot = page.locator(".lot").first
    expected = float(re.search(r"Attendues au [\d/]+ : ([\d\s\u202f]+,\d+) h", lot.inner_text())[1]
                     .replace(",", ".").replace("\u202f", "").replace(" ", ""))  # fmt: skip
    bar, mark = (
        lot.locator("progress").bounding_box(),
        lot.locator(".pace-marker line").bounding_box(),
    )
    assert mark["x"] + mark["width"] / 2 == pytest.approx(
        bar["x"] + bar["width"] * expected / 1200, abs=1.5
    )
    assert mark["width"] == pytest.approx(3, abs=0.5) and mark["height"] > bar["height"]  # fmt: skip

    page.goto(demo["url"] + "/rapports?annee=2026")
    rows = page.locator("#table-sexe tbody tr")
    counts = [int(rows.nth(i).locator("td").first.inner_text()) for i in range(rows.count())]
    widths = [
        rows.nth(i).locator(".mini-bar rect").bounding_box()["width"] for i in range(rows.count())
    ]
    rem = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert widths == pytest.approx([6 * rem * c / max(counts) for c in counts], abs=0.5)
    colour = page.locator(".mini-bar").first.evaluate("bar => getComputedStyle(bar).fill")
    assert colour == "rgb(0, 0, 145)"


def test_the_downloaded_report_keeps_its_own_styles(page, demo, tmp_path):
    """The HTML report is a file opened from the disk, offline: its styles travel inside it."""
    sign_in(page, demo, "acheteur")
    page.goto(demo["url"] + "/rapports?annee=2026")
    with page.expect_download() as downloading:
        page.get_by_role("link", name=re.compile(r"^Télécharger la page \(HTML")).click()
    saved = tmp_path / "rapport.html"
    downloading.value.save_as(saved)
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    page.goto(saved.as_uri())
    assert fetched == [saved.as_uri()]  # nothing from elsewhere
    header = page.locator(".header").evaluate("h => getComputedStyle(h).display")
    bar = page.locator("#table-sexe .mini-bar").first
    assert header == "flex" and bar.evaluate("b => getComputedStyle(b).fill") == "rgb(0, 0, 145)"
    assert bar.bounding_box()["width"] == pytest.approx(96, abs=1)  # 6rem
