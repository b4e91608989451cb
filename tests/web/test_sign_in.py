"""Signing in by a one-time link sent through the outbox, cookies and CSRF."""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from clausier import clock as product_clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.partners.models import Buyer, Facilitator
from clausier.web import auth
from clausier.web.models import LoginLink, WebSession
from notifications.models import OutboxMessage
from tests import factories as make
from tests.serving import PATIENT
from tests.web.conftest import clock_now
from tests.web.sign_in_world import (
    ask_link,
    csrf_of,
    follow_link,
    served,
    settings_for,
    try_token,
    world_data,
)


def _csrf(client: httpx.Client) -> str:
    page = client.get("/connexion").text
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def test_a_known_address_gets_a_one_time_link_and_an_unknown_one_the_same_answer(site):
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
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
        signed = follow_link(client, path)
        assert (signed.status_code, signed.headers["location"]) == (303, "/taches")
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
        assert client.get("/taches").status_code == 200
        assert "Prendre" in client.get("/taches").text, "signed in as a person, who may take tasks"
        assert client.get(path).status_code == 400, "a link serves once"


def test_forms_without_their_csrf_token_are_refused(site):
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
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
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
        response = client.get("/marches")
        assert (response.status_code, response.headers["location"]) == (303, "/connexion")


def test_a_reminders_link_brings_back_to_its_page_after_signing_in(site):
    """A buyer (or a contractor following a declaration reminder) signs in and lands on the
    page the link named; a link to another site is never followed."""
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
        first = client.get("/marches/MKT-2026-012?onglet=heures")
        assert first.headers["location"] == "/connexion"
        response = client.post(
            "/connexion/jeton", data={"token": site["tokens"]["buyer"], "csrf": _csrf(client)}
        )
        assert response.headers["location"] == "/marches/MKT-2026-012?onglet=heures"
    with httpx.Client(timeout=PATIENT, base_url=site["url"], follow_redirects=False) as client:
        client.cookies.set("clausier_suite", "//evil.example/x")
        response = client.post(
            "/connexion/jeton", data={"token": site["tokens"]["buyer"], "csrf": _csrf(client)}
        )
        assert response.headers["location"] == "/marches"


# --- a link: opened, then used once (on both stores) ------------------------------------------


@pytest.fixture
def world(store, clock, tmp_path):
    with served(store, settings_for(tmp_path), world_data(store)) as served_world:
        yield served_world


def test_opening_a_link_signs_nobody_in_and_its_button_does_once(world):
    """A mail scanner that opens every link first does not burn it."""
    with world.client() as client:
        ask_link(client, world.buyer_email)
        [path] = world.links_sent_to(world.buyer_email)
        for _ in range(2):  # the scanner, then the person
            page = client.get(path)
            assert page.status_code == 200
            assert "<title>Se connecter — Clausier</title>" in page.text  # the site's layout
            assert (
                "Ce lien vous connecte en tant que <strong>Région Normandie</strong> (acheteur)"
                in page.text
            )
            assert re.search(r'<button type="submit">Se connecter</button>', page.text)
        assert world.sessions() == 0, "opening the link signed nobody in"
        assert client.post(path, data={"csrf": "faux"}).status_code == 403, "the form's CSRF"
        signed = client.post(path, data={"csrf": csrf_of(page.text)})
        assert (signed.status_code, signed.headers["location"]) == (303, "/marches")
        assert client.get("/marches").status_code == 200
        assert client.post(path, data={"csrf": csrf_of(page.text)}).status_code == 400
        again = client.get(path)
        assert again.status_code == 400 and "déjà utilisé ou expiré" in again.text
    assert world.sessions() == 1


def test_twenty_people_pressing_the_button_of_one_link_at_once_open_one_session(
    store, clock, tmp_path
):
    racers = 20
    settings = settings_for(
        tmp_path, attempts_per_client_per_minute=1000
    )  # the race, not the limit
    with served(store, settings, world_data(store)) as world, world.client() as client:
        ask_link(client, world.facilitator_email)
        [path] = world.links_sent_to(world.facilitator_email)
        page = client.get(path)
        form = {"csrf": csrf_of(page.text)}
        cookies = {"clausier_csrf": client.cookies["clausier_csrf"]}
        barrier = threading.Barrier(racers)

        def press(_n: int) -> int:
            with httpx.Client(timeout=PATIENT, base_url=world.url, cookies=cookies) as racer:
                barrier.wait()
                return racer.post(path, data=form).status_code

        with ThreadPoolExecutor(racers) as pool:
            answers = Counter(pool.map(press, range(racers)))
        assert answers == {303: 1, 400: racers - 1}
        assert world.sessions() == 1


# --- a session lives only while its credential does (on both stores) --------------------------


