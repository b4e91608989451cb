"""The insertion offer on the web (/marches/{ref}/offre): a facilitator of the structure that
follows the market reads the formula step by step with each figure's source, recomputes, saves,
overrides with a reason, edits the clause text with its preview; a bad variable is refused; the
page is read-only once published. Two saves raced on the same version: one wins, on both stores."""

from __future__ import annotations

import html
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
from playwright.sync_api import expect
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.config import get_settings
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.partnerships.models import Service
from clausier.tasks.models import Task
from clausier.web import auth
from clausier.web.models import WebSession
from tests import factories as make
from tests.serving import PATIENT, serving
from tests.web.conftest import screenshot
from tests.web.test_pages import sign_in
from workflow.engine import fire

REF = "MKT-2027-005"  # the example's market in offer preparation, followed by mde-cotentin
CONFLICT = "Le marché a changé depuis l'affichage"


def lots_of(site, ref: str = REF) -> list[Lot]:
    with site["store"].session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        return list(
            session.exec(select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)).all()
        )


def step(page, lot: int, what: str):
    """The row of a step of the lot's computation: its figure and its source."""
    return page.locator(f"#calcul-{lot} tbody tr").filter(
        has=page.get_by_role("rowheader", name=what)
    )


def test_a_facilitator_prepares_the_offer_step_by_step_until_it_is_published(page, site):
    troubles = []  # the script's errors, and whatever the policy (CSP) blocks (a 422 is a page)
    page.on("pageerror", lambda error: troubles.append(str(error)))
    page.on("console", lambda m: m.type == "error" and "Failed to load resource" not in m.text
            and troubles.append(m.text))  # fmt: skip
    sign_in(page, site, Role.facilitator)
    page.goto(site["url"] + f"/marches/{REF}/offre")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Offre d'insertion — {REF}")
    # each figure with its source: the CPV table, the convention
    expect(step(page, 1, "Montant HT du lot")).to_contain_text("190 000 €")
    expect(step(page, 1, "× part de main-d'œuvre")).to_contain_text("60 %")
    expect(step(page, 1, "× part de main-d'œuvre")).to_contain_text(
        "table des parts de main-d'œuvre : Entretien des espaces verts"
    )
    expect(step(page, 1, "× taux d'insertion")).to_contain_text("convention CONV-2026-004")
    expect(step(page, 1, "÷ coût horaire moyen")).to_contain_text("30 € de l'heure")
    expect(page.locator("#resultat-1")).to_contain_text("190 heures d'insertion")
    screenshot(page, "offre-facilitateur")

    # the rate changed, « Recalculer »: the figures again, nothing saved
    page.get_by_label("Taux d'insertion (%)").first.fill("10")
    # offre.js follows the figures as they are typed (a preview: the server computes again)
    expect(page.locator("#resultat-1")).to_contain_text("380 heures d'insertion")
    expect(step(page, 1, "× taux d'insertion")).to_contain_text("taux saisi")
    expect(page.locator("#perime-1")).to_be_visible()
    page.get_by_role("button", name="Recalculer").click()
    expect(page.get_by_role("status")).to_contain_text("rien n'est encore enregistré")
    expect(step(page, 1, "× taux d'insertion")).to_contain_text("10 %")
    expect(step(page, 1, "× taux d'insertion")).to_contain_text("taux saisi")
    expect(page.locator("#resultat-1")).to_contain_text("380 heures d'insertion")
    expect(page.locator("#apercu-1")).to_contain_text("au moins 380 heures")
    assert [lot.hours for lot in lots_of(site)] == [190, 170]

    page.get_by_role("button", name="Enregistrer l'offre").click()
    expect(page.get_by_role("status")).to_have_text("Offre d'insertion enregistrée.")
    expect(page.locator("#resultat-1")).to_contain_text("380 heures d'insertion")
    first, second = lots_of(site)
    assert (first.hours, Decimal(first.offer["insertion_rate"]), second.hours) == (
        380,
        Decimal("0.1"),
        170,
    )
    assert "au moins 380 heures" in first.clause_text

    # an override needs its reason, then is kept beside the computed figure
    page.locator("#heures-2").fill("150")
    page.get_by_role("button", name="Enregistrer l'offre").click()
    expect(page.get_by_role("alert")).to_contain_text("Lot 2 — Motif de la dérogation : à saisir")
    assert lots_of(site)[1].hours == 170
    page.locator("#motif-2").fill("Saisonnalité des tontes")
    page.get_by_role("button", name="Enregistrer l'offre").click()
    expect(page.locator("#resultat-2")).to_contain_text(
        "150 heures retenues par dérogation (au lieu de 170 heures calculées)"
    )
    second = lots_of(site)[1]
    assert (second.hours, second.hours_computed, second.hours_override_reason) == (
        150, 170, "Saisonnalité des tontes",
    )  # fmt: skip
    expect(page.locator("#apercu-2")).to_contain_text("au moins 150 heures")
    # the rate typed on lot 1 is still lot 1's
    expect(page.locator("#taux-1")).to_have_value("10")

    # the clause edited, with a variable: the preview shows it replaced
    page.get_by_label("Texte de la clause du lot 1").fill(
        "Le titulaire du lot {{ lot.number }} réserve {{ hours_text }} à l'insertion ; "
        "contact : {{ structure.email }}."
    )
    page.get_by_role("button", name="Recalculer").click()
    expect(page.locator("#apercu-1")).to_have_text(
        "Le titulaire du lot 1 réserve 380 heures à l'insertion ; contact : clauses@mde-cotentin.example."
    )
    expect(page.get_by_label("Texte de la clause du lot 1")).to_contain_text("{{ hours_text }}")
    page.get_by_role("button", name="Enregistrer l'offre").click()
    expect(page.get_by_role("status")).to_have_text("Offre d'insertion enregistrée.")
    first = lots_of(site)[0]
    assert (first.clause_text, first.clause_edited) == (
        "Le titulaire du lot 1 réserve 380 heures à l'insertion ; contact : clauses@mde-cotentin.example.\n",
        True,
    )
    expect(
        page.get_by_role("heading", name="Aperçu du texte de la clause modifié à la main")
    ).to_be_visible()

    # an unknown variable is refused, in French, naming the field; nothing written
    page.get_by_label("Texte de la clause du lot 1").fill("Au moins {{ heures }} heures.")
    page.get_by_role("button", name="Enregistrer l'offre").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text(
        "Lot 1 — Texte de la clause, ligne 1 : variable inconnue « heures »"
    )
    expect(alert).to_contain_text("Variables disponibles")
    expect(page.get_by_label("Texte de la clause du lot 1")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert lots_of(site)[0].clause_text == first.clause_text
    alert.get_by_role("link").first.click()
    expect(page.get_by_label("Texte de la clause du lot 1")).to_be_focused()
    screenshot(page, "offre-variable-inconnue")

    # published: the offer is frozen, read-only, as stored
    with site["store"].session() as session:
        fire(session, ref=REF, trigger="publish", actor="test")
        session.commit()
    page.goto(site["url"] + f"/marches/{REF}/offre")
    expect(page.get_by_text("L'offre est figée depuis la publication")).to_be_visible()
    expect(step(page, 1, "× taux d'insertion")).to_contain_text("taux saisi")
    expect(page.locator("#apercu-1")).to_contain_text("réserve 380 heures")
    assert page.locator("form.offer-form").count() == 0
    assert page.get_by_role("textbox").count() == 0
    assert page.get_by_role("button", name="Enregistrer l'offre").count() == 0
    assert troubles == []


def test_without_javascript_recalculer_computes_on_the_server(browser, site):
    context = browser.new_context(locale="fr-FR", java_script_enabled=False)
    page = context.new_page()
    try:
        sign_in(page, site, Role.facilitator)
        page.goto(site["url"] + f"/marches/{REF}/offre")
        page.locator("#taux-2").fill("10")
        expect(page.locator("#resultat-2")).to_contain_text("170 heures d'insertion")  # no script
        page.get_by_role("button", name="Recalculer").click()
        expect(page.locator("#resultat-2")).to_contain_text("340 heures d'insertion")
        expect(page.get_by_role("status")).to_contain_text("rien n'est encore enregistré")
    finally:
        context.close()


def test_each_lot_takes_the_labour_share_of_its_own_cpv_and_says_whose(page, site):
    """MKT-2027-001, split by trade: the example's notes give 1 575 h (gros œuvre 45 %) and
    1 410 h (second œuvre 55 %); the page names the CPV used and whose it is, and offre.js
    follows each lot's own share."""
    with site["store"].session() as session:
        fire(session, ref="MKT-2027-001", trigger="prepare_offer", actor="f@mde-cotentin.fr")
        session.commit()
    sign_in(page, site, Role.facilitator)
    page.goto(site["url"] + "/marches/MKT-2027-001/offre")
    expect(page.locator("#cpv-1")).to_contain_text("45210000 (CPV du lot)")
    expect(page.locator("#cpv-2")).to_contain_text("45421000 (CPV du lot)")
    expect(step(page, 1, "× part de main-d'œuvre")).to_contain_text("45 %")
    expect(step(page, 2, "× part de main-d'œuvre")).to_contain_text("55 %")
    expect(page.locator("#resultat-1")).to_contain_text("1\u202f575 heures d'insertion")
    expect(page.locator("#resultat-2")).to_contain_text("1\u202f410 heures d'insertion")
    page.locator("#taux-2").fill("10")  # 1,1 M€ × 55 % × 10 % ÷ 30 € = 2 016,67 → 2 015
    expect(page.locator("#resultat-2")).to_contain_text("2\u202f015 heures d'insertion")
    expect(step(page, 2, "× part de main-d'œuvre")).to_contain_text("second œuvre")
    with site["store"].session() as session:  # a lot without its own CPV: the market's
        market = session.exec(select(Market).where(Market.ref == "MKT-2027-001")).one()
        lot = session.exec(select(Lot).where(Lot.market_id == market.id, Lot.number == 2)).one()
        lot.cpv = None
        session.add(lot)
        session.commit()
    page.goto(site["url"] + "/marches/MKT-2027-001/offre")
    expect(page.locator("#cpv-2")).to_contain_text("45454000 (CPV du marché)")
    expect(page.locator("#resultat-2")).to_contain_text("1\u202f285 heures d'insertion")


def test_the_buyer_reads_the_offer_and_may_not_change_it(page, site):
    sign_in(page, site, Role.buyer)
    page.goto(site["url"] + "/marches/MKT-2026-041/offre")  # a Région market in consultation
    expect(page.get_by_text("L'offre est figée depuis la publication")).to_be_visible()
    assert page.get_by_role("textbox").count() == 0


def test_the_page_fits_a_phone_and_works_with_the_keyboard(browser, site):
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, site, Role.facilitator)
        page.goto(site["url"] + f"/marches/{REF}/offre")
        # nothing of the page's own content is wider than the phone (the menu is base.html's)
        wider = page.evaluate(
            "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 390)"
            ".map(e => e.tagName + '#' + e.id)"
        )
        assert wider == [], wider
        page.locator("#taux-1").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("8")
        page.keyboard.press("Enter")  # the form's first button: « Recalculer », never a save
        expect(page.get_by_role("status")).to_contain_text("rien n'est encore enregistré")
        expect(page.locator("#resultat-1")).to_contain_text("305 heures")  # 304 → 305
        assert lots_of(site)[0].hours == 190
    finally:
        context.close()


