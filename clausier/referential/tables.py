"""Reads the reference CSV files shipped in ``clausier/referential/data``."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        yield from csv.DictReader(handle)


def regions() -> list[dict]:
    return [{"code": r["code"], "name": r["name"]} for r in _rows("regions.csv")]


def departements() -> list[dict]:
    return [
        {"code": r["code"], "name": r["name"], "region_code": r["region"]}
        for r in _rows("departements.csv")
    ]


def epcis() -> list[dict]:
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "kind": r["kind"],
            "population": int(r["population"] or 0),
        }
        for r in _rows("epci.csv")
    ]


def communes() -> list[dict]:
    return [
        {
            "code": r["code"],
            "name": r["name"],
            "departement_code": r["departement"],
            "region_code": r["region"],
            "epci_code": r["epci"] or None,
            "population": int(r["population"] or 0),
            "postal_codes": r["postal_codes"],
            "parent_code": r["parent"] or None,
        }
        for r in _rows("communes.csv")
    ]
