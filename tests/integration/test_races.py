"""Every write endpoint raced by real concurrent HTTP requests against a real uvicorn, on both
stores: no request answers 5xx, one request wins where only one may, and every counter equals a
recount from the rows.

Covered elsewhere, with their own races: ``POST /api/markets`` and ``POST /api/load`` (with the
ownership of a market), and the sign-in forms ``/connexion/lien``, ``/connexion/jeton`` and
``/connexion/{secret}`` (``tests/web/test_sign_in.py``, ``tests/web/test_sign_in_limits.py``).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from html import unescape

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.auth.tokens import Principal
from clausier.beneficiaries.models import Beneficiary, Outcome
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partners.models import Facilitator
from clausier.tasks.models import Task, TaskStatus
from clausier.web import auth
from clausier.web.models import WebSession
from notifications.models import OutboxMessage
from tests import factories as make
from tests.serving import serving

RACERS = 8
MONTH = "2026-10"  # within the execution, before the clock's month: declarable
REVIEWED = "2026-09"  # the month whose lines wait for their review


@dataclass
class Arena:
    url: str
    store: object
    tokens: dict[Role, str]
    market: str  # in execution, lots held by the contractor
    lots: list[int]
    covered: str  # a covered market still in identification
    task: int  # an open task of the market in execution
    structure: int
    facilitators: list[str]  # e-mails, one per racer
    people: list[str]  # beneficiary codes registered by the structure, one per racer
    to_review: list[int]  # submitted lines of REVIEWED, on both lots

    def session(self):
        return self.store.session()

    def api(self, role: Role) -> dict:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def web(self, role: Role, person: str | None = None) -> tuple[dict, str]:
        """A web session (the header of its cookie, its form token) opened as signing in does: with
        the role's token, or with the link sent to ``person``."""
        with self.session() as session:
            now, link = product_clock.now(), None
            if person is None:
                principal = tokens.authenticate(session, self.tokens[role], now=now)
            else:
                assert auth.send_link(session, person, settings=get_settings(), now=now)
                mail = session.exec(
                    select(OutboxMessage.text_body)
                    .where(OutboxMessage.to_email == person)
                    .order_by(OutboxMessage.id.desc())
                ).first()
                link = auth.use_link(session, re.search(r"/connexion/(\S+)", mail)[1], now=now)
                principal = Principal(role=Role(link.role), org_id=link.org_id, label=link.label)
            secret = auth.open_session(session, principal, now=now, link=link)
            csrf = session.exec(
                select(WebSession.csrf).where(WebSession.secret_hash == tokens.digest(secret))
            ).one()
            session.commit()
        return {"Cookie": f"{auth.COOKIE}={secret}"}, csrf

    def race(self, send: Callable[[httpx.Client, int], httpx.Response]) -> list[httpx.Response]:
        """``RACERS`` clients, connected first, send at the same instant; none may get a 5xx."""
        start = threading.Barrier(RACERS)

        def one(number: int) -> httpx.Response:
            with httpx.Client(base_url=self.url, timeout=60, follow_redirects=False) as client:
                client.get("/api/health")  # the connection is open before the start
                start.wait()
                return send(client, number)

        with ThreadPoolExecutor(RACERS) as pool:
            answers = list(pool.map(one, range(RACERS)))
        failed = [(a.status_code, a.text[:300]) for a in answers if a.status_code >= 500]
        assert not failed, failed
        return answers


