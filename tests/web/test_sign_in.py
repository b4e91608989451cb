"""Signing in by a one-time link sent through the outbox, cookies and CSRF."""

from __future__ import annotations

import re

import httpx
from sqlmodel import select

from notifications.models import OutboxMessage


def _csrf(client: httpx.Client) -> str:
    page = client.get("/connexion").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_a_known_address_gets_a_one_time_link_and_an_unknown_one_the_same_answer(site):
    with httpx.Client(base_url=site["url"], follow_redirects=False) as client:
        answers = []
        for email in ("facilitateur@mde-cotentin.fr", "inconnu@nulle-part.example"):
            response = client.post("/connexion/lien", data={"email": email, "csrf": _csrf(client)})
            answers.append((response.status_code, response.headers["location"]))
        assert answers[0] == answers[1] == (303, "/connexion?sent=1")
        with site["store"].session() as session:
            [message] = session.exec(
                select(OutboxMessage).where(OutboxMessage.idempotency_key.startswith("login:"))
            ).all()
        assert message.to_email == "facilitateur@mde-cotentin.fr"
        path = re.search(r"http://[^/]+(/connexion/\S+)", message.text_body).group(1)
        signed = client.get(path)
        assert (signed.status_code, signed.headers["location"]) == (303, "/taches")
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert client.get("/taches").status_code == 200
        assert "Prendre" in client.get("/taches").text, "signed in as a person, who may take tasks"
        assert client.get(path).status_code == 400, "a link serves once"


def test_forms_without_their_csrf_token_are_refused(site):
    with httpx.Client(base_url=site["url"], follow_redirects=False) as client:
        assert (
            client.post(
                "/connexion/jeton", data={"token": site["tokens"]["admin"], "csrf": "faux"}
            ).status_code
            == 403
        )
        response = client.post(
            "/connexion/jeton",
            data={"token": next(iter(site["tokens"].values())), "csrf": _csrf(client)},
        )
        assert response.status_code == 303
        assert client.post("/deconnexion", data={"csrf": "faux"}).status_code == 403
        assert client.post("/taches/1/fait", data={"csrf": "faux"}).status_code == 403


def test_pages_need_a_session(site):
    with httpx.Client(base_url=site["url"], follow_redirects=False) as client:
        response = client.get("/marches")
        assert (response.status_code, response.headers["location"]) == (303, "/connexion")


def test_a_reminders_link_brings_back_to_its_page_after_signing_in(site):
    """A buyer (or a contractor following a declaration reminder) signs in and lands on the
    page the link named; a link to another site is never followed."""
    with httpx.Client(base_url=site["url"], follow_redirects=False) as client:
        first = client.get("/marches/MKT-2026-012?onglet=heures")
        assert first.headers["location"] == "/connexion"
        response = client.post(
            "/connexion/jeton", data={"token": site["tokens"]["buyer"], "csrf": _csrf(client)}
        )
        assert response.headers["location"] == "/marches/MKT-2026-012?onglet=heures"
    with httpx.Client(base_url=site["url"], follow_redirects=False) as client:
        client.cookies.set("clausier_suite", "//evil.example/x")
        response = client.post(
            "/connexion/jeton", data={"token": site["tokens"]["buyer"], "csrf": _csrf(client)}
        )
        assert response.headers["location"] == "/marches"
