"""The execution pages over plain HTTP, where a browser would add nothing: a CSV upload, scopes,
names kept from contractors, CSRF, a rejection without its reason, registering a person, and
the evaluation on the market page."""

from __future__ import annotations

from datetime import date
from html import unescape

import pytest
from sqlmodel import select

from clausier import clock
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine, Statement
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Contractor
from tests import factories as make
from tests.web.execution_world import MONTH, NAMES, csrf_of, prepare, signed_in
from workflow.engine import fire

ETTI_SIRET = make.siret(9_401)
ETTI = {"body_siret": ETTI_SIRET, "body_kind": "etti"}  # a placement names its body


@pytest.fixture
def world(site):
    return prepare(site)


def _month_url(world, lot_id=None, period=MONTH) -> str:
    return f"/lots/{lot_id or world.lot_id}/declarations/{period}"


def test_a_csv_with_one_bad_line_writes_nothing_and_names_the_line(world):
    alice, bruno = world.codes["alice"], world.codes["bruno"]
    bad = (
        "Bénéficiaire;Modalité;Heures;Type de contrat;SIRET de l'organisme;Type d'organisme\r\n"
        f"{alice};embauche directe;35;CDI;;\r\n"
        f"{bruno};mise à disposition;-4;;{ETTI_SIRET};ETTI\r\n"
    ).encode("cp1252")  # as Excel saves it in France
    with signed_in(world, "contractor") as client:
        csrf = csrf_of(client)
        nothing = client.post(_month_url(world), data={"csrf": csrf, "action": "rien"})
        assert nothing.status_code == 303
        assert "aucune heure déclarée ce mois-ci" in client.get(nothing.headers["location"]).text
        refused = client.post(
            _month_url(world),
            data={"csrf": csrf, "action": "fichier"},
            files={"fichier": ("heures.csv", bad, "text/csv")},
        )
        assert refused.status_code == 422
        text = unescape(refused.text)
        assert "1 erreur : rien n'a été enregistré" in text
        assert (
            "Ligne 3 du fichier, heures : « -4 » : attendu : une valeur strictement supérieure à 0"
            in text
        )
        assert world.lines() == []
        good = (  # UTF-8 with a BOM, comma-separated, a French decimal quoted
            "\ufeffbeneficiary,modality,hours,contract_type,siret_organisme,type_organisme\n"
            f'{alice},direct_hire,35,cdi,,\n{bruno},placement,"12,5",,{ETTI_SIRET},etti\n'
        )
        saved = client.post(
            _month_url(world),
            data={"csrf": csrf, "action": "fichier"},
            files={"fichier": ("heures.csv", good.encode("utf-8"), "text/csv")},
        )
        assert saved.status_code == 303
        page = client.get(saved.headers["location"]).text
        assert "Relevé de novembre 2026 enregistré : 2 lignes ajoutées" in page
    assert sorted(str(line.hours) for line in world.lines()) == ["12.50", "35.00"]


def test_a_contractor_cannot_reach_another_contractors_lot(world):
    with signed_in(world, "contractor") as client:
        csrf = csrf_of(client)
        for url in (
            f"/lots/{world.other_lot_id}/declarations",
            _month_url(world, world.other_lot_id),
        ):
            assert client.get(url).status_code == 404
        posted = client.post(
            _month_url(world, world.other_lot_id),
            data={"csrf": csrf, "beneficiary-1": world.codes["alice"],
                  "modality-1": "direct_hire", "hours-1": "7"},
        )  # fmt: skip
        assert posted.status_code == 404
        assert client.get(f"/lots/{world.lot_id}/declarations").status_code == 200
        assert client.get(_month_url(world, period="2026-13")).status_code == 404
        future = client.get(_month_url(world, period="2027-01")).text
        assert "n'a pas commencé" in unescape(future) and "Enregistrer le relevé" not in future
        mine = client.get("/lots").text
        assert f"/lots/{world.lot_id}/declarations" in mine
        assert f"/lots/{world.other_lot_id}/declarations" not in mine
    with world.store.session() as session:
        assert session.exec(select(Statement).where(Statement.lot_id == world.other_lot_id)).all() == []  # fmt: skip


