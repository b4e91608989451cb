"""Hours read from a CSV file (web upload, API, CLI) into ``LineInput`` rows, by month.

Spreadsheets in France save CSV with ``;``, often in cp1252 and with a BOM, and people name the
columns in French: all are accepted. Only the columns (and the month of each row) are checked
here; the values are checked by ``declarations.service.declare``, each line keeping its number
in the file so that a problem names the line people see in their spreadsheet.

The file is read as a stream, never whole in memory: once to choose its encoding, once to read
its rows; lines past ``limits.statement_lines`` are only counted, and so are problems past
``LoadErrors.LISTED``.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Iterator
from typing import BinaryIO, TextIO

from clausier.beneficiaries.vocabulary import (
    BODY_KIND_SHORT_LABELS,
    CONTRACT_TYPES,
    MODALITY_SHORT_LABELS,
)
from clausier.declarations import periods
from clausier.declarations.service import LineInput
from clausier.errors import LoadErrors, LoadProblem, ProblemTally
from clausier.formatting import fr_number

# column name as written (lower case, without accents, spaces as _) -> field
COLUMNS = {
    "beneficiary": "beneficiary",
    "beneficiaire": "beneficiary",
    "code_beneficiaire": "beneficiary",
    "modality": "modality",
    "modalite": "modality",
    "hours": "hours",
    "heures": "hours",
    "contract_type": "contract_type",
    "type_contrat": "contract_type",
    "type_de_contrat": "contract_type",
    "period": "period",
    "periode": "period",
    "mois": "period",
    # the body of a placement or a subcontract, and a subcontract counted by its invoice
    "body_siret": "body_siret",
    "siret_organisme": "body_siret",
    "siret_de_l_organisme": "body_siret",
    "body_kind": "body_kind",
    "type_organisme": "body_kind",
    "type_d_organisme": "body_kind",
    "invoice_ref": "invoice_ref",
    "facture": "invoice_ref",
    "reference_facture": "invoice_ref",
    "invoice_amount": "invoice_amount",
    "montant_ht": "invoice_amount",
    "montant": "invoice_amount",
}
# a person's hours, or an invoice's amount: a file has the columns of one or the other (or both)
REQUIRED = ("modality",)
BY_PERSON, BY_INVOICE = ("beneficiary", "hours"), ("invoice_ref", "invoice_amount")
EXPECTED = (
    "beneficiary;modality;hours;contract_type (ou beneficiaire;modalite;heures;type_contrat), "
    "siret_organisme;type_organisme pour une mise à disposition ou une sous-traitance, "
    "facture;montant_ht pour une sous-traitance comptée par facture, "
    "et period (mois, AAAA-MM) pour plusieurs mois"
)


def _plain(text: str) -> str:
    """« Bénéficiaire » → « beneficiaire »; « Type de contrat » → « type_de_contrat »."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "_".join(bare.replace("-", " ").replace("'", " ").split())


# the short French labels people type instead of the codes
_MODALITY_WORDS = {_plain(label): code for code, label in MODALITY_SHORT_LABELS.items()} | {
    "sous_traitance_siae": "subcontracting",  # the label before co-contracting was apart
    "co_traitance": "co_contracting",
}
_KIND_WORDS = {_plain(label): code for code, label in BODY_KIND_SHORT_LABELS.items()} | {
    "ett": "temp_agency",
    "interim": "temp_agency",
}
_CONTRACT_WORDS = {_plain(label): code for code, label in CONTRACT_TYPES.items()} | {
    "apprentissage": "apprenticeship",
    "professionnalisation": "professionalisation",
    "interim": "temporary",
    "autre": "other",
}


def _code(value: str, words: dict[str, str]) -> str:
    """The code for a code or a label; anything else as written, for ``declare`` to name it."""
    plain = _plain(value)
    return words.get(plain, plain if plain in words.values() else value)


