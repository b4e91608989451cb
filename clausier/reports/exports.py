"""The report as files for a spreadsheet: XLSX (formatted sheets) and CSV (for Excel in France).

Both are built from the same tables (``tables``), so their figures are the same. Every text cell
goes through ``safe.neutralise`` (formula injection); numbers are written as numbers. The CSV is
what Excel in France opens with a double click: UTF-8 with a byte order mark, semicolons,
decimal commas, dates as DD/MM/YYYY.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from clausier.formatting import fr_moment
from clausier.offers.instruments import named
from clausier.reports.indicators import Report
from clausier.reports.safe import Cell, neutralise

SHEETS = ("Synthèse", "Marchés", "Bénéficiaires", "Mois")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"

# how a kind of figure is shown in a sheet
XLSX_FORMATS = {"int": "#,##0", "hours": "#,##0.00", "rate": "0.0%", "date": "DD/MM/YYYY"}

SPLIT_LABELS = {
    "public": "Public",
    "sex": "Sexe",
    "age_band": "Tranche d'âge",
    "modality": "Modalité",
    "contract_type": "Type de contrat",
    "body_kind": "Type d'organisme",
}
DEFINITIONS = (
    "Marchés retenus : en exécution, en évaluation ou clôturés, dont la période d'exécution "
    "rencontre l'année ; lots avec clause : heures d'insertion > 0.",
    "Heures prévues : objectif du lot × jours d'exécution dans l'année ÷ jours d'exécution "
    "(bornes comprises), arrondi au centième.",
    "Heures validées : lignes de déclaration validées par le facilitateur, des mois de l'année.",
    "Taux de réalisation : heures validées ÷ heures prévues.",
    "Bénéficiaires : personnes distinctes ayant des heures validées dans l'année (une personne "
    "compte une fois par modalité et par type de contrat).",
    "Organismes : heures validées par type d'organisme de la mise à disposition, de la "
    "sous-traitance ou de la cotraitance (une sous-traitance comptée par facture : montant HT ÷ "
    "coût horaire) ; structures d'insertion : EI, ACI, ETTI, AI et GEIQ ; part : leurs heures ÷ "
    "les heures validées.",
    "Sorties : situation six mois après la fin, pour les marchés en évaluation ou clôturés, de "
    "chaque personne ayant des heures validées sur le marché (sans sortie renseignée : « inconnu ») ; "
    "sorties positives (sorties dynamiques de l'IAE) : emploi durable, emploi de transition, "
    "sortie positive ; taux : sorties positives ÷ toutes les personnes concernées.",
    "Fin d'exécution : pour un marché en évaluation ou clôturé, heures manquantes = heures "
    "exigées − heures validées sur toute l'exécution (0 au mieux), par lot ; pénalité = heures "
    "manquantes × pénalité par heure (de la convention, sinon de l'acheteur) ; provisoires tant "
    "qu'un mois se déclare encore ou que des heures restent à contrôler, définitives ensuite.",
)


@dataclass(frozen=True)
class Typed:
    """A figure whose kind differs from its column's (the summary mixes them)."""

    value: Cell
    kind: str


@dataclass(frozen=True)
class Column:
    header: str
    kind: str = "text"  # text | int | hours | rate | date | year


@dataclass(frozen=True)
class Table:
    sheet: str
    columns: list[Column]
    rows: list[list]
    bold_rows: frozenset[int] = frozenset()  # totals