def test_a_contractor_past_the_monthly_maximum_is_not_told_the_other_lots_hours(world):
    """Lot 2's contractor declared 140 h for Alice this month; lot 1's, typing 50 h more in the
    form, reads that the monthly maximum is passed, and not the 140 h nor the 190 h."""
    alice = world.codes["alice"]
    with signed_in(world, "other_contractor") as client:
        other = client.post(_month_url(world, world.other_lot_id), data={
            "csrf": csrf_of(client), "beneficiary-1": alice, "modality-1": "direct_hire",
            "hours-1": "140"})  # fmt: skip
        assert other.status_code == 303
    with signed_in(world, "contractor") as client:
        refused = client.post(_month_url(world), data={
            "csrf": csrf_of(client), "beneficiary-1": alice, "modality-1": "direct_hire",
            "hours-1": "50"})  # fmt: skip
    assert refused.status_code == 422
    text = unescape(refused.text).replace("\u202f", " ")
    assert (
        f"{alice} : en novembre 2026, avec ce relevé (50,00 h), ses heures dépassent le maximum "
        "plausible de 180 h par personne et par mois, tous lots confondus"
    ) in text
    assert "140" not in text and "190" not in text
    assert world.lines() == []


def test_a_contractor_reads_codes_never_names_and_a_facilitator_reads_both(world):
    alice = world.codes["alice"]
    with signed_in(world, "contractor") as client:
        csrf = csrf_of(client)
        saved = client.post(
            _month_url(world),
            data={"csrf": csrf, "beneficiary-1": alice, "modality-1": "direct_hire",
                  "hours-1": "20", "contract_type-1": "cdd"},
        )  # fmt: skip
        assert saved.status_code == 303
        more = client.post(_month_url(world), data={"csrf": csrf, "action": "ajouter",
                                                    "beneficiary-1": alice, "hours-1": "20"})  # fmt: skip
        assert more.status_code == 200 and 'id="beneficiary-2"' in more.text, "a row more"
        pages = [
            client.get(url).text
            for url in ("/lots", f"/lots/{world.lot_id}/declarations", _month_url(world),
                        _month_url(world, period="2026-10"), "/marches/MKT-2026-019")
        ]  # fmt: skip
        assert alice in pages[2]
        with world.store.session() as session:
            names = [b.name for b in session.exec(select(Beneficiary)).all() if b.name]
        for page in pages:
            assert not [name for name in names if name in page]
        assert client.get("/beneficiaires").status_code == 403
        assert client.get("/controle").status_code == 403
    with signed_in(world, "facilitator") as client:
        review_page = client.get("/controle").text
        assert alice in review_page and NAMES["alice"] in review_page
        read_only = client.get(_month_url(world))
        assert read_only.status_code == 200 and "Enregistrer le relevé" not in read_only.text
        refused = client.post(_month_url(world), data={"csrf": csrf_of(client), "action": "rien"})
        assert refused.status_code == 403
    with signed_in(world, "buyer") as client:
        assert NAMES["alice"] not in client.get(_month_url(world)).text


def test_forms_without_their_csrf_token_are_refused_and_write_nothing(world):
    with signed_in(world, "contractor") as client:
        for data in ({"csrf": "faux", "action": "rien"}, {"action": "rien"}):
            assert client.post(_month_url(world), data=data).status_code == 403
    with signed_in(world, "facilitator") as client:
        assert client.post("/controle/lignes/1", data={"csrf": "faux"}).status_code == 403
        assert client.post("/controle/releves/1", data={"csrf": "faux"}).status_code == 403
        registered = {"csrf": "faux", "public": "deld", "sex": "F", "age_band": "under_26"}
        assert client.post("/beneficiaires", data=registered).status_code == 403
        assert (
            client.post("/marches/MKT-2026-005/evaluation", data={"csrf": "faux"}).status_code
            == 403
        )
    with world.store.session() as session:
        assert (
            session.exec(
                select(Statement).where(Statement.lot_id == world.lot_id, Statement.period == MONTH)
            ).first()
            is None
        )


def test_a_rejection_needs_its_reason_named_next_to_the_line(world):
    with world.store.session() as session:
        declare(
            session, lot=session.get(Lot, world.lot_id), period=MONTH,
            lines=[LineInput(world.codes["bruno"], "placement", "12", **ETTI),
                   LineInput(world.codes["alice"], "placement", "8", **ETTI)], actor="contractor:test",
            settings=get_settings(), today=clock.today(), now=clock.now(),
        )  # fmt: skip
        session.commit()
    line, other = sorted(world.lines(), key=lambda row: row.hours, reverse=True)
    with signed_in(world, "facilitator") as client:
        csrf = csrf_of(client)
        refused = client.post(
            f"/controle/lignes/{line.id}", data={"csrf": csrf, "decision": "rejeter", "reason": " "}
        )
        assert refused.status_code == 422
        assert f'href="#motif-{line.id}"' in refused.text
        assert f"{world.codes['bruno']}, novembre 2026" in refused.text
        assert {row.status for row in world.lines()} == {"submitted"}
        done = client.post(
            f"/controle/lignes/{line.id}",
            data={"csrf": csrf, "decision": "rejeter", "reason": "heures en double"},
        )
        assert (done.status_code, done.headers["location"]) == (303, "/controle?fait=rejetee")
        everything = client.post(
            f"/controle/releves/{line.statement_id}",
            data={"csrf": csrf, "ligne": [str(line.id), str(other.id)]},
        )
        assert everything.status_code == 303
    statuses = {row.id: row.status for row in world.lines()}
    assert statuses == {line.id: "rejected", other.id: "validated"}, "a rejected line stays so"
    with signed_in(world, "contractor") as client:
        page = client.get(_month_url(world)).text
        assert "rejetée" in page and "Motif : heures en double" in page