def open_text(file: BinaryIO) -> TextIO:
    """The file as text read as it goes: UTF-8 (with or without BOM), else cp1252, what Excel
    writes in France. The encoding is chosen by a first pass through the file (it must seek);
    lines end with CR LF, LF or CR alike, as spreadsheets write them."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding = "utf-8-sig"
    try:
        for chunk in iter(lambda: file.read(1 << 16), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        encoding = "cp1252"
    file.seek(0)
    return io.TextIOWrapper(file, encoding=encoding, errors="replace", newline="")


def _rows(text: TextIO, source: str) -> Iterator[tuple[str | None, LineInput]]:
    """(the row's month or None, the line) for each non-empty row, as they are read; at the
    end, ``LoadErrors`` on rows with more values than columns; at once, on unknown, doubled or
    missing columns."""
    header = next((line for line in text if line.strip()), "")
    text.seek(0)
    delimiter = ";" if header.count(";") >= header.count(",") and ";" in header else ","
    reader = csv.DictReader(text, delimiter=delimiter)
    problems: list[LoadProblem] = []
    fields: dict[str, str] = {}  # column as written -> field
    try:
        columns = reader.fieldnames or ()
    except csv.Error as error:
        raise LoadErrors(source, [_unreadable(source, reader.line_num, error)]) from error
    for column in columns:
        field = COLUMNS.get(_plain(column or ""))
        if field is None:
            problems.append(LoadProblem(path=source, line=1, field=column or "(vide)",
                                        message=f"colonne inconnue (attendu : {EXPECTED})"))  # fmt: skip
        elif field in fields.values():
            problems.append(LoadProblem(path=source, line=1, field=column,
                                        message=f"colonne en double (« {field} »)"))  # fmt: skip
        else:
            fields[column] = field
    problems += [
        LoadProblem(path=source, line=1, field=name,
                    message=f"colonne obligatoire absente (attendu : {EXPECTED})")
        for name in REQUIRED if name not in fields.values()
    ]  # fmt: skip
    if not any(set(pair) <= set(fields.values()) for pair in (BY_PERSON, BY_INVOICE)):
        problems += [
            LoadProblem(path=source, line=1, field=name,
                        message=f"colonne obligatoire absente (attendu : {EXPECTED})")
            for name in BY_PERSON if name not in fields.values()
        ]  # fmt: skip
    if problems:
        raise LoadErrors(source, problems)
    extra = ProblemTally()
    for row in _readable(reader, source, extra):
        if row.get(None):
            extra.add(LoadProblem(path=source, line=reader.line_num, field="colonnes",
                                  message="plus de valeurs que de colonnes (un séparateur en trop ?)"))  # fmt: skip
            continue
        values = {fields[column]: (value or "").strip() for column, value in row.items()}
        if not any(values.values()):
            continue  # an empty row of the spreadsheet
        contract, kind = values.get("contract_type"), values.get("body_kind")
        line = LineInput(
            beneficiary=values.get("beneficiary") or None,
            modality=_code(values["modality"], _MODALITY_WORDS),
            hours=values.get("hours") or None,
            contract_type=_code(contract, _CONTRACT_WORDS) if contract else None,
            line=reader.line_num,
            body_siret=values.get("body_siret") or None,
            body_kind=_code(kind, _KIND_WORDS) if kind else None,
            invoice_ref=values.get("invoice_ref") or None,
            invoice_amount=values.get("invoice_amount") or None,
        )
        yield values.get("period") or None, line
    if extra:
        raise extra.refusal(source)


def _readable(reader: csv.DictReader, source: str, problems: ProblemTally) -> Iterator[dict]:
    """The rows, until one cannot be read (a field past the csv module's limit, most often a
    quotation mark left open): that one is the file's last problem."""
    try:
        yield from reader
    except csv.Error as error:
        problems.add(_unreadable(source, reader.line_num, error))
        raise problems.refusal(source) from error


def _unreadable(source: str, line: int, error: csv.Error) -> LoadProblem:
    if "field larger than field limit" in str(error):
        message = (
            f"une valeur de plus de {fr_number(csv.field_size_limit())} caractères : un "
            'guillemet (") ouvert et jamais fermé ?'
        )
    else:
        message = "ligne illisible comme du CSV (guillemets ou séparateurs mal placés ?)"
    return LoadProblem(path=source, line=line or None, field="fichier", message=message)


def by_period(
    file: BinaryIO, source: str, period: str | None = None, *, max_lines: int
) -> dict[str, list[LineInput]]:
    """The lines by month: from each row's ``period`` column, else ``period``. With ``period``
    given, the file is that month's statement (an empty file declares nothing that month) and a
    row of another month is a problem. A file of more than ``max_lines`` lines, whatever its
    months, is refused with its count: what it would cost (the lines, their rows in the store,
    the answer that lists them) grows with it; past the limit, lines are counted, not kept."""
    months: dict[str, list[LineInput]] = {period: []} if period else {}
    count, problems = 0, ProblemTally()
    for month, line in _rows(open_text(file), source):
        count += 1
        if count > max_lines:
            continue
        where = {"path": source, "line": line.line, "field": "period"}
        month = month or period
        if month is None:
            problems.add(LoadProblem(**where, message="mois absent : ajoutez une colonne period (AAAA-MM)"))  # fmt: skip
        elif periods.parse(month) is None:
            problems.add(LoadProblem(**where, message=f"mois « {month} » invalide : attendu AAAA-MM, par exemple 2027-03"))  # fmt: skip
        elif period and month != period:
            problems.add(LoadProblem(**where, message=f"ligne de {periods.label(month)} dans le relevé de {periods.label(period)}"))  # fmt: skip
        else:
            months.setdefault(month, []).append(line)
    if count > max_lines:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="fichier", message=(
            f"{fr_number(count)} lignes d'heures : {fr_number(max_lines)} au plus par fichier ; "
            "envoyez les mois en plusieurs fichiers"))])  # fmt: skip
    if problems:
        raise problems.refusal(source)
    if not months:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="period",
                                              message="aucune ligne d'heures dans le fichier")])  # fmt: skip
    return months
