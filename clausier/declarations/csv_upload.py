"""Hours read from a CSV file (web upload, API, CLI) into ``LineInput`` rows, by month.

Spreadsheets in France save CSV with ``;``, often in cp1252 and with a BOM, and people name the
columns in French: all are accepted. Only the columns (and the month of each row) are checked
here; the values are checked by ``declarations.service.declare``, each line keeping its number
in the file so that a problem names the line people see in their spreadsheet.
"""

from __future__ import annotations

import csv
import io
import unicodedata

from clausier.beneficiaries.vocabulary import CONTRACT_TYPES, MODALITY_SHORT_LABELS
from clausier.declarations import periods
from clausier.declarations.service import LineInput
from clausier.errors import LoadErrors, LoadProblem

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
}
REQUIRED = ("beneficiary", "modality", "hours")
EXPECTED = (
    "beneficiary;modality;hours;contract_type (ou beneficiaire;modalite;heures;type_contrat), "
    "et period (mois, AAAA-MM) pour plusieurs mois"
)


def _plain(text: str) -> str:
    """« Bénéficiaire » → « beneficiaire »; « Type de contrat » → « type_de_contrat »."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return "_".join(bare.replace("-", " ").replace("'", " ").split())


# the short French labels people type instead of the codes
_MODALITY_WORDS = {_plain(label): code for code, label in MODALITY_SHORT_LABELS.items()}
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


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252: what Excel writes in France."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _rows(text: str, source: str) -> list[tuple[str | None, LineInput]]:
    """(the row's month or None, the line) for each non-empty row; ``LoadErrors`` on unknown,
    doubled or missing columns and on rows with more values than columns."""
    text = text.removeprefix("\ufeff")
    header = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if header.count(";") >= header.count(",") and ";" in header else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    problems: list[LoadProblem] = []
    fields: dict[str, str] = {}  # column as written -> field
    for column in reader.fieldnames or ():
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
    if problems:
        raise LoadErrors(source, problems)
    rows = []
    for row in reader:
        if row.get(None):
            problems.append(LoadProblem(path=source, line=reader.line_num, field="colonnes",
                                        message="plus de valeurs que de colonnes (un séparateur en trop ?)"))  # fmt: skip
            continue
        values = {fields[column]: (value or "").strip() for column, value in row.items()}
        if not any(values.values()):
            continue  # an empty row of the spreadsheet
        contract = values.get("contract_type")
        line = LineInput(
            beneficiary=values["beneficiary"],
            modality=_code(values["modality"], _MODALITY_WORDS),
            hours=values["hours"],
            contract_type=_code(contract, _CONTRACT_WORDS) if contract else None,
            line=reader.line_num,
        )
        rows.append((values.get("period") or None, line))
    if problems:
        raise LoadErrors(source, problems)
    return rows


def parse_csv(text: str, source: str) -> list[LineInput]:
    """The lines of one month's file (a ``period`` column, if any, is not looked at)."""
    return [line for _period, line in _rows(text, source)]


def by_period(text: str, source: str, period: str | None = None) -> dict[str, list[LineInput]]:
    """The lines by month: from each row's ``period`` column, else ``period``. With ``period``
    given, the file is that month's statement (an empty file declares nothing that month) and a
    row of another month is a problem."""
    months: dict[str, list[LineInput]] = {period: []} if period else {}
    problems = []
    for month, line in _rows(text, source):
        where = {"path": source, "line": line.line, "field": "period"}
        month = month or period
        if month is None:
            problems.append(LoadProblem(**where, message="mois absent : ajoutez une colonne period (AAAA-MM)"))  # fmt: skip
        elif periods.parse(month) is None:
            problems.append(LoadProblem(**where, message=f"mois « {month} » invalide : attendu AAAA-MM, par exemple 2027-03"))  # fmt: skip
        elif period and month != period:
            problems.append(LoadProblem(**where, message=f"ligne de {periods.label(month)} dans le relevé de {periods.label(period)}"))  # fmt: skip
        else:
            months.setdefault(month, []).append(line)
    if problems:
        raise LoadErrors(source, problems)
    if not months:
        raise LoadErrors(source, [LoadProblem(path=source, line=None, field="period",
                                              message="aucune ligne d'heures dans le fichier")])  # fmt: skip
    return months