# --- two saves on the same version --------------------------------------------------------------

RACERS = 4


def _web_session(session, token: str) -> tuple[dict, str]:
    now = product_clock.now()
    principal = tokens.authenticate(session, token, now=now)
    secret = auth.open_session(session, principal, now=now)
    csrf = session.exec(
        select(WebSession.csrf).where(WebSession.secret_hash == tokens.digest(secret))
    ).one()
    return {"Cookie": f"{auth.COOKIE}={secret}"}, csrf


def test_two_saves_of_the_same_version_keep_one_and_tell_the_other(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-offre")
        make.convention(session, buyer=buyer, structure=structure)
        market = make.market(
            session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None
        )
        token = tokens.create(session, role=Role.facilitator, org=structure.ref, expires_at=None,
                              now=product_clock.now())[0]  # fmt: skip
        browsers = [_web_session(session, token) for _ in range(RACERS)]
        session.commit()
        ref, version = market.ref, market.version
    start = threading.Barrier(RACERS)

    def save(number: int, url: str) -> httpx.Response:
        headers, csrf = browsers[number]
        data = {"csrf": csrf, "version": str(version), "action": "enregistrer"}
        for lot in (1, 2):  # each racer its own rate: the winner's is the one stored
            data |= {f"taux-{lot}": str(6 + number), f"modalites-{lot}": "direct_hire"}
        with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as client:
            client.get("/api/health")
            start.wait()
            return client.post(f"/marches/{ref}/offre", data=data, headers=headers)

    with (
        serving(create_app(store.engine, get_settings())) as url,
        ThreadPoolExecutor(RACERS) as pool,
    ):
        answers = list(pool.map(lambda n: save(n, url), range(RACERS)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [303] + [409] * (RACERS - 1), [(a.status_code, a.text[:300]) for a in answers]
    winner = next(n for n, answer in enumerate(answers) if answer.status_code == 303)
    for answer in answers:
        if answer.status_code == 409:
            assert CONFLICT in html.unescape(answer.text)
            assert (
                f'name="version" value="{version + 1}"' in answer.text
            )  # reloaded: saving again works
    with store.session() as session:
        market = session.exec(select(Market).where(Market.ref == ref)).one()
        assert market.version == version + 1
        rates = {Decimal(lot.offer["insertion_rate"]) for lot in
                 session.exec(select(Lot).where(Lot.market_id == market.id)).all()}  # fmt: skip
        assert rates == {Decimal(6 + winner) / 100}
        edits = session.exec(
            select(TransitionLog).where(
                TransitionLog.market_id == market.id, TransitionLog.trigger == "edit"
            )
        ).all()
        assert len(edits) == 1


def test_a_form_read_before_a_change_is_refused_and_the_page_reloaded(store, clock):
    """Not a race: the CLI (or a colleague) stored the offer after the page was shown."""
    from clausier.offers import service

    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-offre")
        make.convention(session, buyer=buyer, structure=structure)
        market = make.market(
            session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None
        )
        token = tokens.create(session, role=Role.facilitator, org=structure.ref, expires_at=None,
                              now=product_clock.now())[0]  # fmt: skip
        headers, csrf = _web_session(session, token)
        session.commit()
        ref, version = market.ref, market.version
    app = create_app(store.engine, get_settings())
    with serving(app) as url, httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        shown = client.get(f"/marches/{ref}/offre")
        assert f'name="version" value="{version}"' in shown.text
        with store.session() as session:
            market = session.exec(select(Market).where(Market.ref == ref)).one()
            service.prepare(session, market, settings=get_settings().offer, actor="cli",
                                insertion_rate=Decimal("0.08"))  # fmt: skip
            session.commit()
        data = {"csrf": csrf, "version": str(version), "action": "enregistrer",
                    "taux-1": "6", "modalites-1": "direct_hire", "taux-2": "6", "modalites-2": "direct_hire"}  # fmt: skip
        answer = client.post(f"/marches/{ref}/offre", data=data)
        assert answer.status_code == 409 and CONFLICT in html.unescape(answer.text)
        assert re.search(r'id="taux-1"[^>]*value="8"', answer.text)  # the stored figure, shown anew
    with store.session() as session:
        lots = session.exec(select(Lot).join(Market).where(Market.ref == ref)).all()
        assert {Decimal(lot.offer["insertion_rate"]) for lot in lots} == {Decimal("0.08")}


def test_a_rate_past_what_a_decimal_holds_is_refused_in_words(store, clock):
    """« 1e999999999 » % overflowed when divided by 100: a 500 where the field's message belongs."""
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-offre")
        make.convention(session, buyer=buyer, structure=structure)
        market = make.market(
            session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None
        )
        token = tokens.create(session, role=Role.facilitator, org=structure.ref, expires_at=None,
                              now=product_clock.now())[0]  # fmt: skip
        headers, csrf = _web_session(session, token)
        session.commit()
        ref, version = market.ref, market.version
    app = create_app(store.engine, get_settings())
    with serving(app) as url, httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for field in ("taux-1", "part-1"):
            answer = client.post(f"/marches/{ref}/offre", data={
                "csrf": csrf, "version": str(version), "action": "enregistrer",
                "modalites-1": "direct_hire", "modalites-2": "direct_hire", field: "1e999999999",
            })  # fmt: skip
            assert answer.status_code == 422, answer.text[:300]
            assert (
                "« 1e999999999 » : attendu : une valeur inférieure ou égale à 100 %"
                in html.unescape(answer.text)
            )
    with store.session() as session:
        assert session.exec(select(Market).where(Market.ref == ref)).one().version == version


def test_the_buyer_prepares_the_offer_when_its_convention_lacks_the_service(store, clock):
    """Issue 17, item 7: a convention without « offre d'insertion » gives the offer's task to
    the buyer, and its reminders say so; the buyer then edits the offer, the structure reads it."""
    from notifications.models import Reminder

    without_offer = tuple(s.value for s in Service if s != Service.prepare_offer)
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-offre")
        make.convention(session, buyer=buyer, structure=structure, services=without_offer)
        market = make.market(session, buyer=buyer, state="identification")
        fire(session, ref=market.ref, trigger="prepare_offer", actor="buyer")
        task = session.exec(
            select(Task).where(Task.market_id == market.id, Task.kind == "prepare_offer")
        ).one()
        assert task.structure_id is None
        roles = set(
            session.exec(select(Reminder.recipient_role).where(Reminder.task_id == task.id))
        )
        assert roles and "facilitator" not in roles and "buyer" in roles, roles
        logins = {}
        for role, org in ((Role.buyer, buyer.siret), (Role.facilitator, structure.ref)):
            token = tokens.create(session, role=role, org=org, expires_at=None,
                                  now=product_clock.now())[0]  # fmt: skip
            logins[role] = _web_session(session, token)
        session.commit()
        ref, version = market.ref, market.version
    data = {"version": str(version), "action": "enregistrer", "taux-1": "6",
            "modalites-1": "direct_hire", "taux-2": "6", "modalites-2": "direct_hire"}  # fmt: skip
    with serving(create_app(store.engine, get_settings())) as url:
        headers, csrf = logins[Role.facilitator]
        with httpx.Client(base_url=url, headers=headers, timeout=PATIENT) as client:
            shown = html.unescape(client.get(f"/marches/{ref}/offre").text)
            assert "L'offre est préparée par l'acheteur" in shown
            assert 'class="offer-form"' not in shown
            refused = client.post(f"/marches/{ref}/offre", data=data | {"csrf": csrf})
            assert refused.status_code == 403
        headers, csrf = logins[Role.buyer]
        with httpx.Client(base_url=url, headers=headers, timeout=PATIENT) as client:
            assert 'class="offer-form"' in client.get(f"/marches/{ref}/offre").text
            saved = client.post(
                f"/marches/{ref}/offre", data=data | {"csrf": csrf}, follow_redirects=False
            )
            assert saved.status_code == 303, saved.text[:500]
    with store.session() as session:
        lots = session.exec(select(Lot).join(Market).where(Market.ref == ref)).all()
        assert {Decimal(lot.offer["insertion_rate"]) for lot in lots} == {Decimal("0.06")}
