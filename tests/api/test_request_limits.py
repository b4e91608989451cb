"""What one request may send (``limits`` in config.yaml), set small here: over its limit a body
is refused in French, in the shape of its channel, before the caller is known and without being
read to its end; a NUL is found even split between two chunks; a monthly statement has a number
of lines; a huge bad file lists its first problems and counts the others."""

from __future__ import annotations

import asyncio
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from clausier.app import create_app
from clausier.auth.models import Role
from clausier.config import LimitSettings, get_settings
from clausier.declarations.models import DeclarationLine
from tests.serving import serving

# what does not depend on the store runs on SQLite only
SQLITE = pytest.mark.parametrize("store", ["sqlite"], indirect=True)
LIMITS = LimitSettings(
    body_bytes=2_000, load_bytes=4_000, statement_csv_bytes=30_000, form_bytes=1_000,
    statement_lines=600,
)  # fmt: skip


@pytest.fixture
def app(world):
    """The world's store, served with the small limits."""
    return create_app(
        world.client.app.state.engine, get_settings().model_copy(update={"limits": LIMITS})
    )


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


def _bearer(world, role: Role) -> dict:
    return {"Authorization": f"Bearer {world.tokens[role]}"}


def _csv_url(world) -> str:
    return f"/api/lots/{world.own.lot.id}/declarations.csv"


def _lines_of(world) -> list[DeclarationLine]:
    with Session(world.client.app.state.engine) as session:
        return list(session.exec(select(DeclarationLine)).all())


@SQLITE
def test_a_body_over_its_limit_is_refused_in_french_before_the_caller_is_known(client):
    market = {"ref": "MKT-X", "title": "x" * 3_000}
    anonymous = client.post("/api/markets", json=market)
    assert anonymous.status_code == 413
    assert anonymous.json() == {"error": {
        "type": "RequestTooLarge", "message": "Requête trop volumineuse : 2 ko au plus.",
        "limit": 2_000,
    }}  # fmt: skip
    assert anonymous.headers["connection"] == "close"
    load = client.post("/api/load", content=b"{" + b" " * 5_000 + b"}")
    assert load.status_code == 413
    assert load.json()["error"]["message"] == (
        "Chargement trop volumineux : 4 ko au plus par envoi ; découpez les données en "
        "plusieurs envois."
    )


@SQLITE
def test_a_form_over_its_limit_is_a_page_of_the_site(client):
    answer = client.post("/connexion/jeton", data={"token": "x" * 2_000, "csrf": "y"})
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith("text/html")
    page = unescape(answer.text)
    assert "<title>Envoi trop volumineux — Clausier</title>" in page
    assert "Formulaire trop volumineux : 1 ko au plus. Rien n'a été enregistré." in page


