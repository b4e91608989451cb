"""The operator's directory and access pages (issue 16, item 6): an admin creates a facilitator
and a token, the token works, then is revoked and stops working at once; a facilitator
deactivated gives its open tasks back to its structure, cannot sign in and receives nothing; a
bad SIRET is refused in French with nothing written; racing creations and revocations keep one
winner."""

from __future__ import annotations

import html
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from playwright.sync_api import expect
from sqlalchemy import update
from sqlmodel import func, select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import ApiToken, Role
from clausier.errors import Refused
from clausier.partners import service as directory
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.tasks.models import Task, TaskStatus
from notifications import sweep
from notifications.models import MessageStatus, OutboxMessage, Reminder, ReminderStatus
from tests import factories as make
from tests.serving import PATIENT, serving
from tests.web.conftest import screenshot
from tests.web.sign_in_world import ask_link, csrf_of, follow_link, settings_for, try_token

RACERS = 8


# --- the story, in Chromium -------------------------------------------------------------------


def _sign_in_with_token(page, url: str, token: str) -> None:
    page.goto(url + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(token)
    page.get_by_role("button", name="Se connecter", exact=True).click()


def _menu(page, name: str) -> None:
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name=name).click()


def test_an_admin_creates_a_facilitator_and_a_token_then_revokes_it_and_it_stops_at_once(
    page, browser, site
):
    url = site["url"]
    _sign_in_with_token(page, url, site["tokens"][Role.admin])
    page.wait_for_url(re.compile(r"/marches$"))
    _menu(page, "Annuaire")
    expect(page.get_by_role("heading", level=1)).to_have_text("Annuaire")

    # a contractor with a wrong SIRET key: said in French, by field, nothing written
    page.get_by_role("link", name="Ajouter un titulaire").click()
    page.get_by_label("SIRET").fill("123 456 789 00012")
    page.get_by_label("Nom").fill("Terrassements du Bocage")
    page.get_by_label("Adresse e-mail de contact").fill("contact@bocage-tp.fr")
    page.get_by_role("button", name="Ajouter le titulaire").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("1 erreur : rien n'a été enregistré")
    expect(alert).to_contain_text("SIRET : « 123 456 789 00012 » invalide : clé de contrôle")
    assert page.get_by_label("SIRET").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Nom").input_value() == "Terrassements du Bocage", "kept as typed"
    with site["store"].session() as session:
        assert not session.exec(
            select(Contractor).where(Contractor.name == "Terrassements du Bocage")
        ).all()
    screenshot(page, "annuaire-siret-invalide")

    # a facilitator added to the Cotentin's structure
    _menu(page, "Annuaire")
    page.get_by_role("link", name="Maison de l'emploi et de la formation du Cotentin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Maison de l'emploi et de la formation du Cotentin"
    )
    page.get_by_label("Nom et prénom").fill("Inès Quesnel")
    page.get_by_label("Adresse e-mail", exact=True).fill("i.quesnel@mde-cotentin.fr")
    page.get_by_role("button", name="Ajouter le facilitateur").click()
    expect(page.get_by_role("status")).to_have_text("Enregistré.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inès Quesnel")
    with site["store"].session() as session:
        person = session.exec(
            select(Facilitator).where(Facilitator.email == "i.quesnel@mde-cotentin.fr")
        ).one()
        structure = session.get(Structure, person.structure_id)
    assert (structure.ref, person.active) == ("mde-cotentin", True)

    # a token for that structure's facilitators: its secret shown once
    # the structure's page offers it: the form comes filled
    page.get_by_role("link", name="Maison de l'emploi et de la formation du Cotentin").click()
    page.get_by_role(
        "link", name="Créer un jeton d'accès à l'API pour les facilitateurs de la structure"
    ).click()
    assert page.get_by_label("Rôle").input_value() == "facilitator"
    assert page.get_by_label("Organisation").input_value() == "mde-cotentin"
    page.get_by_role("button", name="Créer le jeton").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("créé")
    expect(page.get_by_role("status")).to_contain_text(
        "Jeton de facilitateur pour Maison de l'emploi et de la formation du Cotentin."
    )
    secret = page.get_by_label("Jeton", exact=True).input_value()
    assert secret.startswith(tokens.PREFIX)
    number = int(
        re.search(r"Jeton n° (\d+) créé", page.get_by_role("heading", level=1).inner_text())[1]
    )
    screenshot(page, "acces-jeton-cree")
    page.get_by_role("link", name="Revenir à la liste des jetons").click()
    row = page.locator(f"#jeton-{number}")
    expect(row).to_contain_text("Maison de l'emploi et de la formation du Cotentin")
    expect(row).to_contain_text("en vigueur")
    assert secret not in page.content(), "never shown again"
    with site["store"].session() as session:
        stored = session.get(ApiToken, number)
    assert stored.token_hash == tokens.digest(secret) and secret not in repr(stored.model_dump())

    # the token works: for the API and to sign in
    api = httpx.Client(timeout=PATIENT, base_url=url, headers={"Authorization": f"Bearer {secret}"})
    assert api.get("/api/tasks").status_code == 200
    other = browser.new_context(locale="fr-FR")
    holder = other.new_page()
    _sign_in_with_token(holder, url, secret)
    holder.wait_for_url(re.compile(r"/taches$"))

    # revoked: refused at once, by the API, the open session and a new sign-in
    row.get_by_role("button", name=re.compile("^Révoquer")).click()
    expect(page.get_by_role("status")).to_contain_text(f"Jeton n° {number} révoqué")
    expect(page.locator(f"#jeton-{number}")).to_contain_text("révoqué le")
    screenshot(page, "acces-jeton-revoque")
    refused = api.get("/api/tasks")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "Jeton inconnu, expiré ou révoqué."
    holder.goto(url + "/taches")
    holder.wait_for_url(re.compile(r"/connexion$"))
    with httpx.Client(timeout=PATIENT, base_url=url, follow_redirects=False) as client:
        assert try_token(client, secret).status_code == 401
    other.close()
    api.close()


