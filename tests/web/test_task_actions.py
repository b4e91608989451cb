"""A facilitator's queue, in a real Chromium: a token that names the person takes a task, marks
one done with a comment, hands one to a colleague, cancels one with a reason; each task links to
the page where its work is done; the token of a facilitator deactivated stops at once."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import expect
from sqlmodel import select

from clausier import clock
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.partners.models import Facilitator
from clausier.tasks.models import Task, TaskStatus

CLAIRE, JULIEN = "facilitateur@mde-cotentin.fr", "j.hamel@mde-cotentin.example"


def _personal_token(site, email: str) -> str:
    with site["store"].session() as session:
        token = tokens.create(
            session, role=Role.facilitator, org=email, expires_at=None, now=clock.now()
        )[0]
        session.commit()
    return token


def _sign_in(page, site, token: str) -> None:
    page.goto(site["url"] + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(token)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/taches$"))


def _task(site, task_id: int) -> Task:
    with site["store"].session() as session:
        return session.get(Task, task_id)


def _row_ids(page) -> list[int]:
    return [
        int(row.get_attribute("id").removeprefix("tache-"))
        for row in page.locator("tbody tr").all()
    ]


def test_a_facilitator_named_by_a_token_takes_completes_hands_over_and_cancels(page, site):
    _sign_in(page, site, _personal_token(site, CLAIRE))
    assert "Claire Lemonnier" in page.locator(".signout").inner_text()
    first, second, third = _row_ids(page)[:3]

    page.get_by_role("button", name=f"Prendre la tâche {first}").click()
    expect(page.get_by_role("status")).to_have_text("Tâche prise : elle vous est assignée.")
    assert page.locator(f"#tache-{first} td").nth(3).inner_text() == "Claire Lemonnier"

    row = page.locator(f"#tache-{first}")
    row.get_by_text("Plus").click()
    row.get_by_label("Commentaire").fill("Vu avec l'acheteur au téléphone")
    row.get_by_role("button", name="Marquer faite avec ce commentaire").click()
    expect(page.get_by_role("status")).to_have_text("Tâche marquée faite.")
    done = _task(site, first)
    assert (done.status, done.comment, done.closed_by) == (
        TaskStatus.done,
        "Vu avec l'acheteur au téléphone",
        CLAIRE,
    )

    row = page.locator(f"#tache-{second}")
    row.get_by_text("Plus").click()
    row.get_by_label("Confier à").select_option(label="Julien Hamel")
    row.get_by_role("button", name="Confier").click()
    expect(page.get_by_role("status")).to_have_text("Tâche confiée.")
    assert page.locator(f"#tache-{second} td").nth(3).inner_text() == "Julien Hamel"

    row = page.locator(f"#tache-{third}")
    row.get_by_text("Plus").click()
    row.get_by_label("Motif de l'annulation").fill("ok")  # too short: the domain says so
    row.get_by_label("Motif de l'annulation").evaluate(
        "field => field.removeAttribute('minlength')"
    )
    row.get_by_role("button", name="Annuler la tâche").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Action refusée")
    assert "Indiquez pourquoi la tâche est annulée" in page.locator("main").inner_text()
    assert _task(site, third).status == TaskStatus.open
    page.go_back()
    row = page.locator(f"#tache-{third}")
    row.get_by_text("Plus").click()
    row.get_by_label("Motif de l'annulation").fill("Marché repris par la mairie")
    row.get_by_role("button", name="Annuler la tâche").click()
    expect(page.get_by_role("status")).to_have_text("Tâche annulée.")
    cancelled = _task(site, third)
    assert (cancelled.status, cancelled.cancel_reason) == (
        TaskStatus.cancelled,
        "Marché repris par la mairie",
    )


def test_each_task_links_to_the_page_where_its_work_is_done(page, site):
    _sign_in(page, site, _personal_token(site, CLAIRE))
    links = {
        int(row.get_attribute("id").removeprefix("tache-")): row.locator(
            "td:nth-child(2) a"
        ).get_attribute("href")
        for row in page.locator("tbody tr").all()
    }
    with site["store"].session() as session:
        tasks = {
            task.id: task for task in session.exec(select(Task).where(Task.id.in_(links))).all()
        }
    expected = {
        task_id: "/controle" if task.kind == "check_declaration"
        else "/offre" if task.state == "insertion_offer"
        else "#evaluation" if task.state == "evaluation"
        else "#actions"
        for task_id, task in tasks.items()
    }  # fmt: skip
    assert {"/controle", "#evaluation", "#actions"} <= set(expected.values()), (
        "the example has each"
    )
    for task_id, href in links.items():
        assert href.endswith(expected[task_id]), (tasks[task_id].kind, href)


def test_the_token_of_a_deactivated_facilitator_stops_at_once(page, site):
    token = _personal_token(site, JULIEN)
    _sign_in(page, site, token)
    api = httpx.get(site["url"] + "/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    with site["store"].session() as session:
        person = session.exec(select(Facilitator).where(Facilitator.email == JULIEN)).one()
        person.active = False
        session.add(person)
        session.commit()
    api = httpx.get(site["url"] + "/api/tasks", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401
    page.goto(site["url"] + "/taches")
    page.wait_for_url(re.compile(r"/connexion$"))  # the page's session ended with its credential


def test_a_token_cannot_name_a_deactivated_facilitator(site):
    with site["store"].session() as session:
        person = session.exec(select(Facilitator).where(Facilitator.email == JULIEN)).one()
        person.active = False
        session.add(person)
        session.commit()
        try:
            tokens.create(
                session, role=Role.facilitator, org=JULIEN, expires_at=None, now=clock.now()
            )
        except Exception as refused:
            assert "est désactivé" in str(refused)
        else:
            raise AssertionError("a token named a deactivated facilitator")
