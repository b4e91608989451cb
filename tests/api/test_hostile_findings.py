"""The inputs the crowd-and-attacker probe found answering 500 (issue 15, item 14), one by one:
each is now refused in French, or accepted when it is fine, on both stores."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlmodel import select

from clausier.auth.models import Role
from clausier.partners.models import Facilitator
from tests.api.test_hostile_input import market_sample, sign_in


def test_lot_hours_past_what_a_database_integer_holds_are_refused(world):
    for hours in (2**31, 2**63):
        body = market_sample(world)
        body["lots"][0]["hours"] = hours
        answer = world.call(Role.buyer, "POST", "/api/markets", json=body)
        assert answer.status_code == 422, answer.text
        assert "inférieure ou égale à 10000000" in answer.json()["error"]["message"]


def test_hours_written_1e999999999_are_refused_by_the_api_the_csv_and_the_form(world):
    own = world.own
    url = f"/api/lots/{own.lot.id}/declarations/2026-10"
    line = {"beneficiary": own.beneficiary, "modality": "direct_hire", "hours": "1e999999999"}
    answer = world.call(Role.contractor, "PUT", url, json={"lines": [line]})
    assert (
        answer.status_code == 422
        and "strictement inférieure à 1000" in answer.json()["error"]["message"]
    )
    csv = f"beneficiaire;modalite;heures\n{own.beneficiary};direct_hire;1e999999999\n"
    answer = world.call(
        Role.contractor, "POST", f"/api/lots/{own.lot.id}/declarations.csv?period=2026-10",
        content=csv.encode(), headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert (
        answer.status_code == 422
        and "strictement inférieure à 1000" in answer.json()["error"]["message"]
    )
    with TestClient(world.client.app, raise_server_exceptions=False) as client:
        csrf = sign_in(client, world.tokens[Role.contractor])
        page = client.post(
            f"/lots/{own.lot.id}/declarations/2026-10",
            data={"csrf": csrf, "beneficiary-1": own.beneficiary, "modality-1": "direct_hire",
                  "hours-1": "1e999999999", "contract_type-1": "cdi", "action": "enregistrer"},
        )  # fmt: skip
    assert page.status_code == 422 and "strictement inférieure à 1000" in unescape(page.text)


def test_a_csv_value_past_the_csv_modules_limit_is_a_french_problem(world):
    own = world.own
    csv = f'beneficiaire;modalite;heures\n"{"x" * 140_000};direct_hire;35\n'
    answer = world.call(
        Role.contractor, "POST", f"/api/lots/{own.lot.id}/declarations.csv?period=2026-10",
        content=csv.encode(), headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 422, answer.text
    assert "guillemet" in answer.json()["error"]["message"]


def test_a_csv_with_cr_only_line_ends_is_read(world):
    own = world.own
    csv = f"beneficiaire;modalite;heures\r{own.beneficiary};direct_hire;35\r"
    answer = world.call(
        Role.contractor, "POST", f"/api/lots/{own.lot.id}/declarations.csv?period=2026-10",
        content=csv.encode(), headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["months"][0]["added"] == 1


def test_a_lone_surrogate_anywhere_in_a_json_body_is_refused(world):
    body = json.dumps(market_sample(world) | {"ref": "MKT-\ud800"})  # escaped: \\ud800
    answer = world.call(Role.buyer, "POST", "/api/markets", content=body,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert answer.status_code == 422
    assert "moitié de paire UTF-16" in answer.json()["error"]["message"]
    assert "« ref »" in answer.json()["error"]["message"]
    # a real pair (an emoji written as two escapes) is a character like any other
    fine = world.call(Role.buyer, "POST", "/api/markets",
                      json=market_sample(world) | {"title": "Toiture \U0001f3e0"})  # fmt: skip
    assert fine.status_code == 201, fine.text


def test_a_name_on_two_lines_is_refused_and_an_old_one_does_not_break_the_calendar(world, store):
    structure = {"ref": "mde-z", "name": "MDE Z", "kind": "maison_emploi", "email": "z@z.example",
                 "facilitators": [{"email": "n@z.example", "name": "Camille\nMartin"}]}  # fmt: skip
    answer = world.call(Role.admin, "POST", "/api/load", json={"structures": [structure]})
    assert answer.status_code == 422
    assert "une seule ligne de texte" in answer.json()["error"]["message"]
    with store.session() as session:  # a name stored before the rule, as older data may hold
        person = session.exec(
            select(Facilitator).where(Facilitator.email == world.own.facilitator_email)
        ).one()
        person.name = "Camille\nMartin"
        session.add(person)
        session.commit()
    calendar = world.call(
        Role.admin, "GET", f"/api/facilitators/{world.own.facilitator_email}/tasks.ics"
    )
    assert calendar.status_code == 200 and "BEGIN:VCALENDAR" in calendar.text


def test_a_check_date_in_the_year_99999999999999999999_is_refused_on_the_form(world):
    with TestClient(world.client.app, raise_server_exceptions=False) as client:
        csrf = sign_in(client, world.tokens[Role.facilitator])
        page = client.post("/beneficiaires", data={
            "csrf": csrf, "public": "deld", "sex": "F", "age_band": "26_to_49",
            "checked_by": world.own.facilitator_email, "checked_on": "1/1/99999999999999999999",
        })  # fmt: skip
    assert page.status_code == 422
    assert re.search(r"date", unescape(page.text))


def test_a_year_written_in_superscript_digits_is_not_a_year(world):
    with TestClient(world.client.app, raise_server_exceptions=False) as client:
        sign_in(client, world.tokens[Role.buyer])
        for url in ("/rapports", "/rapports/telecharger"):
            page = client.get(url, params={"annee": "²⁰²⁶"})
            assert page.status_code < 500 and page.status_code != 200, url


def test_a_statement_naming_70_000_codes_is_refused_not_crashed(world):
    """On PostgreSQL a statement naming ≥ 65,536 codes passed the bound parameters of one
    query (500); a statement is now capped in lines, and one past the cap is refused."""
    rows = "".join(f"B-{n:08d};direct_hire;1\n" for n in range(70_000))
    answer = world.call(
        Role.contractor, "POST",
        f"/api/lots/{world.own.lot.id}/declarations.csv?period=2026-10",
        content=("beneficiaire;modalite;heures\n" + rows).encode(),
        headers={"Content-Type": "text/csv"},
    )  # fmt: skip
    assert answer.status_code == 422, answer.text[:300]
    assert "70\u202f000 lignes d'heures : 10\u202f000 au plus" in answer.json()["error"]["message"]