def _raw(url: str, request: bytes, timeout: float = 10) -> bytes:
    """Send ``request`` as it is, then read the answer to the end of the connection."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):  # the server closes the connection after a 413
            answer += chunk
        return answer


@SQLITE
def test_a_huge_announced_body_is_refused_at_once_without_waiting_for_it(app):
    """A gigabyte announced, a kilobyte sent: the answer comes without the rest."""
    first = b"{" + b" " * 1_000
    with serving(app) as url:
        for path, shape in (
            ("/api/markets", b"application/json"),
            ("/connexion/jeton", b"text/html"),
        ):
            head = (f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
                    "Content-Length: 1000000000\r\n\r\n").encode()  # fmt: skip
            answer = _raw(url, head + first)
            headers = answer.split(b"\r\n\r\n", 1)[0].lower()
            assert headers.startswith(b"http/1.1 413 ")
            assert b"content-type: " + shape in headers and b"connection: close" in headers
            assert "trop volumineu" in answer.decode()


@SQLITE
def test_a_chunked_upload_is_stopped_at_the_limit(app, world):
    """A contractor's CSV sent in chunks, never ended: refused once it passes 30 ko."""
    row = b"B-XXXXXXXX;direct_hire;35\n"
    chunks = [b"beneficiaire;modalite;heures\n"] + [row * 40] * 40  # 40 chunks of about 1 ko
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks)  # no last chunk
    head = (f"POST {_csv_url(world)}?period=2026-11 HTTP/1.1\r\nHost: test\r\n"
            f"Authorization: Bearer {world.tokens[Role.contractor]}\r\nContent-Type: text/csv\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()  # fmt: skip
    assert sum(map(len, chunks)) > LIMITS.statement_csv_bytes
    with serving(app) as url:
        answer = _raw(url, head + body).decode()
    assert answer.startswith("HTTP/1.1 413")
    assert (
        '"message":"Fichier d\'heures trop volumineux : 30 ko au plus ; envoyez les mois en '
        'plusieurs fichiers."' in answer
    )


def _on_its_own_loop(coroutine):
    """The coroutine run to its end on a loop of its own thread: the thread that runs the tests
    may hold one already (Playwright's, once a page test ran in this process)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


async def _post_in_chunks(app, path: str, chunks: list[bytes], headers: dict) -> httpx.Response:
    """Each chunk reaches the application as one ASGI message, as a slow network would."""

    async def body():
        for chunk in chunks:
            yield chunk

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.post(path, content=body(), headers=headers)


@SQLITE
def test_a_nul_split_across_chunks_is_still_refused(app, world):
    """JSON's \\u0000 cut anywhere between two chunks of the body."""
    body = b'{"buyers": [{"name": "x\\u0000"}]}'
    start = body.index(b"\\u0000")
    headers = {**_bearer(world, Role.admin), "Content-Type": "application/json"}
    for cut in range(start + 1, start + 6):
        chunks = [body[:cut], body[cut:]]
        answer = _on_its_own_loop(_post_in_chunks(app, "/api/load", chunks, headers))
        assert answer.status_code == 422, chunks
        assert "caractère nul (U+0000)" in answer.json()["error"]["message"]


@SQLITE
def test_a_form_with_a_nul_split_across_chunks_is_refused_on_a_page(app):
    chunks = [b"token=abc%0", b"0def&csrf=x"]
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    answer = _on_its_own_loop(_post_in_chunks(app, "/connexion/jeton", chunks, headers))
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert "le caractère nul (U+0000) n'est accepté dans aucun champ" in unescape(answer.text)


@SQLITE
def test_a_statement_with_more_lines_than_allowed_is_refused_with_the_count(client, world):
    rows = "".join(f"{world.own.beneficiary};direct_hire;1\n" for _ in range(601))
    answer = client.post(
        _csv_url(world), params={"period": "2026-11"}, headers=_bearer(world, Role.contractor),
        content=f"beneficiaire;modalite;heures\n{rows}".encode(),
    )  # fmt: skip
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["total"] == 1
    assert error["problems"] == [{
        "file": "fichier CSV", "line": None, "field": "fichier",
        "message": "601 lignes d'heures : 600 au plus par fichier ; envoyez les mois en "
        "plusieurs fichiers",
    }]  # fmt: skip


def _unknown_people(months: tuple[str, ...], per_month: int) -> bytes:
    rows = "".join(
        f"B-NOBODY{month[-2:]}{n:04d};direct_hire;1;{month}\n"
        for month in months
        for n in range(per_month)
    )
    return f"beneficiaire;modalite;heures;mois\n{rows}".encode()


def test_problems_past_the_first_200_are_counted_not_listed(client, world):
    """Two months of 250 unknown people each: 500 problems, the first 200 listed."""
    before = len(_lines_of(world))
    answer = client.post(
        _csv_url(world), headers=_bearer(world, Role.contractor),
        content=_unknown_people(("2026-10", "2026-11"), 250),
    )  # fmt: skip
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["total"] == 500 and len(error["problems"]) == 200
    assert error["message"].startswith("fichier CSV : 500 erreurs, rien n'a été enregistré.")
    assert "… et 300 autres erreurs non listées : corrigez d'abord celles-ci" in error["message"]
    assert len(_lines_of(world)) == before


@SQLITE
def test_the_month_page_counts_the_problems_it_does_not_list(client, world):
    page = client.get("/connexion").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    signed = client.post(
        "/connexion/jeton", data={"token": world.tokens[Role.contractor], "csrf": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert signed.status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/lots").text).group(1)
    answer = client.post(
        f"/lots/{world.own.lot.id}/declarations/2026-11",
        data={"csrf": csrf, "action": "fichier"},
        files={"fichier": ("heures.csv", _unknown_people(("2026-11",), 250), "text/csv")},
    )
    assert answer.status_code == 422
    text = unescape(answer.text)
    assert "250 erreurs : rien n'a été enregistré" in text
    assert len(re.findall(r'<a href="#fichier">Ligne \d+ du fichier, bénéficiaire : ', text)) == 200
    assert "… et 50 autres erreurs non listées : corrigez d'abord celles-ci" in text
