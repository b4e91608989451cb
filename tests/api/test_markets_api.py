"""The buyer's status lookup and transitions over HTTP: the domain's answers in a stable shape."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy import event

from clausier.auth.models import Role
from clausier.clock import PARIS
from clausier.markets.status_cache import StatusCache


def test_the_status_lookup_has_state_history_lots_tasks_and_reminders(world):
    body = world.call(Role.buyer, "GET", f"/api/markets/{world.own.market.ref}").json()
    assert (body["state"], body["state_label"]) == ("execution", "Exécution")
    assert body["structure"]["name"] == world.own.structure.name
    assert [lot["hours"] for lot in body["lots"]] == [700, 700]
    assert body["history"][0]["trigger"] == "load"
    assert {task["kind"] for task in body["open_tasks"]} == {
        "kickoff_meeting",
        "present_candidates",
        "check_declaration",  # the contractor declared September
    }
    first = body["lots"][0]
    assert first["progress"]["target"] == 700 and first["progress"]["submitted"] == "35.00"
    assert body["next_reminders"] and body["next_reminders"][0]["rule"]


def test_a_refused_transition_is_409_with_the_state_and_the_triggers_possible_now(world, clock):
    url = f"/api/markets/{world.own.market.ref}/transitions/publish"
    response = world.call(Role.buyer, "POST", url, json={})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["type"] == "TransitionNotAllowed"
    assert "« Exécution » (execution)" in error["message"]
    # the execution runs until 31/08/2027: « complete » is not possible yet, and says why
    assert (error["state"], error["allowed"], error["needs"]) == ("execution", [], {})
    assert [blocked["trigger"] for blocked in error["blocked"]] == ["complete"]
    (reason,) = error["blocked"][0]["reasons"]
    assert "se termine le 31/08/2027" in reason and "attendez le 31/08/2027" in reason
    assert "« complete » est bloqué : " + reason in error["message"]

    clock.move_to(date(2027, 8, 31))
    error = world.call(Role.buyer, "POST", url, json={}).json()["error"]
    assert (error["allowed"], error["blocked"]) == (["complete"], [])


def test_a_guard_refusal_is_409_with_its_reasons_and_the_other_triggers(world, clock):
    url = f"/api/markets/{world.own.market.ref}/transitions/complete"
    error = world.call(Role.buyer, "POST", url, json={}).json()["error"]
    assert error["type"] == "GuardRefused"
    assert "attendez le 31/08/2027" in error["reasons"][0]
    # the refused trigger is not offered, nor listed again among the blocked
    assert (error["allowed"], error["blocked"]) == ([], [])
    assert error["message"].endswith("Déclencheurs possibles maintenant : aucun.")


def test_bad_data_is_422_in_french(world):
    url = f"/api/markets/{world.own.market.ref}/transitions/complete"
    response = world.call(Role.buyer, "POST", url, json={"data": {"motif": "x"}})
    assert response.status_code == 422
    assert "« motif » : clé inconnue" in response.json()["error"]["message"]
    response = world.call(Role.buyer, "POST", url, json={"expected_version": "deux"})
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["message"] == "attendu : un nombre entier"


def test_a_stale_version_is_409(world, clock):
    from datetime import date

    clock.move_to(date(2028, 6, 1))
    url = f"/api/markets/{world.own.market.ref}/transitions/complete"
    assert world.call(Role.buyer, "POST", url, json={"expected_version": 9}).status_code == 409
    moved = world.call(Role.facilitator, "POST", url, json={"expected_version": 1})
    assert moved.status_code == 200 and moved.json()["state"] == "evaluation"
    assert moved.json()["history"][-1]["actor"] == f"facilitator:{world.own.structure.name}"


def test_lists_are_paginated(world):
    page = world.call(Role.admin, "GET", "/api/markets?limit=1&offset=1").json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (2, 1, 1, 1)
    assert world.call(Role.admin, "GET", "/api/markets?limit=500").status_code == 422


def test_loading_through_the_api_is_all_or_nothing(world):
    response = world.call(
        Role.admin,
        "POST",
        "/api/load",
        json={"buyers": [{"siret": "12345678901234", "name": "X", "email": "x@x.example"}]},
    )
    assert response.status_code == 422
    [problem] = response.json()["error"]["problems"]
    assert problem["field"] == "buyers[12345678901234].siret"


def test_a_load_through_the_api_answers_with_all_its_problems_at_once(world):
    market = {"ref": "MKT-9", "buyer": "12345678901234", "title": "Gymnase", "commune": "99999",
              "cpv": "45212200", "amount": -1000}  # fmt: skip
    response = world.call(Role.admin, "POST", "/api/load", json={"markets": [market]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert [(p["file"], p["field"]) for p in error["problems"]] == [
        ("requête", "markets[MKT-9].buyer"),
        ("requête", "markets[MKT-9].amount"),
        ("requête", "markets[MKT-9].commune"),
    ]
    assert error["total"] == 3
    assert error["problems"][2]["message"].startswith("commune inconnue « 99999 »")
    assert world.call(Role.admin, "GET", "/api/markets/MKT-9").status_code == 404


def test_a_nul_character_is_refused_before_it_reaches_the_store(world):
    response = world.call(Role.admin, "GET", "/api/coverage?buyer=%00")
    assert response.status_code == 422
    assert "caractère nul" in response.json()["error"]["message"]
    posted = world.client.post(
        "/api/load",
        content=b'{"buyers": [{"name": "\\u0000"}]}',
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {world.tokens[Role.admin]}",
        },
    )
    assert posted.status_code == 422


@contextmanager
def statements(engine):
    """The statements the store receives meanwhile."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_the_status_lookup_reads_the_store_in_a_few_statements(world, store):
    """Issue 8: one per part of the document, none per lot, task or reminder (it was 15)."""
    path = f"/api/markets/{world.own.market.ref}"
    world.call(Role.buyer, "GET", path)  # the commune's place is read once, then kept
    world.client.app.state.status_cache = StatusCache(0)  # each lookup builds its document
    with statements(store.engine) as seen:
        response = world.call(Role.buyer, "GET", path)
    assert response.status_code == 200
    # token, the market's id and fingerprint in the caller's reach, the market, buyer/structure/
    # convention with the lots, their contractors and hours submitted, conventions covering the
    # commune, history, open tasks, next reminders
    assert len(seen) == 8, seen