def test_a_facilitator_registers_a_person_and_gets_the_code_to_pass_on(world):
    with signed_in(world, "facilitator") as client:
        csrf = csrf_of(client)
        form = {"csrf": csrf, "public": "other", "public_reason": "", "age_band": "under_26",
                "checked_by": "facilitateur@mde-cotentin.fr", "checked_on": "2026-11-20",
                "name": "Zoé Nouvelle"}  # fmt: skip
        refused = client.post("/beneficiaires", data=form)
        assert refused.status_code == 422
        assert 'href="#sex-F"' in refused.text and 'href="#public_reason"' in refused.text
        saved = client.post(
            "/beneficiaires", data={**form, "sex": "F", "public_reason": "sortie de détention"}
        )
        assert saved.status_code == 303
        page = client.get(saved.headers["location"]).text
    with world.store.session() as session:
        person = session.exec(select(Beneficiary).where(Beneficiary.name == "Zoé Nouvelle")).one()
        [criterion] = session.exec(
            select(BeneficiaryCriterion).where(BeneficiaryCriterion.beneficiary_id == person.id)
        ).all()
    assert (criterion.public, criterion.reason, criterion.checked_on) == (
        "other", "sortie de détention", date(2026, 11, 20))  # fmt: skip
    assert f'<p class="code" id="code-delivre">{person.code}</p>' in page
    assert "à communiquer au titulaire" in page and "Zoé Nouvelle" in page


def test_the_evaluation_is_recorded_on_the_market_page(world):
    """A small market of the Manche in Cherbourg (so followed by the MEF du Cotentin): its
    10 hours validated, then completed."""
    with world.store.session() as session:
        manche = session.exec(select(Market).where(Market.ref == "MKT-2026-019")).one()
        market = make.market(
            session, buyer=session.get(Buyer, manche.buyer_id), state="execution", lots=1,
            hours=10, ref="MKT-2026-099", awarded_to=session.exec(select(Contractor)).first(),
            execution_starts_on=date(2026, 9, 1), execution_ends_on=date(2026, 12, 31),
        )  # fmt: skip
        assert market.structure_id == manche.structure_id
        settings, alice = get_settings(), world.codes["alice"]
        declared = declare(
            session, lot=session.exec(select(Lot).where(Lot.market_id == market.id)).one(),
            period="2026-10", lines=[LineInput(alice, "direct_hire", 10)], actor="contractor:test",
            settings=settings, today=clock.today(), now=clock.now(),
        )  # fmt: skip
        [line_id] = session.exec(
            select(DeclarationLine.id).where(DeclarationLine.statement_id == declared.statement.id)
        ).all()
        review(session, [Decision(line_id, True)], actor="f", settings=settings,
               today=clock.today(), now=clock.now())  # fmt: skip
        fire(session, ref="MKT-2026-099", trigger="complete", actor="test")
        session.commit()
    with signed_in(world, "facilitator") as client:
        page = client.get("/marches/MKT-2026-099").text
        assert f'name="sortie-{alice}"' in page and "Sorties encore à renseigner (1)" in page
        assert NAMES["alice"] in page
        # before 30/06/2027 (six months after the end), an outcome says why it is known already
        assert 'name="motif-anticipe"' in page
        form = {"csrf": csrf_of(client), f"sortie-{alice}": "durable_employment",
                "bilan": "Objectif atteint : 10 heures pour une personne."}  # fmt: skip
        early = client.post("/marches/MKT-2026-099/evaluation", data=form)
        assert early.status_code == 422
        assert "la sortie à six mois se constate à partir du 30/06/2027" in early.text
        saved = client.post(
            "/marches/MKT-2026-099/evaluation",
            data=form | {"motif-anticipe": "CDI signé le dernier jour du chantier"},
        )
        assert saved.status_code == 303
        page = client.get(saved.headers["location"]).text
        assert "Évaluation enregistrée." in page and "Toutes les sorties sont renseignées." in page
    with signed_in(world, "buyer") as client:
        page = client.get("/marches/MKT-2026-099").text
        assert "1 sortie(s) renseignée(s) sur 1 bénéficiaire(s)" in page
        assert 'action="/marches/MKT-2026-099/evaluation"' not in page
        assert NAMES["alice"] not in page