def tables(report: Report) -> list[Table]:
    """The four tables of the report, in sheet order."""
    year = report.year
    summary_rows: list[list] = [
        ["Périmètre", f"{report.scope.kind_label} : {report.scope.label}"],
        ["Année", Typed(year, "year")],
        ["Marchés", Typed(len(report.markets), "int")],
        ["Lots avec clause", Typed(report.lots, "int")],
        ["Objectif total des lots (heures)", Typed(report.target, "int")],
        [f"Heures prévues en {year}", Typed(report.planned, "hours")],
        [f"Heures validées en {year}", Typed(report.validated, "hours")],
        ["Taux de réalisation", Typed(report.rate, "rate")],
        ["Heures validées depuis le début des marchés", Typed(report.validated_to_date, "hours")],
        [f"Bénéficiaires en {year}", Typed(report.beneficiaries, "int")],
        [
            f"Heures validées en {year} par une structure d'insertion (EI, ACI, ETTI, AI, GEIQ)",
            Typed(report.integration_hours, "hours"),
        ],
        [
            "Part des heures passées par une structure d'insertion",
            Typed(report.integration_share, "rate"),
        ],
        ["Marchés en évaluation ou clôturés", Typed(report.outcomes.markets, "int")],
        ["Sorties enregistrées", Typed(report.outcomes.total, "int")],
        ["Sorties positives", Typed(report.outcomes.positive, "int")],
        ["Taux de sorties positives", Typed(report.outcomes.positive_rate, "rate")],
        ["Marchés à l'exécution terminée", Typed(len(report.shortfalls), "int")],
        ["Heures manquantes à la fin d'exécution", Typed(report.missing, "hours")],
        ["Pénalités prévues pour ces heures (€)", Typed(report.penalty, "hours")],
    ]
    summary_rows += [
        [f"Sortie : {row.label}", Typed(row.count, "int")] for row in report.outcomes.by_outcome
    ]
    if report.note:
        summary_rows.append(["Remarque", report.note])
    summary_rows.append([])
    summary_rows += [["Définition", text] for text in DEFINITIONS]

    market_columns = [
        Column("Référence"), Column("Objet"), Column("Acheteur"), Column("Commune"),
        Column("État"), Column("Structure"), Column("Début d'exécution", "date"),
        Column("Fin d'exécution", "date"), Column("Lot", "int"), Column("Intitulé du lot"),
        Column("Titulaire"), Column("Objectif du lot (heures)", "int"),
        Column(f"Jours d'exécution en {year}", "int"), Column("Jours d'exécution", "int"),
        Column(f"Heures prévues en {year}", "hours"), Column(f"Heures validées en {year}", "hours"),
        Column("Taux de réalisation (%)", "rate"),
        Column("Heures validées depuis le début", "hours"),
        Column(f"Bénéficiaires du marché en {year}", "int"),
        Column("Instrument de la clause"),
        Column("Heures manquantes à la fin d'exécution", "hours"),
        Column("Pénalité (€)", "hours"),
        Column("Chiffres de fin d'exécution"),
    ]  # fmt: skip
    market_rows = []
    for market in report.markets:
        place = (
            f"{market.commune_name} ({market.commune})" if market.commune_name else market.commune
        )
        head = [market.ref, market.title, market.buyer, place, market.state_label,
                market.structure, market.starts_on, market.ends_on]  # fmt: skip
        if not market.lots:
            market_rows.append(head + [None] * 10 + [market.beneficiaries] + [None] * 4)
        short = {lot.number: lot for lot in market.shortfall.lots} if market.shortfall else {}
        for index, lot in enumerate(market.lots):
            ended = short.get(lot.number)
            market_rows.append([
                *head, lot.number, lot.title, lot.contractor, lot.target, lot.days_in_year,
                lot.days_total, lot.planned, lot.validated, lot.rate, lot.validated_to_date,
                market.beneficiaries if index == 0 else None, named(lot.instrument),
                ended.missing if ended else None, ended.penalty if ended else None,
                market.shortfall.status_label if ended else None,
            ])  # fmt: skip
    market_rows.append(
        ["Total", f"{len(report.markets)} marché(s), {report.lots} lot(s)"] + [None] * 9
        + [report.target, None, None, report.planned, report.validated, report.rate,
           report.validated_to_date, report.beneficiaries, None,
           report.missing if report.shortfalls else None, report.penalty, None]
    )  # fmt: skip

    people_columns = [Column("Répartition"), Column("Code"), Column("Libellé"),
                      Column("Bénéficiaires", "int"), Column(f"Heures validées en {year}", "hours")]  # fmt: skip
    people_rows = [
        ["Ensemble", None, "toutes les personnes", report.beneficiaries, report.validated]
    ]
    for name, shares in report.splits.items():
        people_rows += [
            [SPLIT_LABELS[name], share.code, share.label, share.beneficiaries, share.hours]
            for share in shares
        ]

    month_columns = [Column("Mois"), Column("Période"), Column("Heures validées", "hours"),
                     Column("Cumul des heures validées", "hours"),
                     Column("Cumul des heures prévues (prorata)", "hours")]  # fmt: skip
    month_rows = [
        [month.label, month.period, month.validated, month.cumulative, month.target_cumulative]
        for month in report.months
    ]
    return [
        Table(SHEETS[0], [Column("Indicateur"), Column("Valeur")], summary_rows),
        Table(SHEETS[1], market_columns, market_rows, frozenset({len(market_rows) - 1})),
        Table(SHEETS[2], people_columns, people_rows, frozenset({0})),
        Table(SHEETS[3], month_columns, month_rows),
    ]


