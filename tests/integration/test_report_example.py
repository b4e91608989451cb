"""The example territory (examples/basse-normandie.yaml, on 25 November 2026): the Région's 2026
report, and the workbook it downloads, equal a count made by hand from the file."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from clausier import clock
from clausier.loading.loader import load
from clausier.reports.exports import to_xlsx
from clausier.reports.indicators import indicators, resolve_scope

EXAMPLE = Path(__file__).parents[2] / "examples" / "basse-normandie.yaml"
D = Decimal


@pytest.fixture
def example(store, clock):
    with store.session() as session:
        load(session, EXAMPLE, today=clock_today())
        session.commit()
    return store


def clock_today():
    return clock.today()


def report_of(store, buyer: str):
    with store.session() as session:
        scope = resolve_scope(session, "buyer", buyer)
        return indicators(session, scope, 2026, today=clock.today(), now=clock.now())


def test_the_regions_2026_report_equals_the_hand_count(example):
    report = report_of(example, "Région Normandie")
    # the Région's markets in execution, evaluation or closed: MKT-2026-005 (evaluation,
    # 16/03 → 30/09/2026) and MKT-2026-012 (execution, 04/05/2026 → 30/06/2027); the others are
    # in identification, consultation or not clausable
    assert [m.ref for m in report.markets] == ["MKT-2026-005", "MKT-2026-012"]
    r005, r012 = report.markets
    # planned: MKT-2026-005 lies wholly in 2026 → 440 + 280 = 720 ; MKT-2026-012 has 242 of its
    # 423 days in 2026 (4 May to 31 December): 1 200 × 242/423 = 686.52, 710 × 242/423 =
    # 406.19, 525 × 242/423 = 300.35 → 1 393.06 ; together 2 113.06
    assert [lot.planned for lot in r012.lots] == [D("686.52"), D("406.19"), D("300.35")]
    assert (r012.lots[0].days_in_year, r012.lots[0].days_total) == (242, 423)
    assert (r005.planned, r012.planned, report.planned) == (D("720.00"), D("1393.06"), D("2113.06"))
    # validated: MKT-2026-005 lot 1 80 + 120 + 60 + 120 + 70 = 450, lot 2 100 + 100 + 50 = 250
    # (the 30 h of training rejected) ; MKT-2026-012 lot 1 100 + 110 + 90 + 60 + 120 = 480
    # (October's 120 h still to check), lot 2 40 → 1 220 h, as the file's own count says
    assert [lot.validated for lot in r005.lots] == [D("450.00"), D("250.00")]
    assert [lot.validated for lot in r012.lots] == [D("480.00"), D("40.00"), D("0.00")]
    assert report.validated == D("1220.00")
    assert report.rate == D("0.5774")  # 1 220 / 2 113.06 = 0.57736…
    # six people: B-7K2M4Q1A deld F 26-49 320 h (direct hire, CDD) ; B-9X3N5R2B jeune M <26
    # 130 h (placement, temporary) ; B-4H8P2T6C rqth M 50+ 250 h (subcontracting, CDDI) ;
    # B-5F1G7J9E qpv M <26 330 h (direct hire, apprenticeship) ; B-8S3V1K4F plie F 26-49 150 h
    # (placement, temporary) ; B-3M9Q5X7G senior M 50+ 40 h (direct hire, CDD). B-2W6Y8Z3D
    # only has a rejected line on the Région's markets.
    assert report.beneficiaries == 6 and (r005.beneficiaries, r012.beneficiaries) == (3, 3)
    counted = {
        name: {s.code: (s.beneficiaries, s.hours) for s in shares if s.beneficiaries}
        for name, shares in report.splits.items()
    }
    assert counted["public"] == {
        "deld": (1, D("320.00")), "jeune": (1, D("130.00")), "rqth": (1, D("250.00")),
        "qpv": (1, D("330.00")), "plie": (1, D("150.00")), "senior": (1, D("40.00")),
    }  # fmt: skip
    assert counted["sex"] == {"F": (2, D("470.00")), "M": (4, D("750.00"))}  # 320 + 150
    assert counted["age_band"] == {
        "under_26": (2, D("460.00")), "26_to_49": (2, D("470.00")), "50_plus": (2, D("290.00"))}  # fmt: skip
    assert counted["modality"] == {
        "direct_hire": (3, D("690.00")), "placement": (2, D("280.00")),
        "subcontracting": (1, D("250.00"))}  # fmt: skip
    assert counted["contract_type"] == {
        "cdd": (2, D("360.00")), "apprenticeship": (1, D("330.00")),
        "temporary": (2, D("280.00")), "cddi": (1, D("250.00"))}  # fmt: skip
    # months: April 80 ; May 120 + 60 + 100 = 280 ; June 120 + 70 + 100 + 100 = 390 ; July 50
    # + 110 + 90 = 250 ; August 60 ; September 120 + 40 = 160 ; October to check: 0
    assert [m.validated for m in report.months[3:10]] == [
        D(80), D(280), D(390), D(250), D(60), D(160), D(0)]  # fmt: skip
    assert report.months[-1].target_cumulative == report.planned
    # outcomes of MKT-2026-005 (in evaluation): a durable employment and a positive exit, and
    # B-4H8P2T6C, whose outcome is not known yet, counted as unknown: 2 positives of 3 people
    assert (report.outcomes.markets, report.outcomes.total, report.outcomes.positive) == (1, 3, 2)
    assert report.outcomes.positive_rate == D("0.6667")
    assert {o.code: o.count for o in report.outcomes.by_outcome if o.count} == {
        "durable_employment": 1, "positive_exit": 1, "unknown": 1}  # fmt: skip

    # the Département: MKT-2026-008 (290 h, closed) and MKT-2026-019 lot 1 (35 h), one person
    departement = report_of(example, "Conseil départemental de la Manche")
    assert (departement.validated, departement.beneficiaries) == (D("325.00"), 1)


def test_the_workbook_the_buyer_downloads_has_the_same_figures(sqlite_store, clock):
    with sqlite_store.session() as session:
        load(session, EXAMPLE, today=clock_today())
        session.commit()
    book = load_workbook(io.BytesIO(to_xlsx(report_of(sqlite_store, "Région Normandie"))))
    summary = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=4, values_only=True)}
    assert summary["Heures prévues en 2026"] == pytest.approx(2113.06)
    assert summary["Heures validées en 2026"] == pytest.approx(1220)
    assert summary["Taux de réalisation"] == pytest.approx(0.5774)
    assert summary["Bénéficiaires en 2026"] == 6 and summary["Sorties positives"] == 2
    assert summary["Taux de sorties positives"] == pytest.approx(0.6667)
    lots = [row for row in book["Marchés"].iter_rows(min_row=4, values_only=True)]
    assert [(row[0], row[8], row[15]) for row in lots[:-1]] == [
        ("MKT-2026-005", 1, 450), ("MKT-2026-005", 2, 250),
        ("MKT-2026-012", 1, 480), ("MKT-2026-012", 2, 40), ("MKT-2026-012", 3, 0),
    ]  # fmt: skip
    text = repr([list(sheet.values) for sheet in book.worksheets])
    assert "Léa Fontaine" not in text and "B-7K2M4Q1A" not in text