@pytest.fixture
def arena(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-course", facilitators=RACERS)
        make.convention(session, buyer=buyer, structure=structure)
        contractor = make.contractor(session)
        market = make.market(
            session, buyer=buyer, state="execution", awarded_to=contractor,
            execution_starts_on=date(2026, 9, 1), execution_ends_on=date(2027, 8, 31),
        )  # fmt: skip
        covered = make.market(session, buyer=buyer)
        lots = session.exec(select(Lot.id).where(Lot.market_id == market.id).order_by(Lot.id)).all()
        people = [make.beneficiary(session, structure).code for _ in range(RACERS)]
        half = RACERS // 2
        for lot_id, codes in ((lots[0], people[:half]), (lots[1], people[half:])):
            declare(
                session, lot=session.get(Lot, lot_id), period=REVIEWED, actor="test",
                lines=[LineInput(code, "direct_hire", 10 + rank) for rank, code in enumerate(codes)],
                settings=get_settings(), today=product_clock.today(), now=product_clock.now(),
            )  # fmt: skip
        to_review = session.exec(select(DeclarationLine.id).order_by(DeclarationLine.id)).all()
        task = session.exec(
            select(Task.id).where(Task.market_id == market.id).order_by(Task.id)
        ).first()
        emails = session.exec(
            select(Facilitator.email)
            .where(Facilitator.structure_id == structure.id)
            .order_by(Facilitator.id)
        ).all()
        orgs = {Role.admin: None, Role.buyer: buyer.siret, Role.facilitator: structure.ref,
                Role.contractor: contractor.siret}  # fmt: skip
        issued = {
            role: tokens.create(
                session, role=role, org=org, expires_at=None, now=product_clock.now()
            )[0]
            for role, org in orgs.items()
        }
        session.commit()
        ids = (market.ref, list(lots), covered.ref, task, structure.id)
    with serving(create_app(store.engine, get_settings())) as url:
        yield Arena(url, store, issued, ids[0], ids[1], ids[2], ids[3], ids[4], list(emails),
                    people, list(to_review))  # fmt: skip


def statuses(answers: list[httpx.Response]) -> Counter:
    return Counter(answer.status_code for answer in answers)


def recounted(session, lot_id: int) -> Decimal:
    total = session.exec(
        select(func.coalesce(func.sum(DeclarationLine.hours), 0)).where(
            DeclarationLine.lot_id == lot_id, DeclarationLine.status == LineStatus.validated
        )
    ).one()
    return Decimal(total).quantize(Decimal("0.01"))


def assert_hours_recounted(arena: Arena) -> None:
    """The figure the guard, the pace, the reminders and the reports read is the lines' sum."""
    with arena.session() as session:
        for lot_id in arena.lots:
            lot = session.get(Lot, lot_id)
            assert lot.hours_validated == recounted(session, lot_id), lot.number


def in_evaluation(arena: Arena) -> None:
    """The reviewed month validated, and the market past its execution (as a complete leaves it)."""
    with arena.session() as session:
        review(
            session, [Decision(line, True) for line in arena.to_review], actor="test",
            settings=get_settings(), today=product_clock.today(), now=product_clock.now(),
        )  # fmt: skip
        market = session.exec(select(Market).where(Market.ref == arena.market)).one()
        market.state = "evaluation"
        session.add(market)
        session.commit()


# --- the lifecycle ----------------------------------------------------------------------------


def test_racing_one_trigger_over_http_makes_one_transition(arena):
    answers = arena.race(
        lambda client, _n: client.post(
            f"/api/markets/{arena.covered}/transitions/prepare_offer",
            json={}, headers=arena.api(Role.buyer),
        )
    )  # fmt: skip
    assert statuses(answers) == {200: 1, 409: RACERS - 1}
    with arena.session() as session:
        market = session.exec(select(Market).where(Market.ref == arena.covered)).one()
        triggers = session.exec(
            select(TransitionLog.trigger).where(TransitionLog.market_id == market.id)
        ).all()
    assert (market.state, market.version) == ("insertion_offer", 2)
    assert sorted(triggers) == ["load", "prepare_offer"]


# --- tasks ------------------------------------------------------------------------------------


def test_a_task_marked_done_by_many_at_once_is_done_once(arena):
    answers = arena.race(
        lambda client, n: client.post(
            f"/api/tasks/{arena.task}/done",
            json={"facilitator": arena.facilitators[n]}, headers=arena.api(Role.facilitator),
        )
    )  # fmt: skip
    assert statuses(answers) == {200: 1, 409: RACERS - 1}
    assert all(
        "déjà faite" in a.json()["error"]["message"] for a in answers if a.status_code == 409
    )
    winner = next(n for n, a in enumerate(answers) if a.status_code == 200)
    with arena.session() as session:
        task = session.get(Task, arena.task)
    assert (task.status, task.closed_by) == (TaskStatus.done, arena.facilitators[winner])


def test_done_and_cancel_at_once_leave_one_outcome(arena):
    def send(client, n):
        headers = arena.api(Role.facilitator)
        if n % 2:
            return client.post(f"/api/tasks/{arena.task}/cancel", json={"reason": f"doublon {n}"},
                               headers=headers)  # fmt: skip
        return client.post(f"/api/tasks/{arena.task}/done", json={}, headers=headers)

    answers = arena.race(send)
    assert statuses(answers) == {200: 1, 409: RACERS - 1}
    winner = next(n for n, a in enumerate(answers) if a.status_code == 200)
    with arena.session() as session:
        task = session.get(Task, arena.task)
    if winner % 2:
        assert (task.status, task.cancel_reason) == (TaskStatus.cancelled, f"doublon {winner}")
    else:
        assert (task.status, task.cancel_reason) == (TaskStatus.done, None)


def test_hand_overs_racing_a_done_never_touch_a_closed_task(arena):
    def send(client, n):
        headers = arena.api(Role.facilitator)
        if n % 2:
            return client.post(f"/api/tasks/{arena.task}/assign",
                               json={"to": arena.facilitators[n]}, headers=headers)  # fmt: skip
        return client.post(f"/api/tasks/{arena.task}/done", json={}, headers=headers)

    answers = arena.race(send)
    dones = [a.status_code for n, a in enumerate(answers) if n % 2 == 0]
    assert sorted(dones) == [200] + [409] * (len(dones) - 1)
    assert {a.status_code for n, a in enumerate(answers) if n % 2} <= {200, 409}
    with arena.session() as session:
        task = session.get(Task, arena.task)
        assignee = session.get(Facilitator, task.assignee_id) if task.assignee_id else None
    assert task.status == TaskStatus.done
    handed = {
        arena.facilitators[n] for n, a in enumerate(answers) if n % 2 and a.status_code == 200
    }
    assert (assignee.email if assignee else None) in handed | {None}


def test_a_task_clicked_done_on_many_pages_at_once_is_done_once(arena):
    signed_in, csrf = arena.web(Role.facilitator)
    answers = arena.race(
        lambda client, _n: client.post(
            f"/taches/{arena.task}/fait", data={"csrf": csrf}, headers=signed_in
        )
    )
    assert statuses(answers) == {303: 1, 409: RACERS - 1}
    assert all("déjà faite" in a.text for a in answers if a.status_code == 409)
    with arena.session() as session:
        assert session.get(Task, arena.task).status == TaskStatus.done


def test_done_cancel_and_hand_over_from_the_queue_page_at_once_leave_one_outcome(arena):
    """« Fait », « Annuler la tâche » and « Confier » clicked on many pages at once: one closes
    the task; a hand-over that came first changes the assignee only; none touches it after."""
    signed_in, csrf = arena.web(Role.facilitator)

    def send(client, n):
        if n % 3 == 0:
            return client.post(f"/taches/{arena.task}/fait", data={"csrf": csrf, "commentaire": f"vu {n}"},
                               headers=signed_in)  # fmt: skip
        if n % 3 == 1:
            return client.post(f"/taches/{arena.task}/annuler", data={"csrf": csrf, "motif": f"doublon {n}"},
                               headers=signed_in)  # fmt: skip
        return client.post(f"/taches/{arena.task}/confier", data={"csrf": csrf, "a": arena.facilitators[n]},
                           headers=signed_in)  # fmt: skip

    answers = arena.race(send)
    closing = [n for n, a in enumerate(answers) if n % 3 != 2 and a.status_code == 303]
    assert len(closing) == 1, [a.status_code for a in answers]
    assert {a.status_code for a in answers} <= {303, 409}
    with arena.session() as session:
        task = session.get(Task, arena.task)
    winner = closing[0]
    if winner % 3 == 0:
        assert (task.status, task.comment, task.cancel_reason) == (
            TaskStatus.done,
            f"vu {winner}",
            None,
        )
    else:
        assert (task.status, task.cancel_reason) == (TaskStatus.cancelled, f"doublon {winner}")


def test_a_task_taken_by_many_facilitators_at_once_has_one_taker(arena):
    sessions = [arena.web(Role.facilitator, person=email) for email in arena.facilitators]
    answers = arena.race(
        lambda client, n: client.post(
            f"/taches/{arena.task}/prendre", data={"csrf": sessions[n][1]}, headers=sessions[n][0]
        )
    )
    assert statuses(answers) == {303: 1, 409: RACERS - 1}
    assert all("déjà prise" in a.text for a in answers if a.status_code == 409)
    winner = next(n for n, a in enumerate(answers) if a.status_code == 303)
    with arena.session() as session:
        task = session.get(Task, arena.task)
        assert session.get(Facilitator, task.assignee_id).email == arena.facilitators[winner]


# --- declarations -----------------------------------------------------------------------------


def assert_one_statement(arena: Arena) -> None:
    """One statement of the month, amended once per request after the first, holding the line
    of its last declarer, and one check of it waiting in the facilitators' queue."""
    with arena.session() as session:
        statements = session.exec(
            select(Statement).where(Statement.lot_id == arena.lots[0], Statement.period == MONTH)
        ).all()
        assert [s.amendments for s in statements] == [RACERS - 1]
        lines = session.exec(
            select(DeclarationLine).where(DeclarationLine.statement_id == statements[0].id)
        ).all()
        assert len(lines) == 1
        checks = session.exec(
            select(Task).where(
                Task.key.like(f"%:lot:{arena.lots[0]}:{MONTH}:%"),
                Task.status == TaskStatus.open,
            )
        ).all()
        assert len(checks) == 1, [t.key for t in checks]


def test_first_declarations_of_a_month_over_the_api_make_one_statement(arena):
    answers = arena.race(
        lambda client, n: client.put(
            f"/api/lots/{arena.lots[0]}/declarations/{MONTH}",
            json={"lines": [{"beneficiary": arena.people[n], "modality": "direct_hire", "hours": 35}]},
            headers=arena.api(Role.contractor),
        )
    )  # fmt: skip
    assert statuses(answers) == {200: RACERS}
    # each read the count its predecessor left: the counts answered are 0, 1, … without a gap
    assert sorted(a.json()["amendments"] for a in answers) == list(range(RACERS))
    assert_one_statement(arena)


def test_first_declarations_of_a_month_by_file_make_one_statement(arena):
    answers = arena.race(
        lambda client, n: client.post(
            f"/api/lots/{arena.lots[0]}/declarations.csv",
            content=f"beneficiaire;modalite;heures;periode\n{arena.people[n]};direct_hire;35;{MONTH}\n",
            headers={**arena.api(Role.contractor), "Content-Type": "text/csv"},
        )
    )  # fmt: skip
    assert statuses(answers) == {200: RACERS}
    assert sorted(a.json()["months"][0]["amendments"] for a in answers) == list(range(RACERS))
    assert_one_statement(arena)


def test_first_declarations_of_a_month_by_the_form_make_one_statement(arena):
    signed_in, csrf = arena.web(Role.contractor)
    answers = arena.race(
        lambda client, n: client.post(
            f"/lots/{arena.lots[0]}/declarations/{MONTH}",
            data={"csrf": csrf, "action": "enregistrer", "beneficiary-1": arena.people[n],
                  "modality-1": "direct_hire", "hours-1": "35"},
            headers=signed_in,
        )
    )  # fmt: skip
    assert statuses(answers) == {303: RACERS}
    assert_one_statement(arena)


def test_one_person_declared_on_two_lots_at_once_stays_within_a_month(arena):
    """Each lot's writers take turns on their lot, so two lots' statements for the same person
    did not wait for each other: 8 racers on 2 lots, 108 h each (alone under the 180 h maximum),
    and on PostgreSQL the person had 216 h in the month. The person is locked before the
    maximum is weighed: one lot's statement counts, the other lot's writers are refused."""
    maximum = get_settings().declarations.max_hours_per_person_month
    hours = maximum * Decimal("0.6")
    person = arena.people[0]
    answers = arena.race(
        lambda client, n: client.put(
            f"/api/lots/{arena.lots[n % 2]}/declarations/{MONTH}",
            json={"lines": [{"beneficiary": person, "modality": "direct_hire", "hours": str(hours)}]},
            headers=arena.api(Role.contractor),
        )
    )  # fmt: skip
    with arena.session() as session:
        declared = session.exec(
            select(func.sum(DeclarationLine.hours))
            .join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
            .where(Beneficiary.code == person, DeclarationLine.period == MONTH)
        ).one()
    assert Decimal(declared) == hours <= maximum
    # the first lot to commit counts, its later writers amend it; the other lot's are refused
    assert statuses(answers) == {200: RACERS // 2, 422: RACERS // 2}
    refused = {a.json()["error"]["problems"][0]["message"] for a in answers if a.status_code == 422}
    assert all("dépassent le maximum plausible" in message for message in refused), refused


# --- the review -------------------------------------------------------------------------------


def test_lines_validated_one_by_one_at_once_all_count(arena):
    answers = arena.race(
        lambda client, n: client.post(
            "/api/declarations/review",
            json={"decisions": [{"line": arena.to_review[n], "decision": "validate"}]},
            headers=arena.api(Role.facilitator),
        )
    )  # fmt: skip
    assert statuses(answers) == {200: RACERS}
    assert_hours_recounted(arena)
    with arena.session() as session:
        assert (
            sum(session.get(Lot, lot).hours_validated for lot in arena.lots)
            == sum(10 + rank for rank in range(RACERS // 2)) * 2
        )


def test_lines_validated_on_the_review_page_at_once_all_count(arena):
    signed_in, csrf = arena.web(Role.facilitator)
    answers = arena.race(
        lambda client, n: client.post(
            f"/controle/lignes/{arena.to_review[n]}",
            data={"csrf": csrf, "decision": "valider" if n % 3 else "rejeter",
                  "reason": "" if n % 3 else "heures en double"},
            headers=signed_in,
        )
    )  # fmt: skip
    assert statuses(answers) == {303: RACERS}
    assert_hours_recounted(arena)


def test_a_statement_validated_whole_by_many_at_once_is_settled_once(arena):
    with arena.session() as session:
        statement = session.exec(
            select(Statement).where(Statement.lot_id == arena.lots[0], Statement.period == REVIEWED)
        ).one()
        lines = session.exec(
            select(DeclarationLine.id).where(DeclarationLine.statement_id == statement.id)
        ).all()
    sessions = [arena.web(Role.facilitator, person=email) for email in arena.facilitators]
    answers = arena.race(
        lambda client, n: client.post(
            f"/controle/releves/{statement.id}",
            data={"csrf": sessions[n][1], "ligne": [str(line) for line in lines]},
            headers=sessions[n][0],
        )
    )  # fmt: skip
    assert statuses(answers) == {303: RACERS}
    assert_hours_recounted(arena)
    with arena.session() as session:
        checks = session.exec(
            select(Task).where(Task.key.like(f"%:lot:{arena.lots[0]}:{REVIEWED}%"))
        ).all()
    assert [(t.status, t.closed_by in arena.facilitators) for t in checks] == [
        (TaskStatus.done, True)
    ]


# --- beneficiaries and the evaluation ---------------------------------------------------------


def registered(arena: Arena) -> list[str]:
    with arena.session() as session:
        return session.exec(
            select(Beneficiary.code).where(Beneficiary.structure_id == arena.structure)
        ).all()


def test_beneficiaries_registered_at_once_are_all_registered(arena):
    answers = arena.race(
        lambda client, n: client.post(
            "/api/beneficiaries",
            json={"public": "deld", "sex": "F", "age_band": "26_to_49",
                  "checked_by": arena.facilitators[n], "checked_on": "2026-11-20"},
            headers=arena.api(Role.facilitator),
        )
    )  # fmt: skip
    assert statuses(answers) == {201: RACERS}
    codes = registered(arena)
    assert len(codes) == len(set(codes)) == 2 * RACERS
    assert {a.json()["code"] for a in answers} <= set(codes) - set(arena.people)


def test_beneficiaries_registered_on_the_page_at_once_are_all_registered(arena):
    signed_in, csrf = arena.web(Role.facilitator)
    answers = arena.race(
        lambda client, n: client.post(
            "/beneficiaires",
            data={"csrf": csrf, "public": "jeune", "sex": "M", "age_band": "under_26",
                  "checked_by": arena.facilitators[n], "checked_on": "20/11/2026"},
            headers=signed_in,
        )
    )  # fmt: skip
    assert statuses(answers) == {303: RACERS}
    codes = registered(arena)
    assert len(codes) == len(set(codes)) == 2 * RACERS


def assert_one_outcome_each(arena: Arena, outcomes: set[str]) -> None:
    """One outcome per person (the last recorded), and the summary of one of the requests."""
    with arena.session() as session:
        market = session.exec(select(Market).where(Market.ref == arena.market)).one()
        rows = session.exec(select(Outcome).where(Outcome.market_id == market.id)).all()
    people = [row.beneficiary_id for row in rows]
    assert len(people) == len(set(people)) == 2
    assert {row.outcome for row in rows} <= outcomes
    assert market.evaluation in {f"Bilan {n}" for n in range(RACERS)}


def test_evaluations_recorded_at_once_leave_one_outcome_per_person(arena):
    in_evaluation(arena)
    choices = ["durable_employment", "positive_exit"]
    answers = arena.race(
        lambda client, n: client.put(
            f"/api/markets/{arena.market}/evaluation",
            json={"summary": f"Bilan {n}", "outcomes": {arena.people[0]: choices[n % 2],
                                                        arena.people[-1]: choices[n % 2]},
                  "early_reason": "connues à la fin du chantier"},
            headers=arena.api(Role.facilitator),
        )
    )  # fmt: skip
    assert statuses(answers) == {200: RACERS}
    assert_one_outcome_each(arena, set(choices))


def test_evaluations_recorded_on_the_page_at_once_leave_one_outcome_per_person(arena):
    in_evaluation(arena)
    signed_in, csrf = arena.web(Role.facilitator)
    choices = ["durable_employment", "positive_exit"]
    answers = arena.race(
        lambda client, n: client.post(
            f"/marches/{arena.market}/evaluation",
            data={"csrf": csrf, "bilan": f"Bilan {n}", f"sortie-{arena.people[0]}": choices[n % 2],
                  f"sortie-{arena.people[-1]}": choices[n % 2],
                  "motif-anticipe": "connues à la fin du chantier"},
            headers=signed_in,
        )
    )  # fmt: skip
    assert statuses(answers) == {303: RACERS}
    assert_one_outcome_each(arena, set(choices))


# --- signing out ------------------------------------------------------------------------------


def test_signing_out_of_one_session_from_many_tabs_at_once(arena):
    signed_in, csrf = arena.web(Role.buyer)
    answers = arena.race(
        lambda client, _n: client.post("/deconnexion", data={"csrf": csrf}, headers=signed_in)
    )
    assert statuses(answers) == {303: RACERS}
    assert httpx.get(f"{arena.url}/marches", headers=signed_in).status_code == 303


def test_racing_one_trigger_from_the_market_page_makes_one_transition(arena):
    """Buyers sending « Préparer l'offre d'insertion » from pages that all showed version 1: one
    transition; every other page says the market changed meanwhile."""
    pages = [arena.web(Role.buyer) for _ in range(RACERS)]
    answers = arena.race(
        lambda client, n: client.post(
            f"/marches/{arena.covered}/declencher/prepare_offer",
            data={"csrf": pages[n][1], "version": "1"}, headers=pages[n][0],
        )
    )  # fmt: skip
    assert statuses(answers) == {303: 1, 409: RACERS - 1}
    refused = [unescape(a.text) for a in answers if a.status_code == 409]
    assert all("a changé depuis l'affichage" in text for text in refused)
    with arena.session() as session:
        market = session.exec(select(Market).where(Market.ref == arena.covered)).one()
        triggers = session.exec(
            select(TransitionLog.trigger).where(TransitionLog.market_id == market.id)
        ).all()
    assert (market.state, market.version) == ("insertion_offer", 2)
    assert sorted(triggers) == ["load", "prepare_offer"]
