"""A placement or a subcontract names its body (SIRET and kind); a subcontract to an SIAE may be
counted by its invoice, at the convention's hourly cost: 10,000 € at 30 €/h is 333.33 h. The
reports say how many hours went through each modality and each kind of body."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

import pytest
from sqlalchemy import text
from sqlmodel import select

from clausier.config import get_settings
from clausier.db import migrate
from clausier.declarations import views
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.declarations.service import Decision, LineInput, declare, review
from clausier.errors import LoadErrors
from clausier.markets.models import Lot
from clausier.partners.models import Buyer, Structure
from clausier.partnerships.models import Convention
from clausier.reports.indicators import indicators, resolve_scope
from tests import factories as make

EI_SIRET = make.siret(7_501)  # an entreprise d'insertion
ETTI_SIRET = make.siret(7_502)  # an integration temp agency
AGENCY_SIRET = make.siret(7_503)  # an ordinary temp agency
WRONG_SIRET = ETTI_SIRET[:-1] + str((int(ETTI_SIRET[-1]) + 1) % 10)  # its Luhn key broken


@pytest.fixture
def site(store, clock):
    """A lot of 1,000,000 € in execution in 2027, its market's convention at 30 € an hour; one
    person registered by the structure that follows it."""
    clock.move_to(datetime(2027, 4, 2, 9, tzinfo=UTC))
    with store.session() as session:
        buyer = make.buyer(session)
        mde = make.structure(session, "mde-cotentin")
        convention = make.convention(
            session, buyer=buyer, structure=mde, covering=(make.MANCHE,),
            starts_on=date(2027, 1, 1), ends_on=date(2027, 12, 31),
        )  # fmt: skip
        convention.hourly_cost = Decimal("30")
        session.add(convention)
        winner = make.contractor(session)
        market = make.market(
            session, buyer=buyer, state="execution", lots=1, hours=2000, awarded_to=winner,
            execution_starts_on=date(2027, 1, 1), execution_ends_on=date(2027, 12, 31),
        )  # fmt: skip
        lot = session.exec(select(Lot).where(Lot.market_id == market.id)).one()
        person = make.beneficiary(session, mde)
        session.commit()
        return {"lot_id": lot.id, "market": market.ref, "person": person.code,
                "convention": convention.ref, "buyer": buyer.id, "structure": mde.id}  # fmt: skip


def _declare(store, site, period, lines):
    with store.session() as session:
        lot = session.get(Lot, site["lot_id"])
        result = declare(
            session, lot=lot, period=period, lines=lines, actor="contractor:test",
            settings=get_settings(), today=date(2027, 4, 2), now=datetime.now(UTC),
        )  # fmt: skip
        session.commit()
        return result


def _lines(store, site) -> list[DeclarationLine]:
    with store.session() as session:
        return list(
            session.exec(
                select(DeclarationLine)
                .where(DeclarationLine.lot_id == site["lot_id"])
                .order_by(DeclarationLine.id)
            ).all()
        )


def _refusal(store, site, period, lines) -> list[tuple[int | None, str, str]]:
    with pytest.raises(LoadErrors) as refused:
        _declare(store, site, period, lines)
    return [(p.line, p.field, p.message) for p in refused.value.errors]


def _invoice(
    ref="F-2027-014", amount="10000", kind="ei", siret=EI_SIRET, modality="subcontracting"
):
    return LineInput(None, modality, None, body_siret=siret, body_kind=kind, invoice_ref=ref,
                     invoice_amount=amount)  # fmt: skip


def test_an_siae_subcontract_of_10000_euros_at_30_an_hour_counts_333_33_hours(store, site):
    _declare(store, site, "2027-03", [_invoice()])
    [line] = _lines(store, site)
    assert line.beneficiary_id is None
    assert (line.hours, line.invoice_amount, line.hourly_cost) == (
        Decimal("333.33"), Decimal("10000.00"), Decimal("30.00"))  # fmt: skip
    assert line.hourly_cost_source == f"convention {site['convention']}"
    assert (line.body_kind, line.body_siret) == ("ei", EI_SIRET)

    with store.session() as session:  # the line shows the amount, the rate and its source
        lot = session.get(Lot, site["lot_id"])
        [statement] = views.lot_statements(
            session, lot, role="contractor", org_id=None, eligibility=False
        )
        [shown] = statement["lines"]
    assert shown["beneficiary"] is None
    assert (shown["invoice_ref"], shown["invoice_amount"], shown["hours"]) == (
        "F-2027-014", "10000.00", "333.33")  # fmt: skip
    assert (shown["hourly_cost"], shown["hourly_cost_source"]) == (
        "30.00", f"convention {site['convention']}")  # fmt: skip
    assert shown["body_kind_label"] == "entreprise d'insertion (EI)"

    with store.session() as session:  # reviewed like any line; only then it counts
        review(session, [Decision(line.id, True)], actor="facilitator:f0",
               settings=get_settings(), today=date(2027, 4, 2), now=datetime.now(UTC))  # fmt: skip
        session.commit()
        assert session.get(Lot, site["lot_id"]).hours_validated == Decimal("333.33")


def test_without_a_convention_rate_the_invoice_counts_at_the_buyer_s(store, site):
    with store.session() as session:
        convention = session.exec(
            select(Convention).where(Convention.ref == site["convention"])
        ).one()
        convention.hourly_cost = None
        buyer = session.get(Buyer, site["buyer"])
        buyer.hourly_cost = Decimal("40")
        session.add_all([convention, buyer])
        session.commit()
        name = buyer.name
    _declare(store, site, "2027-03", [_invoice(amount="10 000,00 €")])
    [line] = _lines(store, site)
    assert (line.hours, line.hourly_cost) == (Decimal("250.00"), Decimal("40.00"))
    assert line.hourly_cost_source == f"paramètres de {name}"


def test_a_subcontract_without_person_nor_invoice_says_how_to_declare_it(store, site):
    """The CSV line ``;subcontracting;333`` once answered « bénéficiaire « » inconnu »."""
    [(line, field, message)] = _refusal(store, site, "2027-03", [
        LineInput("", "subcontracting", "333", body_siret=EI_SIRET, body_kind="ei")])  # fmt: skip
    assert (line, field) == (1, "beneficiary")
    assert "sa référence et son montant HT" in message
    assert f"30 € de l'heure (convention {site['convention']})" in message
    assert _lines(store, site) == []


def test_a_placement_through_an_etti_with_a_wrong_siret_is_refused_and_nothing_written(store, site):
    person = site["person"]
    problems = _refusal(store, site, "2027-03", [
        LineInput(person, "direct_hire", "35", "cdd"),
        LineInput(person, "placement", "20", "temporary", body_siret=WRONG_SIRET, body_kind="etti"),
    ])  # fmt: skip
    assert [(line, field) for line, field, _message in problems] == [(2, "body_siret")]
    assert "clé de contrôle incorrecte (algorithme de Luhn)" in problems[0][2]
    assert WRONG_SIRET in problems[0][2]
    assert _lines(store, site) == []

    _declare(store, site, "2027-03", [
        LineInput(person, "placement", "20", "temporary", body_siret=ETTI_SIRET, body_kind="etti")])  # fmt: skip
    [line] = _lines(store, site)
    assert (line.body_kind, line.body_siret, line.hours) == ("etti", ETTI_SIRET, Decimal("20.00"))


@pytest.mark.parametrize(
    ("line", "field", "words"),
    [
        (LineInput("{person}", "placement", "20", body_kind="etti"), "body_siret",
         "SIRET de l'organisme manquant"),
        (LineInput("{person}", "placement", "20", body_siret=ETTI_SIRET), "body_kind",
         "type d'organisme manquant (attendu : etti (ETTI), ai (AI), geiq (GEIQ), temp_agency"),
        (LineInput("{person}", "placement", "20", body_siret=ETTI_SIRET, body_kind="ett"),
         "body_kind", "type d'organisme « ett » inconnu"),
        (LineInput("{person}", "placement", "20", body_siret=EI_SIRET, body_kind="ei"),
         "body_kind", "ne passe pas par une EI"),
        (LineInput("{person}", "direct_hire", "20", body_siret=EI_SIRET, body_kind="ei"),
         "body_siret", "ne passe par aucun organisme"),
        (_invoice(amount="-10000"), "invoice_amount", "strictement supérieure à 0"),
        (_invoice(amount="2000000"), "invoice_amount", "au-delà du montant du lot"),
        (_invoice(amount="dix mille"), "invoice_amount", "attendu : un montant en euros"),
        (_invoice(ref=None), "invoice_ref", "référence de la facture manquante"),
        (_invoice(modality="placement", kind="etti", siret=ETTI_SIRET), "invoice_ref",
         "ne se compte pas par facture"),
    ],
    ids=["no-siret", "no-kind", "unknown-kind", "kind-of-another-modality", "body-on-direct-hire",
         "negative-amount", "beyond-the-lot", "not-a-number", "no-reference", "placement-invoice"],
)  # fmt: skip
def test_bad_bodies_and_invoices_are_refused_in_french_and_nothing_is_written(
    store, site, line, field, words
):
    if line.beneficiary == "{person}":
        line = LineInput(site["person"], line.modality, line.hours, body_siret=line.body_siret,
                         body_kind=line.body_kind)  # fmt: skip
    problems = _refusal(store, site, "2027-03", [line])
    assert [f for _line, f, _message in problems] == [field], problems
    assert words in problems[0][2]
    assert _lines(store, site) == []


def test_one_line_per_invoice_a_month_and_no_monthly_maximum_for_an_invoice(store, site):
    # 9,000 € at 30 €/h is 300 h: beyond a person's 180 h a month, but an invoice is no person
    problems = _refusal(store, site, "2027-03", [_invoice(amount="9000"), _invoice(amount="1000")])
    assert [(line, field) for line, field, _message in problems] == [(2, "invoice_ref")]
    assert "une ligne par facture et par mois" in problems[0][2]
    _declare(store, site, "2027-03", [_invoice(amount="9000"), _invoice("F-2027-015", "1000")])
    assert [line.hours for line in _lines(store, site)] == [Decimal("300.00"), Decimal("33.33")]


def test_declaring_the_month_again_keeps_an_unchanged_invoice_reviewed(store, site):
    _declare(store, site, "2027-03", [_invoice(), _invoice("F-2027-015", "3000")])
    first, second = _lines(store, site)
    with store.session() as session:
        review(session, [Decision(first.id, True), Decision(second.id, True)],
               actor="facilitator:f0", settings=get_settings(), today=date(2027, 4, 2),
               now=datetime.now(UTC))  # fmt: skip
        session.commit()
    result = _declare(store, site, "2027-03", [_invoice(), _invoice("F-2027-015", "6000")])
    assert (result.added, result.changed, result.unchanged, result.withdrawn) == (0, 1, 1, 0)
    first, second = _lines(store, site)
    assert (first.status, second.status) == (LineStatus.validated, LineStatus.submitted)
    assert second.hours == Decimal("200.00")
    with store.session() as session:
        assert session.get(Lot, site["lot_id"]).hours_validated == Decimal("333.33")


def test_the_report_splits_validated_hours_by_modality_and_body_kind(store, site, clock, capsys):
    """100 h of direct hire, 50 h placed by an ETTI, 30 h by an ordinary temp agency and a
    subcontract of 10,000 € to an EI (333.33 h): 513.33 h, of which 383.33 h (74.68 %) went
    through integration structures."""
    person = site["person"]
    with store.session() as session:
        other = make.beneficiary(session, session.get(Structure, site["structure"]))
        session.commit()
        other = other.code
    _declare(store, site, "2027-03", [
        LineInput(person, "direct_hire", "100", "cdi"),
        LineInput(person, "placement", "50", "temporary", body_siret=ETTI_SIRET, body_kind="etti"),
        LineInput(other, "placement", "30", "temporary", body_siret=AGENCY_SIRET,
                  body_kind="temp_agency"),
        _invoice(),
    ])  # fmt: skip
    with store.session() as session:
        ids = [line.id for line in _lines(store, site)]
        review(session, [Decision(i, True) for i in ids], actor="facilitator:f0",
               settings=get_settings(), today=date(2027, 4, 2), now=datetime.now(UTC))  # fmt: skip
        session.commit()
        scope = resolve_scope(session, "market", site["market"])
        report = indicators(session, scope, 2027, today=date(2027, 4, 2), now=datetime.now(UTC))
    assert report.validated == Decimal("513.33")
    by_modality = {s.code: (s.beneficiaries, s.hours) for s in report.by_modality if s.hours}
    assert by_modality == {"direct_hire": (1, Decimal("100.00")),
                           "placement": (2, Decimal("80.00")),
                           "subcontracting": (0, Decimal("333.33"))}  # fmt: skip
    by_kind = {s.code: s.hours for s in report.by_body_kind if s.hours}
    assert by_kind == {"etti": Decimal("50.00"), "temp_agency": Decimal("30.00"),
                       "ei": Decimal("333.33"), "unspecified": Decimal("100.00")}  # fmt: skip
    assert report.integration_hours == Decimal("383.33")
    assert report.integration_share == Decimal("0.7468")
    assert report.beneficiaries == 2  # an invoice is nobody
    document = report.as_dict()
    assert document["totals"]["integration_share"] == "0.7468"
    assert {s["code"] for s in document["beneficiaries"]["by_body_kind"]} >= {"ei", "etti"}

    from clausier.reports.exports import to_csv

    exported = to_csv(report).decode("utf-8-sig")
    assert "Type d'organisme;ei;entreprise d'insertion (EI);0;333,33" in exported
    assert "Part des heures passées par une structure d'insertion;74,68" in exported

    from clausier.reports.html import render_file

    page = unescape(render_file(report))
    assert "Heures par type d'organisme" in page and "entreprise d'insertion (EI)" in page
    assert "383,33\u202fh validées en 2027 sont passées par une structure d'insertion" in page
    assert "soit 74,7\u202f% des heures validées" in page

    from clausier.cli.reports import print_report

    print_report(report)
    said = capsys.readouterr().out
    assert (
        "Heures validées par modalité : embauche directe 100\u202fh, mise à disposition 80\u202fh, sous-traitance 333,33\u202fh"
        in said
    )
    assert (
        "Par une structure d'insertion (EI, ACI, ETTI, AI, GEIQ) : 383,33\u202fh (74,7\u202f% des heures validées)"
        in said
    )


def test_migration_0016_keeps_the_lines_declared_before(store, site):
    """Back to 0015 and up again: the lines of people keep their person, modality and hours,
    their body unknown; an invoice line, which 0015 cannot hold, goes and its hours with it."""
    person = site["person"]
    _declare(store, site, "2027-03", [
        LineInput(person, "direct_hire", "35", "cdd"),
        LineInput(person, "placement", "20", "temporary", body_siret=ETTI_SIRET, body_kind="etti"),
        _invoice(),
    ])  # fmt: skip
    with store.session() as session:
        review(session, [Decision(line.id, True) for line in _lines(store, site)],
               actor="facilitator:f0", settings=get_settings(), today=date(2027, 4, 2),
               now=datetime.now(UTC))  # fmt: skip
        session.commit()
    migrate.downgrade(store.engine, "0015_eligibility")
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT modality, hours FROM declaration_line ORDER BY id")
        ).all()
        validated = connection.execute(
            text("SELECT hours_validated FROM lot WHERE id = :id"), {"id": site["lot_id"]}
        ).scalar()
    assert [(modality, Decimal(hours)) for modality, hours in rows] == [
        ("direct_hire", Decimal("35.00")), ("placement", Decimal("20.00"))]  # fmt: skip
    assert Decimal(validated) == Decimal("55.00")
    migrate.upgrade(store.engine)
    assert migrate.current_revision(store.engine) == migrate.head_revision()
    lines = _lines(store, site)
    assert [(line.modality, line.hours, line.body_kind, line.status) for line in lines] == [
        ("direct_hire", Decimal("35.00"), None, LineStatus.validated),
        ("placement", Decimal("20.00"), None, LineStatus.validated),
    ]  # fmt: skip
    assert all(line.beneficiary_id is not None for line in lines)
    _declare(store, site, "2027-04", [_invoice()])  # and the upgraded store takes an invoice
    assert _lines(store, site)[-1].hours == Decimal("333.33")


def test_a_load_file_brings_an_siae_invoice_and_refuses_an_etti_with_a_wrong_siret(
    session, tmp_path, clock
):
    from clausier.loading.loader import load
    from tests.integration.test_load import GOOD, write

    history = f"""\
    beneficiaries:
      - {{code: B-7K2M4Q1A, structure: mde-cotentin, public: deld, sex: F, age_band: 26_to_49,
         checked_by: c.martin@mde.example, checked_on: 2027-05-20}}
    declarations:
      - market: MKT-1
        lot: 1
        period: 2027-06
        lines:
          - {{modality: subcontracting, body_siret: "{EI_SIRET}", body_kind: ei,
             invoice_ref: F-2027-031, invoice_amount: 10000, status: validated}}
          - {{beneficiary: B-7K2M4Q1A, modality: placement, body_siret: "{WRONG_SIRET}",
             body_kind: etti, hours: 20}}
    """
    with pytest.raises(LoadErrors) as failure:
        load(session, write(tmp_path, GOOD + history))
    [problem] = failure.value.errors
    assert problem.field.startswith("declarations[2027-06].lines[B-7K2M4Q1A]")
    assert "clé de contrôle incorrecte" in problem.message
    session.rollback()
    assert session.exec(select(DeclarationLine)).all() == []

    load(session, write(tmp_path, GOOD + history.replace(WRONG_SIRET, ETTI_SIRET)))
    session.commit()
    invoice, placed = session.exec(select(DeclarationLine).order_by(DeclarationLine.id)).all()
    assert (invoice.beneficiary_id, invoice.invoice_ref, invoice.body_kind) == (
        None,
        "F-2027-031",
        "ei",
    )
    assert invoice.hours == (Decimal(10000) / invoice.hourly_cost).quantize(Decimal("0.01"))
    assert invoice.hourly_cost_source
    assert (placed.body_kind, placed.body_siret) == ("etti", ETTI_SIRET)
    lot = session.get(Lot, invoice.lot_id)
    assert lot.hours_validated == invoice.hours
    report = load(session, write(tmp_path, GOOD + history.replace(WRONG_SIRET, ETTI_SIRET)))
    assert report.counts["declarations"].get("unchanged") == 1, "a second load changes nothing"
