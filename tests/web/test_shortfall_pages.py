"""On the pages: a buyer sets its penalty per missing hour (the directory) and a convention its
own (the convention form); a facilitator chooses a lot's instrument on the offer form; the
market page says, once execution ended, the hours missing and the penalty (6 000 € for 200 h at
30 €), provisional while the last month is still declarable, and which instrument each lot's
clause uses."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from sqlmodel import select

from clausier import clock as product_clock
from clausier.app import create_app
from clausier.auth import tokens
from clausier.auth.models import Role
from clausier.clock import PARIS
from clausier.config import get_settings
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer
from clausier.partnerships.models import Convention
from tests import factories as make
from tests.serving import PATIENT, serving
from workflow.engine import fire


def paris(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=PARIS).astimezone(UTC)


def _signed_in(url: str, token: str, page: str) -> tuple[httpx.Client, str]:
    """A browser signed in with ``token``, and the form token of ``page``."""
    client = httpx.Client(timeout=PATIENT, base_url=url)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/connexion").text)[1]
    client.post("/connexion/jeton", data={"token": token, "csrf": csrf})
    shown = client.get(page)
    assert shown.status_code == 200, shown.text[:300]
    return client, re.search(r'name="csrf" value="([^"]+)"', shown.text)[1]


def _token(session, role: Role, org: str | None) -> str:
    return tokens.create(session, role=role, org=org, expires_at=None, now=product_clock.now())[0]


def _text(answer: httpx.Response) -> str:
    return html.unescape(answer.text).replace("\u202f", " ")


def test_an_admin_sets_a_buyers_penalty_per_missing_hour_in_its_rules_words(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        admin = _token(session, Role.admin, None)
        session.commit()
        buyer_id, name, email = buyer.id, buyer.name, buyer.email
    with serving(create_app(store.engine, get_settings())) as url:
        client, csrf = _signed_in(url, admin, f"/annuaire/acheteurs/{buyer_id}")
        form = {"csrf": csrf, "name": name, "email": email, "avant_name": name,
                "avant_email": email, "avant_penalty_per_hour": ""}  # fmt: skip
        wrong = client.post(
            f"/annuaire/acheteurs/{buyer_id}", data=form | {"penalty_per_hour": "-5"}
        )
        assert wrong.status_code == 422
        assert "« -5 » : attendu : une valeur strictement supérieure à 0" in _text(wrong)
        saved = client.post(
            f"/annuaire/acheteurs/{buyer_id}", data=form | {"penalty_per_hour": "30,50 €"}
        )
        assert saved.status_code == 303, saved.text[:300]
        shown = _text(client.get(saved.headers["location"]))
        assert 'id="penalty_per_hour" name="penalty_per_hour" value="30,50"' in shown
        client.close()
    with store.session() as session:
        assert session.get(Buyer, buyer_id).penalty_per_hour == Decimal("30.50")


def test_a_buyer_gives_its_new_convention_a_penalty_per_missing_hour(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-bessin")
        token = _token(session, Role.buyer, buyer.siret)
        session.commit()
    with serving(create_app(store.engine, get_settings())) as url:
        client, csrf = _signed_in(url, token, "/conventions/nouvelle")
        form = {"csrf": csrf, "ref": "CONV-PENALITE", "structure": structure.ref,
                "debut": "2027-01-01", "fin": "2027-12-31", "renouvellement": "tacit",
                "territoire": "Saint-Lô (commune 50502)", "service": ["follow", "control"]}  # fmt: skip
        wrong = client.post("/conventions/nouvelle", data=form | {"penalite": "30,555"})
        assert wrong.status_code == 422
        assert "« 30,555 » : attendu : deux décimales au plus" in _text(wrong)
        saved = client.post("/conventions/nouvelle", data=form | {"penalite": "30"})
        assert saved.status_code == 303, _text(saved)[:500]
        shown = _text(client.get("/conventions/CONV-PENALITE"))
        assert "Pénalité par heure manquante</dt><dd>30 €" in shown
        client.close()
    with store.session() as session:
        row = session.exec(select(Convention).where(Convention.ref == "CONV-PENALITE")).one()
        assert row.penalty_per_hour == Decimal(30)


def test_a_facilitator_reserves_a_lot_to_integration_structures_on_the_offer_form(store, clock):
    with store.session() as session:
        buyer = make.buyer(session)
        structure = make.structure(session, "mde-offre")
        make.convention(session, buyer=buyer, structure=structure)
        market = make.market(
            session, buyer=buyer, state="insertion_offer", hours=None, clause_text=None
        )
        token = _token(session, Role.facilitator, structure.ref)
        session.commit()
        ref, version = market.ref, market.version
    with serving(create_app(store.engine, get_settings())) as url:
        client, csrf = _signed_in(url, token, f"/marches/{ref}/offre")
        shown = _text(client.get(f"/marches/{ref}/offre"))
        assert 'value="execution_condition" checked' in shown
        assert (
            "Lot réservé aux structures d'insertion par l'activité économique (article L2113-13)"
            in shown
        )
        data = {"csrf": csrf, "version": str(version), "action": "enregistrer",
                "modalites-1": "direct_hire", "modalites-2": "direct_hire"}  # fmt: skip
        wrong = client.post(f"/marches/{ref}/offre", data=data | {"instrument-1": "reserve"})
        assert wrong.status_code == 422 and "Instrument juridique : un choix inconnu" in _text(
            wrong
        )
        saved = client.post(f"/marches/{ref}/offre", data=data | {"instrument-1": "reserved_siae"})
        assert saved.status_code == 303, _text(saved)[:500]
        page = _text(client.get(f"/marches/{ref}"))
        assert (
            "Instrument de la clause : lot réservé aux structures d'insertion par l'activité "
            "économique (article L2113-13 du Code de la commande publique)"
        ) in page
        assert (
            "Instrument de la clause : condition d'exécution (article L2112-2 du Code de la "
            "commande publique)"
        ) in page
        client.close()
    with store.session() as session:
        lots = session.exec(select(Lot).join(Market).where(Market.ref == ref).order_by(Lot.number))
        assert [lot.instrument for lot in lots] == ["reserved_siae", "execution_condition"]


@pytest.fixture
def ended(store, clock):
    """A lot of 1 000 h ending on 31 May 2026, 800 h validated, its convention's penalty 30 € an
    hour, completed on 31 May; the buyer's token."""
    clock.move_to(paris(date(2026, 1, 5)))
    with store.session() as session:
        buyer = make.buyer(session)
        convention = make.convention(session, buyer=buyer, structure=make.structure(session))
        convention.penalty_per_hour = Decimal(30)
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=1000,
            awarded_to=make.contractor(session),
            execution_starts_on=date(2026, 1, 1), execution_ends_on=date(2026, 5, 31),
        )  # fmt: skip
        make.every_month_declared(session, market, but=("2026-05",))
        [lot] = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        lot.hours_validated = Decimal(800)
        session.add_all([convention, lot])
        token = _token(session, Role.buyer, buyer.siret)
        session.commit()
        ref, lot_id = market.ref, lot.id
    clock.move_to(paris(date(2026, 5, 31)))
    with store.session() as session:
        fire(session, ref=ref, trigger="complete", actor="f0@test.example")
        session.commit()
    return ref, lot_id, token


