"""On the month's form, a contractor declares a subcontract to an SIAE by its invoice (reference
and amount, no person) and a placement through its ETTI; the page shows the amount, the rate and
its source; the facilitator reviews the invoice line as any other."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest

from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.markets.models import Lot, Market
from clausier.partnerships.models import Convention
from tests import factories as make
from tests.web.execution_world import MONTH, csrf_of, prepare, signed_in

EI_SIRET, ETTI_SIRET = make.siret(9_501), make.siret(9_502)
WRONG_SIRET = ETTI_SIRET[:-1] + str((int(ETTI_SIRET[-1]) + 1) % 10)  # its Luhn key broken


@pytest.fixture
def world(site):
    return prepare(site)


def _month_url(world) -> str:
    return f"/lots/{world.lot_id}/declarations/{MONTH}"


def test_a_contractor_declares_an_siae_invoice_and_an_etti_placement_in_the_form(world):
    with world.store.session() as session:
        market = session.get(Market, session.get(Lot, world.lot_id).market_id)
        convention = session.get(Convention, market.convention_id)
        convention.hourly_cost = Decimal("30")
        session.add(convention)
        session.commit()
        ref = convention.ref
    bruno = world.codes["bruno"]
    with signed_in(world, "contractor") as client:
        csrf = csrf_of(client)
        form = {"csrf": csrf, "action": "enregistrer",
                "beneficiary-1": bruno, "modality-1": "placement", "hours-1": "20",
                "contract_type-1": "temporary", "body_siret-1": WRONG_SIRET, "body_kind-1": "etti",
                "beneficiary-2": "", "modality-2": "subcontracting", "hours-2": "",
                "body_siret-2": EI_SIRET, "body_kind-2": "ei", "invoice_ref-2": "F-2026-201",
                "invoice_amount-2": "10 000"}  # fmt: skip
        refused = client.post(_month_url(world), data=form)
        assert refused.status_code == 422
        text = unescape(refused.text)
        assert "1 erreur : rien n'a été enregistré" in text
        assert "Ligne 1, SIRET de l'organisme : SIRET de l'organisme" in text
        assert 'href="#body_siret-1"' in refused.text
        assert world.lines() == []

        saved = client.post(_month_url(world), data=form | {"body_siret-1": ETTI_SIRET})
        assert saved.status_code == 303, saved.text
        page = unescape(client.get(saved.headers["location"]).text)
        assert "2 lignes ajoutées" in page
        assert f"10\u202f000 € HT ÷ 30 € de l'heure (convention {ref}) = 333,33 h" in page
    placed, invoiced = sorted(world.lines(), key=lambda line: line.id)
    assert (placed.body_kind, placed.body_siret, placed.hours) == ("etti", ETTI_SIRET, Decimal("20.00"))  # fmt: skip
    assert (invoiced.beneficiary_id, invoiced.hours) == (None, Decimal("333.33"))

    with signed_in(world, "facilitator") as client:
        page = unescape(client.get("/controle").text)
        assert "facture F-2026-201" in page and f"EI, SIRET {EI_SIRET}" in page
        assert f"10\u202f000 € HT ÷ 30 € de l'heure (convention {ref})" in page
        done = client.post(f"/controle/lignes/{invoiced.id}",
                           data={"csrf": csrf_of(client), "decision": "valider"})  # fmt: skip
        assert done.status_code == 303, done.text
    with world.store.session() as session:
        assert session.get(DeclarationLine, invoiced.id).status == LineStatus.validated
        assert session.get(Lot, world.lot_id).hours_validated == world.validated_before + Decimal(
            "333.33"
        )


def test_the_month_s_form_with_its_body_and_invoice_fields_fits_a_phone(page, world):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(world.url + "/connexion")
    page.get_by_label("Jeton", exact=True).fill(world.tokens["contractor"])
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.wait_for_url(re.compile(r"/(marches|taches|lots)$"))
    page.goto(world.url + _month_url(world))
    page.get_by_label("Ligne 1 : montant HT de la facture, en euros").fill("10 000")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