def test_the_directory_pages_fit_a_phone_and_keep_their_labels(browser, site):
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    _sign_in_with_token(page, site["url"], site["tokens"][Role.admin])
    page.wait_for_url(re.compile(r"/marches$"))
    with site["store"].session() as session:  # the pages that offer « Désactiver » too
        buyer_id = session.exec(select(Buyer.id)).first()
        structure_id = session.exec(select(Structure.id)).first()
    for path in (
        "/annuaire",
        "/annuaire/structures/nouveau",
        "/annuaire/acheteurs/nouveau",
        f"/annuaire/acheteurs/{buyer_id}",
        f"/annuaire/structures/{structure_id}",
        "/acces",
    ):
        page.goto(site["url"] + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (path, width)
        unlabelled = page.evaluate(
            """[...document.querySelectorAll('main input:not([type=hidden]), main select')]
               .filter(e => !e.labels || e.labels.length === 0).map(e => e.name)"""
        )
        assert unlabelled == [], (path, unlabelled)
    context.close()


# --- on both stores ---------------------------------------------------------------------------


@dataclass
class Office:
    url: str
    store: object
    settings: object
    structure_id: int
    structure_email: str
    leaving: int  # a facilitator who holds tasks
    leaving_email: str
    staying: int
    market_id: int
    admin_token: str
    admin_token_id: int

    def admin(self) -> tuple[httpx.Client, str]:
        """A browser signed in with the admin's token, and its form token."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=60)
        assert try_token(client, self.admin_token).status_code == 303
        return client, csrf_of(client.get("/acces").text)


@pytest.fixture
def office(store, clock, tmp_path):
    settings = settings_for(tmp_path)
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-annuaire", facilitators=2)
        make.convention(session, buyer=buyer, structure=structure)
        market = make.market(session, buyer=buyer, state="insertion_offer")
        leaving, staying = session.exec(
            select(Facilitator)
            .where(Facilitator.structure_id == structure.id)
            .order_by(Facilitator.id)
        ).all()
        secret, row = tokens.create(
            session, role=Role.admin, org=None, expires_at=None, now=product_clock.now()
        )
        session.commit()
        data = (structure.id, structure.email, leaving.id, leaving.email, staying.id, market.id,
                secret, row.id)  # fmt: skip
    with serving(create_app(store.engine, settings)) as url:
        yield Office(url, store, settings, *data)


def _tasks_of(office: Office) -> list[Task]:
    with office.store.session() as session:
        return session.exec(
            select(Task).where(Task.market_id == office.market_id).order_by(Task.id)
        ).all()


def test_a_deactivated_facilitator_gives_its_tasks_back_cannot_sign_in_and_receives_nothing(office):
    with office.store.session() as session:
        tasks = session.exec(
            select(Task).where(Task.market_id == office.market_id).order_by(Task.id)
        ).all()
        held = tasks[0]
        held.assignee_id = office.leaving
        session.add(held)

        def copy(**values) -> Task:
            fields = {"kind": held.kind, "market_id": held.market_id, "structure_id": held.structure_id,
                      "due_at": held.due_at, "priority": held.priority, "state": held.state}  # fmt: skip
            return Task(**(fields | values))

        colleague = copy(assignee_id=office.staying)
        done = copy(assignee_id=office.leaving, status=TaskStatus.done,
                    closed_at=product_clock.now(), closed_by=office.leaving_email)  # fmt: skip
        session.add(colleague)
        session.add(done)
        # an e-mail to the person, waiting in the outbox for its next attempt
        session.add(OutboxMessage(idempotency_key="test:pending", message_id="<test@clausier>",
                                  to_email=office.leaving_email.upper(), subject="Rappel", text_body="…",
                                  html_body="…", next_attempt_at=product_clock.now() + timedelta(hours=1)))  # fmt: skip
        session.commit()
        held_id, colleague_id, done_id = held.id, colleague.id, done.id

    with httpx.Client(timeout=PATIENT, base_url=office.url, follow_redirects=False) as person:
        ask_link(person, office.leaving_email)  # asked before: void after
        [early] = _links_to(office, office.leaving_email)
        admin, csrf = office.admin()
        answer = admin.post(
            f"/annuaire/facilitateurs/{office.leaving}/desactiver", data={"csrf": csrf}
        )
        assert answer.status_code == 303
        notice = admin.get(answer.headers["location"]).text
        assert (
            ": compte désactivé ; cette personne ne peut plus se connecter ni recevoir de message ; 1 tâche ouverte rendue à la structure, à prendre ; 1 message en attente retenu."
            in notice
        )

        with office.store.session() as session:
            by_id = {task.id: task for task in session.exec(select(Task)).all()}
            withheld = session.exec(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == "test:pending")
            ).one()
        assert (by_id[held_id].assignee_id, by_id[held_id].structure_id) == (
            None,
            office.structure_id,
        )
        assert by_id[colleague_id].assignee_id == office.staying, "a colleague's stays"
        assert by_id[done_id].assignee_id == office.leaving, "a closed task keeps who did it"
        assert withheld.status == MessageStatus.failed and "désactivé" in withheld.last_error

        # cannot sign in: no new link, and the one asked for before signs nobody in
        ask_link(person, office.leaving_email)
        assert _links_to(office, office.leaving_email) == [early]
        assert person.get(early).status_code == 400
        again = admin.post(
            f"/annuaire/facilitateurs/{office.leaving}/desactiver", data={"csrf": csrf}
        )
        assert again.status_code == 409 and "compte déjà désactivé" in again.text
        admin.close()

    # its task's reminders, due now, reach the structure's address, never the person's
    with office.store.session() as session:
        session.execute(
            update(Reminder).where(Reminder.task_id == held_id, Reminder.status == ReminderStatus.pending)
            .values(due_at=product_clock.now() - timedelta(minutes=1))
        )  # fmt: skip
        session.commit()
    report = sweep.SweepReport()
    sweep.hand_over(
        office.store.engine, office.settings, worker="test", now=product_clock.now(), report=report
    )
    with office.store.session() as session:
        handed = session.exec(
            select(Reminder.recipient_email, OutboxMessage.to_email)
            .join(OutboxMessage, OutboxMessage.id == Reminder.message_id)
            .where(Reminder.task_id == held_id)
        ).all()
        to_person = session.exec(
            select(func.count()).select_from(OutboxMessage)
            .where(func.lower(OutboxMessage.to_email) == office.leaving_email.lower())
            .where(OutboxMessage.status == MessageStatus.pending)
        ).one()  # fmt: skip
    recipients = {to.lower() for _r, to in handed}  # an escalation reaches the buyer too
    assert office.structure_email in recipients and office.leaving_email not in recipients
    assert to_person == 0


def _links_to(office: Office, email: str) -> list[str]:
    with office.store.session() as session:
        bodies = session.exec(
            select(OutboxMessage.text_body)
            .where(
                OutboxMessage.idempotency_key.startswith("login:"), OutboxMessage.to_email == email
            )
            .order_by(OutboxMessage.id)
        ).all()
    return [re.search(r"http://[^/]+(/connexion/\S+)", body)[1] for body in bodies]


def test_a_deactivated_facilitators_open_session_ends_and_reactivation_needs_a_new_link(office):
    with httpx.Client(timeout=PATIENT, base_url=office.url, follow_redirects=False) as person:
        ask_link(person, office.leaving_email)
        [path] = _links_to(office, office.leaving_email)
        assert follow_link(person, path).headers["location"] == "/taches"
        admin, csrf = office.admin()
        admin.post(f"/annuaire/facilitateurs/{office.leaving}/desactiver", data={"csrf": csrf})
        assert person.get("/taches").headers["location"] == "/connexion"
        back = admin.post(
            f"/annuaire/facilitateurs/{office.leaving}/reactiver", data={"csrf": csrf}
        )
        assert "compte réactivé" in admin.get(back.headers["location"]).text
        assert person.get("/taches").headers["location"] == "/connexion", "signs in again"
        ask_link(person, office.leaving_email)
        assert len(_links_to(office, office.leaving_email)) == 2
        admin.close()


def test_a_bad_siret_or_address_is_refused_by_field_and_nothing_is_written(office):
    admin, csrf = office.admin()
    answer = admin.post("/annuaire/titulaires", data={"csrf": csrf, "siret": "1234567890123",
                                                      "name": "", "email": "pas-une-adresse"})  # fmt: skip
    assert answer.status_code == 422
    assert "3 erreurs : rien n&#39;a été enregistré" in answer.text
    assert (
        "SIRET : « 1234567890123 » invalide : attendu : 14 chiffres, reçu 13 caractère(s)"
        in answer.text
    )
    assert "Nom : ne doit pas être vide" in answer.text
    assert "Adresse e-mail : attendu : une adresse e-mail valide" in answer.text
    luhn = admin.post("/annuaire/acheteurs", data={"csrf": csrf, "siret": "12345678901234",
                                                   "name": "Commune de Test", "email": "achats@test-commune.fr"})  # fmt: skip
    assert (
        luhn.status_code == 422 and "clé de contrôle incorrecte (algorithme de Luhn)" in luhn.text
    )
    kind = admin.post("/annuaire/structures", data={"csrf": csrf, "ref": "plie-x", "name": "PLIE X",
                                                    "kind": "", "email": "clauses@plie-x.fr"})  # fmt: skip
    assert kind.status_code == 422 and "Type : choisissez le type de structure" in kind.text
    token = admin.post("/acces", data={"csrf": csrf, "role": "buyer", "org": ""})
    assert token.status_code == 422
    assert (
        "Organisation : indiquez l&#39;acheteur (son SIRET ou son nom) pour un jeton d&#39;acheteur"
        in token.text
    )
    unknown = admin.post("/acces", data={"csrf": csrf, "role": "facilitator", "org": "mde-anuaire"})
    assert unknown.status_code == 422
    assert (
        "Organisation : Structure introuvable : « mde-anuaire ». Vouliez-vous dire : « mde-annuaire » ?"
        in unknown.text
    )
    person = admin.post(f"/annuaire/structures/{office.structure_id}/facilitateurs",
                        data={"csrf": csrf, "name": "Nouvelle Personne", "email": "pas-une-adresse"})  # fmt: skip
    assert person.status_code == 422 and 'href="#person-email"' in person.text
    twice = admin.post(f"/annuaire/structures/{office.structure_id}/facilitateurs",
                       data={"csrf": csrf, "name": "Homonyme", "email": office.leaving_email.upper()})  # fmt: skip
    assert twice.status_code == 409 and "est déjà celle de Facilitateur 0" in twice.text
    past = admin.post("/acces", data={"csrf": csrf, "role": "admin", "expires": "01/11/2026"})
    assert past.status_code == 422
    assert (
        "Expiration : la date d&#39;expiration doit être postérieure à aujourd&#39;hui" in past.text
    )
    with office.store.session() as session:
        assert session.exec(select(func.count()).select_from(Contractor)).one() == 0
        assert session.exec(select(func.count()).select_from(Structure)).one() == 1
        assert session.exec(select(func.count()).select_from(Facilitator)).one() == 2
        assert session.exec(select(func.count()).select_from(ApiToken)).one() == 1
    admin.close()


def test_an_edit_from_a_form_read_before_another_change_is_refused(office):
    admin, csrf = office.admin()
    form = admin.get(f"/annuaire/structures/{office.structure_id}").text
    before = {
        k: html.unescape(v) for k, v in re.findall(r'name="(avant_\w+)" value="([^"]*)"', form)
    }
    sent = {"csrf": csrf, **before, "kind": "plie", "email": "clauses@mde-annuaire.fr"}
    first = admin.post(
        f"/annuaire/structures/{office.structure_id}", data={**sent, "name": "Premier nom"}
    )
    assert first.status_code == 303
    second = admin.post(
        f"/annuaire/structures/{office.structure_id}", data={**sent, "name": "Second nom"}
    )
    assert second.status_code == 409
    assert (
        "a été modifié par quelqu&#39;un d&#39;autre pendant que vous le modifiiez" in second.text
    )
    with office.store.session() as session:
        assert session.get(Structure, office.structure_id).name == "Premier nom"
    admin.close()


def test_a_number_past_every_row_is_refused_in_words_not_by_the_store(office):
    """« 9 » × 400 as a facilitator's structure or in a notice's address overflowed the stores'
    integers (a 500): the page says it, nothing written."""
    admin, csrf = office.admin()
    huge = "9" * 400
    moved = admin.post(f"/annuaire/facilitateurs/{office.staying}", data={
        "csrf": csrf, "name": "Facilitateur 1", "email": "f1@mde-annuaire.example", "structure": huge,
    })  # fmt: skip
    assert moved.status_code == 422
    assert "Structure : choisissez une structure de l&#39;annuaire" in moved.text
    for notice in ("desactive", "reactive"):
        page = admin.get(f"/annuaire/structures/{office.structure_id}", params={notice: huge})
        assert page.status_code == 422 and "<h1" in page.text, page.text[:300]
    with office.store.session() as session:
        assert session.get(Facilitator, office.staying).structure_id == office.structure_id
    admin.close()


def _race(office: Office, send) -> list[httpx.Response]:
    """RACERS clients of one admin session send at the same instant; none may get a 5xx."""
    admin, csrf = office.admin()
    cookies = dict(admin.cookies)
    admin.close()
    start = threading.Barrier(RACERS)

    def one(number: int) -> httpx.Response:
        with httpx.Client(
            base_url=office.url, cookies=cookies, timeout=60, follow_redirects=False
        ) as client:
            client.get("/api/health")
            start.wait()
            return send(client, csrf, number)

    with ThreadPoolExecutor(RACERS) as pool:
        answers = list(pool.map(one, range(RACERS)))
    assert not [(a.status_code, a.text[:300]) for a in answers if a.status_code >= 500]
    return answers


def test_racing_creations_of_one_siret_keep_one_contractor(office):
    siret = make.siret()
    answers = _race(office, lambda client, csrf, n: client.post("/annuaire/titulaires", data={
        "csrf": csrf, "siret": siret, "name": f"Entreprise {n}", "email": f"contact{n}@entreprise.fr"}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    for answer in answers:
        if answer.status_code == 409:
            assert re.search(
                rf"Le SIRET {siret} (est déjà celui de « Entreprise \d »|vient d&#39;être enregistré)",
                answer.text,
            )
    with office.store.session() as session:
        assert (
            session.exec(
                select(func.count()).select_from(Contractor).where(Contractor.siret == siret)
            ).one()
            == 1
        )


def test_racing_creations_of_one_facilitators_address_keep_one(office):
    answers = _race(office, lambda client, csrf, n: client.post(
        f"/annuaire/structures/{office.structure_id}/facilitateurs",
        data={"csrf": csrf, "name": f"Personne {n}", "email": "nouvelle@mde-annuaire.fr"}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    with office.store.session() as session:
        assert session.exec(select(func.count()).select_from(Facilitator)
                            .where(Facilitator.email == "nouvelle@mde-annuaire.fr")).one() == 1  # fmt: skip


def test_racing_revocations_of_one_token_revoke_it_once(office):
    with office.store.session() as session:
        _secret, row = tokens.create(
            session, role=Role.admin, org=None, expires_at=None, now=product_clock.now()
        )
        session.commit()
        number = row.id
    answers = _race(
        office,
        lambda client, csrf, n: client.post(f"/acces/{number}/revoquer", data={"csrf": csrf}),
    )
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    assert all(
        f"Le jeton n° {number} est déjà révoqué (depuis le" in a.text
        for a in answers
        if a.status_code == 409
    )


def test_racing_deactivations_give_the_tasks_back_once(office):
    with office.store.session() as session:
        session.execute(
            update(Task)
            .where(Task.market_id == office.market_id)
            .values(assignee_id=office.leaving)
        )
        session.commit()
    answers = _race(office, lambda client, csrf, n: client.post(
        f"/annuaire/facilitateurs/{office.leaving}/desactiver", data={"csrf": csrf}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    assert all(task.assignee_id is None for task in _tasks_of(office))


# --- buyers, structures and contractors deactivated ----------------------------------------------


def _only(office: Office, model):
    with office.store.session() as session:
        return session.exec(select(model).order_by(model.id)).first()


def _free_contractor(office: Office, name: str = "Menuiserie du Val de Saire") -> Contractor:
    with office.store.session() as session:
        contractor = make.contractor(session, name)
        session.commit()
        session.refresh(contractor)
        return contractor


def test_a_buyer_or_structure_in_use_is_refused_on_its_page_and_nothing_changes(office):
    buyer = _only(office, Buyer)
    admin, csrf = office.admin()
    page = admin.get(f"/annuaire/acheteurs/{buyer.id}").text
    assert f'action="/annuaire/acheteurs/{buyer.id}/desactiver"' in page
    assert "tant qu&#39;un de ses marchés n&#39;est pas clos" in page, "what it does is said first"
    refused = admin.post(f"/annuaire/acheteurs/{buyer.id}/desactiver", data={"csrf": csrf})
    assert refused.status_code == 409 and "<h1" in refused.text
    assert 'role="alert"' in refused.text
    assert (
        f"L&#39;acheteur « {html.escape(buyer.name)} » ne peut pas être désactivé : 1 marché non "
        "terminé (" in refused.text
    )
    assert "1 convention en cours (" in refused.text and "rien n&#39;a été modifié" in refused.text
    structure = admin.post(f"/annuaire/structures/{office.structure_id}/desactiver",
                           data={"csrf": csrf})  # fmt: skip
    assert structure.status_code == 409 and "ne peut pas être désactivée : 1 convention en cours"\
        in structure.text  # fmt: skip
    assert "tâche" in structure.text and 'role="alert"' in structure.text
    forged = admin.post(f"/annuaire/acheteurs/{buyer.id}/desactiver", data={"csrf": "faux"})
    assert forged.status_code == 403
    with office.store.session() as session:
        assert (
            session.get(Buyer, buyer.id).active
            and session.get(Structure, office.structure_id).active
        )
    admin.close()


def test_a_free_contractor_is_deactivated_shown_so_in_the_list_then_reactivated(office):
    contractor = _free_contractor(office)
    with office.store.session() as session:
        session.add(OutboxMessage(idempotency_key="test:titulaire", message_id="<t@clausier>",
                                  to_email=contractor.email, subject="Rappel", text_body="…",
                                  html_body="…", next_attempt_at=product_clock.now() + timedelta(hours=1)))  # fmt: skip
        session.commit()
    admin, csrf = office.admin()
    answer = admin.post(f"/annuaire/titulaires/{contractor.id}/desactiver", data={"csrf": csrf})
    assert answer.status_code == 303
    notice = admin.get(answer.headers["location"]).text
    assert (
        "Le titulaire « Menuiserie du Val de Saire » : désactivé ; plus personne ne se connecte en "
        "son nom, ses jetons ne fonctionnent plus ; 1 message en attente retenu." in notice
    )
    assert f'action="/annuaire/titulaires/{contractor.id}/reactiver"' in notice
    listed = admin.get("/annuaire").text
    row = re.search(rf'<tr><th scope="row"><a href="/annuaire/titulaires/{contractor.id}">.*?</tr>',
                    listed, re.S)[0]  # fmt: skip
    assert "désactivé" in row
    back = admin.post(f"/annuaire/titulaires/{contractor.id}/reactiver", data={"csrf": csrf})
    assert back.status_code == 303
    assert "« Menuiserie du Val de Saire » : réactivé" in admin.get(back.headers["location"]).text
    twice = admin.post(f"/annuaire/titulaires/{contractor.id}/reactiver", data={"csrf": csrf})
    assert twice.status_code == 409 and "déjà actif" in twice.text
    admin.close()


def test_a_deactivated_buyers_open_session_ends_and_it_gets_no_new_link(office):
    with office.store.session() as session:
        buyer = make.buyer(session, "Commune de Quettehou")
        session.commit()
        buyer_id, email = buyer.id, buyer.email
    with httpx.Client(timeout=PATIENT, base_url=office.url, follow_redirects=False) as person:
        ask_link(person, email)
        [path] = _links_to(office, email)
        assert follow_link(person, path).status_code == 303
        assert person.get("/marches").status_code == 200
        admin, csrf = office.admin()
        gone = admin.post(f"/annuaire/acheteurs/{buyer_id}/desactiver", data={"csrf": csrf})
        assert gone.status_code == 303
        assert person.get("/marches").headers["location"] == "/connexion"
        ask_link(person, email)
        assert _links_to(office, email) == [path], "no link for a deactivated buyer"
        assert "désactivé" in admin.get("/annuaire", params={"q": "Quettehou"}).text
        admin.close()
    with office.store.session() as session:
        assert session.get(Buyer, buyer_id).active is False


def test_a_buyers_session_ended_at_deactivation_does_not_come_back_on_reactivation(office):
    with office.store.session() as session:
        buyer = make.buyer(session, "Commune de Montfarville")
        session.commit()
        buyer_id, email = buyer.id, buyer.email
    with httpx.Client(timeout=PATIENT, base_url=office.url, follow_redirects=False) as person:
        ask_link(person, email)
        [path] = _links_to(office, email)
        assert follow_link(person, path).status_code == 303
        assert person.get("/marches").status_code == 200
        admin, csrf = office.admin()
        gone = admin.post(f"/annuaire/acheteurs/{buyer_id}/desactiver", data={"csrf": csrf})
        back = admin.post(f"/annuaire/acheteurs/{buyer_id}/reactiver", data={"csrf": csrf})
        assert (gone.status_code, back.status_code) == (303, 303)
        # no request came while it was deactivated: its session ended all the same
        assert person.get("/marches").headers["location"] == "/connexion"
        admin.close()


def test_a_free_structure_is_deactivated_with_its_facilitators(office):
    with office.store.session() as session:
        structure = make.structure(session, "plie-libre", facilitators=2)
        session.commit()
        structure_id = structure.id
    admin, csrf = office.admin()
    answer = admin.post(f"/annuaire/structures/{structure_id}/desactiver", data={"csrf": csrf})
    assert answer.status_code == 303
    page = admin.get(answer.headers["location"]).text
    assert "La structure « Maison de l&#39;emploi plie-libre » : désactivée ;" in page
    assert "2 facilitateurs désactivés avec elle." in page
    assert page.count('<span class="badge warn">désactivé</span>') == 2
    person = admin.post(f"/annuaire/facilitateurs/{_first_of(office, structure_id)}/reactiver",
                        data={"csrf": csrf})  # fmt: skip
    assert person.status_code == 409 and "réactivez-la d&#39;abord" in person.text
    back = admin.post(f"/annuaire/structures/{structure_id}/reactiver", data={"csrf": csrf})
    assert "ses facilitateurs restent désactivés" in admin.get(back.headers["location"]).text
    admin.close()


def _first_of(office: Office, structure_id: int) -> int:
    with office.store.session() as session:
        return session.exec(
            select(Facilitator.id).where(Facilitator.structure_id == structure_id)
        ).first()


def test_racing_deactivations_of_one_contractor_deactivate_it_once(office):
    contractor = _free_contractor(office, "Charpentes du Cotentin")
    answers = _race(office, lambda client, csrf, n: client.post(
        f"/annuaire/titulaires/{contractor.id}/desactiver", data={"csrf": csrf}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    assert all(
        "Le titulaire « Charpentes du Cotentin » : déjà désactivé." in a.text
        for a in answers
        if a.status_code == 409
    )


def test_racing_deactivations_of_one_structure_deactivate_it_and_its_people_once(office):
    with office.store.session() as session:
        structure = make.structure(session, "mde-course", facilitators=2)
        session.commit()
        structure_id = structure.id
    answers = _race(office, lambda client, csrf, n: client.post(
        f"/annuaire/structures/{structure_id}/desactiver", data={"csrf": csrf}))  # fmt: skip
    assert Counter(a.status_code for a in answers) == {303: 1, 409: RACERS - 1}
    assert all("déjà désactivée" in a.text for a in answers if a.status_code == 409)
    [winner] = [a for a in answers if a.status_code == 303]
    assert "personnes=2" in winner.headers["location"]


# --- the domain -------------------------------------------------------------------------------


def test_a_facilitator_moved_to_another_structure_leaves_its_open_tasks_to_the_first(
    session, clock
):
    buyer = make.buyer(session)
    first, second = make.structure(session), make.structure(session, facilitators=0)
    make.convention(session, buyer=buyer, structure=first)
    market = make.market(session, buyer=buyer, state="insertion_offer")
    person = session.exec(select(Facilitator).where(Facilitator.structure_id == first.id)).one()
    task = session.exec(select(Task).where(Task.market_id == market.id)).first()
    task.assignee_id = person.id
    session.add(task)
    session.flush()
    _moved, handover = directory.edit_facilitator(
        session, person.id, name=person.name, email="deplace@structure.fr", structure_id=second.id,
        digest=True, now=product_clock.now(),
    )  # fmt: skip
    session.flush()
    session.refresh(task)
    assert handover.tasks == 1
    assert (task.assignee_id, task.structure_id) == (None, first.id)
    assert session.get(Facilitator, person.id).structure_id == second.id


def test_revoking_a_token_twice_says_it_already_was(session, clock):
    _secret, row = tokens.create(
        session, role=Role.admin, org=None, expires_at=None, now=product_clock.now()
    )
    tokens.revoke(session, row.id, now=product_clock.now())
    with pytest.raises(
        Refused, match=rf"Le jeton n° {row.id} est déjà révoqué \(depuis le 25/11/2026 10:00\)"
    ):
        tokens.revoke(session, row.id, now=product_clock.now())