def test_the_market_page_shows_the_shortfall_provisional_then_final(store, clock, ended):
    ref, lot_id, token = ended
    from clausier.declarations.models import Statement

    with serving(create_app(store.engine, get_settings())) as url:
        clock.move_to(paris(date(2026, 6, 2)))
        client, _csrf = _signed_in(url, token, f"/marches/{ref}")
        page = _text(client.get(f"/marches/{ref}"))
        assert "Fin d'exécution : heures manquantes et pénalité" in page
        assert '<span class="badge warn">provisoire</span>' in page
        assert "le relevé de mai 2026 se déclare jusqu'au 10/06/2026" in page
        assert '<td id="manque-total">200 h</td>' in page
        assert '<td id="penalite-total">6 000 €</td>' in page
        assert "200 h × 30 € = <strong>6 000 €</strong>" in page
        # and when the buyer will be told: the notice waits among the next reminders
        assert "Fin d'exécution : heures manquantes et pénalité (acheteur)" in page
        with store.session() as session:
            session.add(Statement(lot_id=lot_id, period="2026-05", declared_by="contractor:test",
                                  declared_at=paris(date(2026, 6, 5))))  # fmt: skip
            session.commit()
        client.close()
        clock.move_to(paris(date(2026, 6, 11)))
        client, _csrf = _signed_in(url, token, f"/marches/{ref}")  # a new day, a new sign-in
        page = _text(client.get(f"/marches/{ref}"))
        assert '<span class="badge">définitif</span>' in page
        assert "Chiffres définitifs" in page
        client.close()
