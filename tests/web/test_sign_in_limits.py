"""Sign-in throttling, on both stores: links asked for one address or from one client stop being
sent (with the same answer, so that addresses still do not leak); token and link guesses get a
French 429 past the limit; the counts live in the database, shared by every process."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlmodel import func, select

from clausier.auth.models import SignInCounter
from tests import stores
from tests.web.sign_in_world import (
    ask_link,
    csrf_of,
    follow_link,
    served,
    settings_for,
    try_token,
    world_data,
)


@pytest.fixture
def world(store, clock, tmp_path):
    with served(store, settings_for(tmp_path), world_data(store)) as served_world:
        yield served_world


def _counters(world) -> int:
    with world.store.session() as session:
        return session.exec(select(func.count()).select_from(SignInCounter)).one()


def test_links_to_one_address_stop_past_the_limit_with_the_same_answer(world, clock):
    limit = world.settings.sign_in.links_per_address_per_hour
    with world.client() as client:
        answers = set()
        for n in range(limit + 2):  # the address as people type it: case and spaces vary
            typed = f" {world.facilitator_email.upper()} " if n % 2 else world.facilitator_email
            answer = ask_link(client, typed)
            answers.add((answer.status_code, answer.headers["location"]))
        assert answers == {(303, "/connexion?sent=1")}
        assert len(world.links_sent_to(world.facilitator_email)) == limit
        unknown = ask_link(client, "inconnu@nulle-part.example")
        assert (unknown.status_code, unknown.headers["location"]) == answers.pop()
        clock.shift(timedelta(hours=1))  # the next hour, one more
        ask_link(client, world.facilitator_email)
        sent = world.links_sent_to(world.facilitator_email)
        assert len(sent) == limit + 1
        assert follow_link(client, sent[-1]).headers["location"] == "/taches"
    assert _counters(world) == 3, (
        "the last hour's windows pruned: this hour's client, address, attempts"
    )


def test_links_asked_from_one_client_stop_past_its_limit_whatever_the_address(
    store, clock, tmp_path
):
    settings = settings_for(tmp_path, links_per_client_per_hour=2)
    with served(store, settings, world_data(store)) as world, world.client() as client:
        for email in (world.buyer_email, "inconnu@nulle-part.example", world.contractor_email):
            assert ask_link(client, email).headers["location"] == "/connexion?sent=1"
        assert len(world.links_sent_to(world.buyer_email)) == 1
        assert world.links_sent_to(world.contractor_email) == [], "the third: nothing sent"


def test_token_guesses_get_a_french_429_past_the_limit_and_then_the_right_one_too(world, clock):
    limit = world.settings.sign_in.attempts_per_client_per_minute
    with world.client() as client:
        for _ in range(limit + 3):  # a person's own sign-ins are not guesses
            assert try_token(client, world.tokens["buyer"]).status_code == 303
        for _ in range(limit):
            assert try_token(client, "clz_" + secrets.token_urlsafe(32)).status_code == 401
        refused = try_token(client, "clz_" + secrets.token_urlsafe(32))
        assert refused.status_code == 429
        assert "<title>Trop de tentatives — Clausier</title>" in refused.text
        assert "Trop de tentatives : réessayez dans 1 minute." in refused.text
        assert refused.headers["retry-after"] == "60"
        assert try_token(client, world.tokens["buyer"]).status_code == 429, "nothing checked"
        clock.shift(timedelta(minutes=1))
        assert try_token(client, world.tokens["buyer"]).status_code == 303


def test_link_guesses_count_with_token_guesses_and_forwarded_for_is_not_believed(world):
    limit = world.settings.sign_in.attempts_per_client_per_minute
    with world.client() as client:
        form = csrf_of(client.get("/connexion").text)
        for n in range(limit):
            guess = f"/connexion/{secrets.token_urlsafe(32)}"
            spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}  # anyone can write this header
            answer = (
                client.get(guess, headers=spoofed)
                if n % 2
                else client.post(guess, data={"csrf": form}, headers=spoofed)
            )
            assert answer.status_code == 400
        refused = client.get(f"/connexion/{secrets.token_urlsafe(32)}")
        assert refused.status_code == 429 and "réessayez dans 1 minute" in refused.text
        assert try_token(client, world.tokens["buyer"]).status_code == 429


def test_two_processes_on_one_database_share_the_counts(store, clock, tmp_path):
    """Two applications with their own engine, as two ``clausier serve`` on one database."""
    settings = settings_for(tmp_path)
    limit = settings.sign_in.attempts_per_client_per_minute
    links = settings.sign_in.links_per_address_per_hour
    data = world_data(store)
    second_engine = stores.engine_for(store.url)
    try:
        with (
            served(store, settings, data) as first,
            served(store, settings, data, engine=second_engine) as second,
            first.client() as one,
            second.client() as two,
        ):
            for n in range(limit):
                assert try_token((one, two)[n % 2], "clz_faux").status_code == 401
            assert try_token(one, "clz_faux").status_code == 429
            assert try_token(two, "clz_faux").status_code == 429
            for n in range(links + 1):
                ask_link((one, two)[n % 2], first.buyer_email)
            assert len(first.links_sent_to(first.buyer_email)) == links
    finally:
        second_engine.dispose()
