"""The yearly report of a buyer, recounted by hand from the world of ``tests/reports_world.py``,
on both stores; then the same figures in the CSV, the XLSX and the HTML, with formulas
neutralised and no name anywhere; and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from clausier import clock
from clausier.beneficiaries.vocabulary import AGE_BANDS
from clausier.reports import exports, html
from clausier.reports.indicators import indicators, resolve_scope
from tests import reports_world

D = Decimal


@pytest.fixture
def world(store, clock):
    return reports_world.build(store, clock)


@pytest.fixture
def sqlite_world(sqlite_store, clock):
    """The exports read a report already counted on both stores: SQLite is enough for them."""
    return reports_world.build(sqlite_store, clock)


def report_of(store, kind: str, key: str, year: int = 2027, **kwargs):
    with store.session() as session:
        scope = resolve_scope(session, kind, key)
        return indicators(session, scope, year, today=clock.today(), now=clock.now(), **kwargs)


def shares(split) -> dict:
    return {s.code: (s.beneficiaries, s.hours) for s in split if s.beneficiaries or s.hours}


def test_the_buyers_2027_report_equals_the_hand_count(store, world):
    report = report_of(store, "buyer", "Région Normandie")

    # markets: only (R-4 is in identification, R-5 was executed in 2026, D-3 is
    # the Département's); R-1's second lot has no clause
    assert [m.ref for m in report.markets] == ["MKT-R-1", "MKT-R-2"]
    assert report.lots == 2 and report.target == 600 + 500
    r1, r2 = report.markets
    # planned: R-1 is all 2027 (365 of 365 days) → 600.00; R-2 has 181 of its 365 days in
    # 2027 (1 January to 30 June) → 500 × 181 / 365 = 247.945… → 247.95
    assert (r1.lots[0].days_in_year, r1.lots[0].days_total, r1.planned) == (365, 365, D("600.00"))
    assert (r2.lots[0].days_in_year, r2.lots[0].days_total, r2.planned) == (181, 365, D("247.95"))
    assert report.planned == D("847.95")
    # validated in 2027: R-1 70 + 35.5 + 80 + 20.25 = 205.75 (P4's 40 rejected, P1's March 60
    # not reviewed); R-2 30 + 45 + 12.5 = 87.50 (December 2026's 50 is another year)
    assert (r1.validated, r2.validated, report.validated) == (D("205.75"), D("87.50"), D("293.25"))
    # since the start: R-2 also has its 50 h of December 2026
    assert (r1.validated_to_date, r2.validated_to_date) == (D("205.75"), D("137.50"))
    # rates: 205.75 / 600 = 0.34291… ; 87.5 / 247.95 = 0.35289… ; 293.25 / 847.95 = 0.34583…
    assert (r1.rate, r2.rate, report.rate) == (D("0.3429"), D("0.3529"), D("0.3458"))

    # people with validated hours in 2027: P1, P2, P3 (P4 rejected only, P5 elsewhere)
    assert report.beneficiaries == 3
    assert (r1.beneficiaries, r2.beneficiaries) == (3, 2)  # P1 P2 P3 ; R-2: P2 P3
    # P1 deld 70 + 80 = 150 ; P2 rqth 35.5 + 30 + 12.5 = 78 ; P3 jeune 20.25 + 45 = 65.25
    assert shares(report.by_public) == {"deld": (1, D("150.00")), "rqth": (1, D("78.00")),
                                        "jeune": (1, D("65.25"))}  # fmt: skip
    assert shares(report.by_sex) == {"F": (1, D("150.00")), "M": (2, D("143.25"))}
    assert shares(report.by_age_band) == {
        "under_26": (2, D("215.25")), reports_world.MIDDLE_AGE: (1, D("78.00"))}  # fmt: skip
    # by modality a person counts in each: direct hire P1 150 + P3 45 ; placement P2 35.5 + 30
    assert shares(report.by_modality) == {
        "direct_hire": (2, D("195.00")), "placement": (1, D("65.50")),
        "subcontracting": (1, D("12.50")), "training": (1, D("20.25")),
    }  # fmt: skip
    assert shares(report.by_contract_type) == {
        "cdd": (1, D("150.00")), "apprenticeship": (1, D("45.00")), "temporary": (1, D("65.50")),
        "cddi": (1, D("12.50")), "unspecified": (1, D("20.25")),
    }  # fmt: skip
    # every split lists the whole vocabulary, zero included, in its order
    assert [s.code for s in report.by_age_band] == list(AGE_BANDS)

    # months: January 70 + 35.5 + 30 + 45 = 180.5 ; February 80 + 12.5 = 92.5 ; March 20.25
    months = {m.period: m for m in report.months}
    assert [m.validated for m in report.months[:4]] == [D("180.50"), D("92.50"), D("20.25"), 0]
    assert months["2027-03"].cumulative == months["2027-12"].cumulative == D("293.25")
    # planned by the end of January: 600 × 31/365 = 50.96 + 500 × 31/365 = 42.47 → 93.43 ;
    # by the end of July: 600 × 212/365 = 348.49 + R-2's whole 247.95 → 596.44
    assert months["2027-01"].target_cumulative == D("93.43")
    assert months["2027-07"].target_cumulative == D("596.44")
    assert months["2027-12"].target_cumulative == report.planned
    assert [m.elapsed for m in report.months].count(True) == 7  # the clock is on 5 July 2027

    # outcomes: R-2 is in evaluation: P2 job of 6 months (positive), P3 other → 1 of 2
    assert report.outcomes.markets == 1
    assert {o.code: o.count for o in report.outcomes.by_outcome if o.count} == {
        "durable_employment": 1, "other": 1}  # fmt: skip
    assert (report.outcomes.positive, report.outcomes.positive_rate) == (1, D("0.5000"))

    document = report.as_dict()
    assert document["totals"]["validated"] == "293.25" and document["totals"]["rate"] == "0.3458"
    text = json.dumps(document, ensure_ascii=False)
    assert "Nom secret" not in text
    assert not any(code in text for code in world["codes"].values())


def test_other_scopes_and_years(store, world):
    # the Manche, the CA du Cotentin and the structure see the Département's market too: P5's
    # 100 h, planned 365 × 365/365
    for kind, key in (
        ("territory", "50"),
        ("territory", "200067205"),
        ("structure", "mde-cotentin"),
    ):
        report = report_of(store, kind, key)
        assert [m.ref for m in report.markets] == ["MKT-D-3", "MKT-R-1", "MKT-R-2"], key
        assert (report.validated, report.planned, report.beneficiaries) == (
            D("393.25"), D("1212.95"), 4)  # fmt: skip
        assert shares(report.by_public)["qpv"] == (1, D("100.00"))
    valognes = report_of(store, "territory", "50615")
    assert [m.ref for m in valognes.markets] == ["MKT-R-2"]
    assert report_of(store, "territory", "14").markets == []
    one = report_of(store, "market", "MKT-R-2")
    assert (one.validated, one.beneficiaries, one.outcomes.total) == (D("87.50"), 2, 2)
    # 2026: R-2 (184 of 365 days: 1 July to 31 December → 252.05 h) and R-5 (300 h)
    previous = report_of(store, "buyer", "Région Normandie", year=2026)
    assert [m.ref for m in previous.markets] == ["MKT-R-2", "MKT-R-5"]
    assert previous.planned == D("552.05") and previous.validated == D("50.00")
    assert previous.beneficiaries == 1 and previous.months[11].validated == D("50.00")


def test_the_csv_opens_in_excel_with_the_same_figures_and_no_formula(sqlite_store, sqlite_world):
    report = report_of(sqlite_store, "buyer", "Région Normandie")
    body = exports.to_csv(report)
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the accents
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0].startswith("Clause sociale d'insertion — bilan 2027 — Région Normandie")
    header = rows.index(["Marchés"]) + 1
    columns = rows[header]
    r1 = dict(zip(columns, rows[header + 1], strict=True))
    assert r1["Objet"] == "'" + reports_world.EVIL_TITLE  # neutralised: text, not a formula
    assert r1["Heures prévues en 2027"] == "600,00" and r1["Heures validées en 2027"] == "205,75"
    assert r1["Taux de réalisation (%)"] == "34,29" and r1["Début d'exécution"] == "01/01/2027"
    total = dict(zip(columns, rows[header + 3], strict=True))  # R-1 lot 1, R-2 lot 1, total
    assert total["Référence"] == "Total" and total["Heures validées en 2027"] == "293,25"
    assert total["Heures prévues en 2027"] == "847,95"
    people = rows.index(["Bénéficiaires"]) + 2
    assert rows[people] == ["Ensemble", "", "toutes les personnes", "3", "293,25"]
    assert ["Public", "deld", "demandeur d'emploi de longue durée (plus de 12 mois)", "1",
            "150,00"] in rows  # fmt: skip
    january = rows[rows.index(["Mois"]) + 2]
    assert january == ["janvier 2027", "2027-01", "180,50", "180,50", "93,43"]
    flat = body.decode("utf-8-sig")
    assert "Nom secret" not in flat and sqlite_world["codes"]["P1"] not in flat
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_the_xlsx_has_its_sheets_the_same_figures_and_no_formula(sqlite_store, sqlite_world):
    report = report_of(sqlite_store, "buyer", "Région Normandie")
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    assert book.sheetnames == ["Synthèse", "Marchés", "Bénéficiaires", "Mois"]
    summary = {row[0]: row[1] for row in book["Synthèse"].iter_rows(min_row=4, values_only=True)}
    assert summary["Heures validées en 2027"] == pytest.approx(293.25)
    assert summary["Heures prévues en 2027"] == pytest.approx(847.95)
    assert summary["Taux de réalisation"] == pytest.approx(0.3458)
    assert summary["Bénéficiaires en 2027"] == 3 and summary["Sorties positives"] == 1
    sheet = book["Marchés"]
    assert sheet["A1"].value.startswith("Clause sociale d'insertion — bilan 2027")
    assert sheet["A2"].value.startswith("Généré le 05/07/2027")
    assert sheet.freeze_panes == "A4" and sheet["A3"].font.bold
    header = [cell.value for cell in sheet[3]]
    r1 = dict(zip(header, [cell for cell in sheet[4]], strict=True))
    assert r1["Objet"].value == "'" + reports_world.EVIL_TITLE and r1["Objet"].data_type == "s"
    assert r1["Heures validées en 2027"].value == pytest.approx(205.75)
    assert r1["Heures validées en 2027"].number_format == "#,##0.00"
    assert r1["Taux de réalisation (%)"].number_format == "0.0%"
    assert r1["Début d'exécution"].value.date() == date(2027, 1, 1)
    assert sheet.column_dimensions["B"].width >= len(reports_world.EVIL_TITLE)
    total = [cell.value for cell in sheet[6]]
    assert total[0] == "Total" and total[header.index("Heures validées en 2027")] == pytest.approx(
        293.25
    )
    months = list(book["Mois"].iter_rows(min_row=4, values_only=True))
    assert months[0] == ("janvier 2027", "2027-01", 180.5, 180.5, pytest.approx(93.43))
    formulas = [
        cell.coordinate
        for ws in book.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("="))
    ]
    assert formulas == []
    text = repr([list(ws.values) for ws in book.worksheets])
    assert "Nom secret" not in text and sqlite_world["codes"]["P1"] not in text


def test_the_html_file_stands_alone_with_its_charts(sqlite_store, sqlite_world):
    report = report_of(sqlite_store, "buyer", "Région Normandie")
    page = html.render_file(report)
    assert page.startswith("<!doctype html>") and ".kpis" in page and "/static/" not in page
    assert page.count('<svg class="chart') == 3 and 'id="graphique-heures"' in page
    assert '<title id="graphique-heures-titre">' in page and "<desc id=" in page
    assert "=HYPERLINK(&#34;http://evil&#34;)" in page  # escaped, as any text
    assert "293,25" in page.replace("\u202f", " ")
    assert "Nom secret" not in page and sqlite_world["codes"]["P1"] not in page


def test_the_cli_prints_json_writes_files_and_explains_mistakes(
    store, world, tmp_path, monkeypatch, capsys
):
    from clausier.cli import runtime
    from clausier.cli.app import run
    from clausier.config import get_settings

    monkeypatch.setenv("CLAUSIER_DATABASE_URL", store.url)
    get_settings.cache_clear()
    runtime.engine.cache_clear()
    try:
        assert run(["report", "--buyer", "Région Normandie", "--year", "2027", "--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        assert document["totals"]["validated"] == "293.25"
        assert document["scope"] == {"kind": "buyer", "key": world["region"].siret,
                                     "label": "Région Normandie", "territory_kind": None}  # fmt: skip
        target = tmp_path / "bilan.xlsx"
        assert run(["report", "--territory", "50", "--year", "2027", "--output", str(target)]) == 0
        assert f"Rapport 2027 écrit dans {target}" in capsys.readouterr().err
        assert load_workbook(target).sheetnames[0] == "Synthèse"
        assert run(["report", "--market", "MKT-R-2", "--year", "2027", "--format", "csv"]) == 0
        assert "Synthèse" in capsys.readouterr().out
        assert run(["report", "--buyer", "Région Normandie", "--year", "2027"]) == 0
        assert "taux de réalisation : 34,6" in capsys.readouterr().out.replace("\u202f", " ")
        assert run(["report", "--year", "2027"]) == 2
        assert "un seul : --buyer" in capsys.readouterr().err
        assert run(["report", "--buyer", "Région Normandy", "--year", "2027"]) == 2
        assert "Acheteur introuvable" in capsys.readouterr().err
        assert run(["report", "--buyer", "Région Normandie", "--year", "1999"]) == 2
        assert "attendu une année de 2000 à 2100" in capsys.readouterr().err
        assert run(["report", "--territory", "99999", "--format", "pdf"]) == 2
        assert "--format « pdf » inconnu" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()
        runtime.engine.cache_clear()