def _unwrap(value, column: Column) -> tuple[Cell, str]:
    if isinstance(value, Typed):
        return value.value, value.kind
    return value, column.kind


def subtitle(report: Report) -> str:
    return f"Généré le {fr_moment(report.generated_at)} par Clausier · données pseudonymes"


def file_name(report: Report, extension: str) -> str:
    key = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in report.scope.key
    ).strip("-")
    return f"rapport-{report.scope.kind}-{key or 'tout'}-{report.year}.{extension}"


# --- CSV --------------------------------------------------------------------------------------


def _csv_value(value: Cell, kind: str) -> str:
    if value is None:
        return ""
    if kind == "text" or isinstance(value, str):
        return str(neutralise(str(value)))
    if kind == "date" and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if kind == "rate":
        return f"{Decimal(value) * 100:.2f}".replace(".", ",")
    if kind == "hours":
        return f"{Decimal(value):.2f}".replace(".", ",")
    return str(value)


def to_csv(report: Report) -> bytes:
    """One file, the four tables one after the other, each under its name and its header."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(report.title)])
    writer.writerow([subtitle(report)])
    for table in tables(report):
        writer.writerow([])
        writer.writerow([table.sheet])
        writer.writerow([neutralise(column.header) for column in table.columns])
        for row in table.rows:
            cells = []
            for column, value in zip(table.columns, row, strict=False):
                cells.append(_csv_value(*_unwrap(value, column)))
            writer.writerow(cells)
    return out.getvalue().encode("utf-8-sig")


# --- XLSX -------------------------------------------------------------------------------------

HEADER_COLOR = "E3E3FD"
TITLE_ROWS = 2  # the title, then the generation date; the header comes next
LONG_TEXT = 60


def _xlsx_value(value: Cell, kind: str) -> Cell:
    if isinstance(value, str):
        return neutralise(value)
    if kind == "rate" and value is not None:
        return float(value)  # a ratio, shown as a percentage
    return value


def to_xlsx(report: Report) -> bytes:
    """A workbook: a title and the generation date on each sheet, a bold frozen header, column
    widths fitted to the content, and number formats for hours, rates and dates."""
    # openpyxl is imported here: every command line would pay for it otherwise
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    header_fill = PatternFill("solid", fgColor=HEADER_COLOR)
    book = Workbook()
    book.remove(book.active)
    for table in tables(report):
        sheet = book.create_sheet(table.sheet)
        sheet.cell(1, 1, neutralise(report.title)).font = Font(bold=True, size=14)
        sheet.cell(2, 1, subtitle(report)).font = Font(italic=True, color="555555")
        header_row = TITLE_ROWS + 1
        widths = [len(column.header) for column in table.columns]
        for index, column in enumerate(table.columns, start=1):
            cell = sheet.cell(header_row, index, neutralise(column.header))
            cell.font = Font(bold=True)
            cell.fill = header_fill
            cell.alignment = Alignment(wrap_text=True, vertical="top")
        for offset, row in enumerate(table.rows):
            number = header_row + 1 + offset
            for index, (column, raw) in enumerate(zip(table.columns, row, strict=False), start=1):
                value, kind = _unwrap(raw, column)
                cell = sheet.cell(number, index, _xlsx_value(value, kind))
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever it says
                elif kind in XLSX_FORMATS:
                    cell.number_format = XLSX_FORMATS[kind]
                if offset in table.bold_rows:
                    cell.font = Font(bold=True)
                shown = value.strftime("%d/%m/%Y") if isinstance(value, date) else value
                if len(str(shown or "")) > LONG_TEXT:  # a definition: wrapped, not widened
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
                    continue
                widths[index - 1] = max(widths[index - 1], len(str(shown or "")) + 2)
        for index, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = min(max(width, 10), LONG_TEXT)
        sheet.freeze_panes = sheet.cell(header_row + 1, 1)
    book.properties.title = report.title[:250]
    book.properties.creator = "Clausier"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