def test_a_status_read_again_unchanged_is_served_as_kept(world, store):
    """Issue 15, throughput: the token and the market's fingerprint, and the same bytes."""
    path = f"/api/markets/{world.own.market.ref}"
    built = world.call(Role.buyer, "GET", path)
    with statements(store.engine) as in_threads, statements(on_the_loop(world)) as seen:
        kept = world.call(Role.buyer, "GET", path)
    assert kept.status_code == 200 and kept.content == built.content
    assert in_threads == []  # read on the event loop
    assert len(seen) == 2, seen
    assert "market_change" in seen[1]


def on_the_loop(world):
    """The engine a kept lookup reads on, on the event loop: SQLite's loop connection, or the
    async engine (PostgreSQL) the app made at start-up."""
    state = world.client.app.state
    return state.loop_reader or state.async_reader[0].sync_engine


def test_a_market_in_evaluation_reads_its_outcomes_once(world, store, clock):
    """Issue 15, throughput: the people, their outcomes and what ``close`` waits for were read
    four times (11 statements); one statement now tells all three."""
    F, ref, code = Role.facilitator, world.own.market.ref, world.own.beneficiary
    review = {"decisions": [{"line": world.own.line.id, "decision": "validate"}]}
    assert world.call(F, "POST", "/api/declarations/review", json=review).status_code == 200
    clock.move_to(datetime(2027, 9, 1, 10, 0, tzinfo=PARIS))  # the execution is over
    assert world.call(F, "POST", f"/api/markets/{ref}/transitions/complete", json={}).is_success
    world.call(Role.buyer, "GET", f"/api/markets/{ref}")
    world.client.app.state.status_cache = StatusCache(0)  # each lookup builds its document
    with statements(store.engine) as seen:
        document = world.call(Role.buyer, "GET", f"/api/markets/{ref}").json()
    assert document["outcomes"] == {"beneficiaries": 1, "recorded": 0, "by_outcome": {}}
    [close] = [t for t in document["blocked_triggers"] if t["trigger"] == "close"]
    assert any(code in reason for reason in close["reasons"]), close
    # the eight of any market, the evaluation's standing, the months declared with their hours
    # still to review, and, its last month still declarable, the day the execution ended
    assert len(seen) == 11, seen

    body = {
        "summary": "Bilan : une embauche durable",
        "outcomes": {code: "durable_employment"},
        "early_reason": "CDI signé à la fin du chantier",
    }  # before six months after the end
    assert world.call(F, "PUT", f"/api/markets/{ref}/evaluation", json=body).is_success
    document = world.call(Role.buyer, "GET", f"/api/markets/{ref}").json()
    assert document["outcomes"] == {
        "beneficiaries": 1, "recorded": 1, "by_outcome": {"durable_employment": 1},
    }  # fmt: skip
    # close now waits only for the last month, still declarable until its deadline
    [close] = [t for t in document["blocked_triggers"] if t["trigger"] == "close"]
    [reason] = close["reasons"]
    assert "ne sont pas encore déclarés" in reason, reason


def test_the_queue_is_a_page_and_a_count_without_joins(world, store):
    with statements(store.engine) as seen:
        response = world.call(
            Role.facilitator, "GET", f"/api/tasks?structure={world.own.structure.ref}&limit=1"
        )
    assert response.status_code == 200 and response.json()["total"] >= 2
    assert len(response.json()["items"]) == 1
    [count] = [s for s in seen if "count(" in s.lower()]
    assert " JOIN " not in count.upper()
    assert len(seen) == 4, seen  # token, structure, page, count


def test_a_contractor_reads_no_other_lots_in_what_the_triggers_wait_for(world):
    url = f"/api/markets/{world.own.market.ref}"
    buyer = world.call(Role.buyer, "GET", url).json()
    assert "il manque encore" in buyer["blocked_triggers"][0]["reasons"][0]
    contractor = world.call(Role.contractor, "GET", url).json()
    assert contractor["blocked_triggers"] == [
        {"trigger": "complete", "label": "Terminer l'exécution", "reasons": [], "missing": []}
    ]
