"""Read a load file into plain data that remembers the line of every key.

Errors are reported by file, line and field: the YAML loader keeps the line of each mapping and
key, the CSV reader the line of each row.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import yaml

from clausier.errors import LoadErrors, LoadProblem
from clausier.validation.yaml_keys import DuplicateKey, UniqueKeyLoader


class Located(dict):
    """A mapping that knows its line and the line of each of its keys."""

    line: int | None = None
    key_lines: dict[str, int]

    def __init__(self, *args, line: int | None = None, key_lines: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = key_lines or {}


class LocatedList(list):
    line: int | None = None
    item_lines: list[int]


class _LineLoader(UniqueKeyLoader):
    def construct_mapping(self, node, deep=False):
        mapping = super().construct_mapping(node, deep=deep)
        key_lines = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int):
                key_lines[key] = key_node.start_mark.line + 1
        return Located(mapping, line=node.start_mark.line + 1, key_lines=key_lines)

    def construct_sequence(self, node, deep=False):
        items = LocatedList(super().construct_sequence(node, deep=deep))
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),
)
_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG,
    lambda loader, node: loader.construct_sequence(node, deep=True),
)


def read_yaml(path: Path) -> Any:
    return yaml_of(path.read_bytes(), str(path))


def yaml_of(data: bytes, name: str) -> Any:
    """A YAML file's content (read from the disk, or sent through a page), ``name`` its name."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LoadErrors(
            name,
            [
                LoadProblem(
                    path=name,
                    line=None,
                    field="fichier",
                    message="encodage illisible : enregistrez le fichier en UTF-8",
                )
            ],
        ) from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except DuplicateKey as exc:
        problem = LoadProblem(
            path=name, line=exc.problem_mark.line + 1, field="syntaxe", message=exc.problem
        )
        raise LoadErrors(name, [problem]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise LoadErrors(
            name,
            [
                LoadProblem(
                    path=name,
                    line=mark.line + 1 if mark else None,
                    field="syntaxe",
                    message=f"YAML illisible (indentation, crochet ou guillemet non fermé ?) : {problem}",
                )
            ],
        ) from exc


# CSV: one row per lot, the market's columns repeated; a row without lot columns is a market
# whose lots are given elsewhere (or a single-lot market).
MARKET_COLUMNS = (
    "ref", "buyer", "title", "commune", "cpv", "amount", "consultation_on", "award_on",
    "execution_starts_on", "execution_ends_on", "state",
)  # fmt: skip
LOT_COLUMNS = {
    "lot_number": "number",
    "lot_title": "title",
    "lot_cpv": "cpv",  # blank: the market's CPV
    "lot_amount": "amount",
    "lot_hours": "hours",
    "lot_clause_text": "clause_text",
    "lot_contractor": "contractor",
}


def french_number(raw: str) -> str:
    """« 1 300 000,50 » → « 1300000.50 »: spreadsheets in France write numbers that way."""
    return raw.replace("\u202f", "").replace("\xa0", "").replace(" ", "").replace(",", ".")


def read_markets_csv(path: Path) -> Located:
    return markets_csv_of(path.read_bytes(), str(path))


def markets_csv_of(data: bytes, name: str) -> Located:
    """A CSV file of markets and lots (read from the disk, or sent through a page)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")  # Excel's default in France
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # as a file read as text
    sample = text.splitlines()[0] if text else ""
    delimiter = ";" if sample.count(";") > sample.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    columns = set(reader.fieldnames or ())
    unknown = columns - set(MARKET_COLUMNS) - set(LOT_COLUMNS)
    problems = [
        LoadProblem(path=name, line=1, field=column, message="colonne inconnue")
        for column in sorted(unknown)
    ]
    problems += [
        LoadProblem(path=name, line=1, field=column, message="colonne obligatoire absente")
        for column in ("ref", "buyer", "title", "commune", "cpv", "amount")
        if column not in columns
    ]
    if problems:
        raise LoadErrors(name, problems)

    markets: dict[str, Located] = {}
    order = LocatedList()
    order.item_lines = []
    for row in reader:
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in row.items() if k is not None}
        ref = values.get("ref", "")
        market = markets.get(ref)
        if market is None:
            market = Located(line=line, key_lines={})
            for column in MARKET_COLUMNS:
                if values.get(column):
                    value = french_number(values[column]) if column == "amount" else values[column]
                    market[column] = value
                    market.key_lines[column] = line
            market["lots"] = LocatedList()
            market["lots"].line = line
            market["lots"].item_lines = []
            market.key_lines["lots"] = line
            markets[ref] = market
            order.append(market)
            order.item_lines.append(line)
        if any(values.get(column) for column in LOT_COLUMNS):
            lot = Located(line=line, key_lines={})
            for column, key in LOT_COLUMNS.items():
                if values.get(column):
                    raw = values[column]
                    lot[key] = french_number(raw) if key in ("amount", "hours", "number") else raw
                    lot.key_lines[key] = line
            market["lots"].append(lot)
            market["lots"].item_lines.append(line)
    for market in order:
        if not market["lots"]:
            del market["lots"]
    return Located({"markets": order}, line=1, key_lines={"markets": 1})


def read(path: Path) -> Any:
    return content_of(path.read_bytes(), str(path))


def content_of(data: bytes, name: str) -> Any:
    """A load file's content, read by its name's extension: CSV, else YAML."""
    if name.lower().endswith(".csv"):
        return markets_csv_of(data, name)
    return yaml_of(data, name)