def test_a_revoked_token_ends_its_web_session_at_the_next_page_and_download(world):
    with world.client() as client:
        assert try_token(client, world.tokens["buyer"]).status_code == 303
        assert client.get("/marches").status_code == 200
        download = client.get("/rapports/telecharger", params={"annee": "2026", "format": "csv"})
        assert download.status_code == 200
        with world.store.session() as session:
            tokens.revoke(session, world.token_ids["buyer"], now=clock_now())
            session.commit()
        for path in ("/marches", "/rapports/telecharger?annee=2026&format=csv"):
            answer = client.get(path)
            assert (answer.status_code, answer.headers["location"]) == (303, "/connexion")


def test_an_expired_token_ends_its_web_session(store, clock, tmp_path):
    expires = clock_now() + timedelta(hours=1)  # the session would have lasted 12 hours
    data = world_data(store, expires_at=expires)
    with served(store, settings_for(tmp_path), data) as world, world.client() as client:
        assert try_token(client, world.tokens["facilitator"]).status_code == 303
        assert client.get("/taches").status_code == 200
        clock.shift(timedelta(hours=1))
        assert client.get("/taches").headers["location"] == "/connexion"


def _set_facilitator(world, **values) -> None:
    with world.store.session() as session:
        person = session.get(Facilitator, world.facilitator_id)
        for name, value in values.items():
            setattr(person, name, value)
        session.add(person)
        session.commit()


def test_a_deactivated_facilitators_session_ends_and_stays_ended(world):
    with world.client() as client:
        ask_link(client, world.facilitator_email)
        [path] = world.links_sent_to(world.facilitator_email)
        assert follow_link(client, path).headers["location"] == "/taches"
        assert client.get("/taches").status_code == 200
        _set_facilitator(world, active=False)
        assert client.get("/taches").headers["location"] == "/connexion"
        _set_facilitator(world, active=True)
        assert client.get("/taches").headers["location"] == "/connexion", "sign in again"


def test_a_facilitator_moved_to_another_structure_is_signed_out_of_the_first(world):
    with world.client() as client:
        ask_link(client, world.facilitator_email)
        [path] = world.links_sent_to(world.facilitator_email)
        follow_link(client, path)
        with world.store.session() as session:
            other = make.structure(session, facilitators=0)
            session.commit()
        _set_facilitator(world, structure_id=other.id)
        assert client.get("/taches").headers["location"] == "/connexion"


def test_a_link_asked_for_before_a_deactivation_does_not_sign_in(world):
    with world.client() as client:
        ask_link(client, world.facilitator_email)
        [path] = world.links_sent_to(world.facilitator_email)
        _set_facilitator(world, active=False)
        refused = client.get(path)
        assert refused.status_code == 400 and "Lien invalide" in refused.text
        form = client.get("/connexion").text  # a button pressed on a page opened before
        assert client.post(path, data={"csrf": csrf_of(form)}).status_code == 400
    assert world.sessions() == 0


def test_a_buyer_whose_address_changed_is_signed_out_and_the_old_link_is_void(world):
    with world.client() as client:
        ask_link(client, world.buyer_email)
        ask_link(client, world.buyer_email)
        first, second = world.links_sent_to(world.buyer_email)
        follow_link(client, first)
        assert client.get("/marches").status_code == 200
        with world.store.session() as session:
            buyer = session.get(Buyer, world.buyer_id)
            buyer.email = "nouvelle-adresse@acheteur.example"
            session.add(buyer)
            session.commit()
        assert client.get("/marches").headers["location"] == "/connexion"
        assert client.get(second).status_code == 400


def test_ended_sessions_and_links_are_pruned_and_link_ids_never_come_back(session, clock):
    """Every sign-in left its link and its session in the store for good; they go once ended
    (the newest kept, so that SQLite never gives a link's id, the key of its e-mail, again)."""
    structure = make.structure(session, "mde-purge")
    email = session.exec(
        select(Facilitator.email).where(Facilitator.structure_id == structure.id)
    ).first()
    link_ids = []
    for _ in range(3):  # a sign-in a day, each link followed, each session left to expire
        now = product_clock.now()
        assert auth.send_link(session, email, settings=get_settings(), now=now)
        session.flush()
        link = session.exec(select(LoginLink).order_by(LoginLink.id.desc())).first()
        link_ids.append(link.id)
        principal = tokens.Principal(role=Role.facilitator, org_id=structure.id, label="x")
        auth.open_session(session, principal, now=now, link=link)
        session.commit()
        clock.shift(timedelta(days=1))
    assert link_ids == sorted(set(link_ids))
    # of three ended links and sessions, the newest of each is kept
    assert len(session.exec(select(LoginLink)).all()) == 2
    assert len(session.exec(select(WebSession)).all()) == 2
    assert auth.send_link(session, email, settings=get_settings(), now=product_clock.now())
    session.commit()
    ids = session.exec(select(LoginLink.id).order_by(LoginLink.id)).all()
    assert ids == [link_ids[-1], link_ids[-1] + 1]  # a new id, never a pruned one's
    keys = session.exec(
        select(OutboxMessage.idempotency_key).where(OutboxMessage.to_email == email)
    ).all()
    assert len(keys) == len(set(keys)) == 4  # every sign-in got its own message
