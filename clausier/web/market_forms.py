"""What the market forms share: reading a posted market and its lot rows into the load
format's shape, and the loader's problems back onto the form's fields.

The checks are the loader's (``clausier.loading``), the ones ``POST /api/markets`` and
``clausier load`` make: the page only turns what a person typed into a market row (a commune
named rather than coded, a French number) and says the loader's problems next to each field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from starlette.datastructures import FormData

from clausier.errors import LoadProblem
from clausier.loading.source import french_number
from clausier.markets.models import Lot, Market
from clausier.referential.service import NamedCommune, communes_named
from clausier.validation.numbers import QPV_TARGET

MAX_LOTS = 99  # rows of one form; a file carries more
DATES = ("consultation_on", "award_on", "execution_starts_on", "execution_ends_on")
LABELS = {
    "ref": "référence",
    "buyer": "acheteur",
    "title": "objet",
    "commune": "commune",
    "cpv": "code CPV",
    "amount": "montant HT",
    "consultation_on": "date de consultation",
    "award_on": "date d'attribution",
    "execution_starts_on": "début d'exécution",
    "execution_ends_on": "fin d'exécution",
    "qpv_target": "part des heures réservée aux habitants des QPV",
    "lots": "lots",
}
LOT_LABELS = {"number": "numéro", "title": "intitulé", "cpv": "code CPV", "amount": "montant HT"}


@dataclass
class MarketForm:
    """The form as typed (shown back as it was when refused)."""

    values: dict[str, str]
    lots: list[dict[str, str]]  # n (the row), number, title, cpv (blank: the market's), amount
    version: int | None = None
    communes: list[NamedCommune] = field(default_factory=list)  # the choice a name left open

    @classmethod
    def of_market(cls, market: Market, lots: list[Lot], buyer_siret: str) -> MarketForm:
        values = {
            "ref": market.ref, "buyer": buyer_siret, "title": market.title,
            "commune": market.commune_code, "cpv": market.cpv, "amount": _plain(market.amount),
        } | {name: getattr(market, name).isoformat() if getattr(market, name) else ""
             for name in DATES} | {"qpv_target": _percent(market.qpv_target)}  # fmt: skip
        rows = [
            {"n": str(rank), "number": str(lot.number), "title": lot.title, "cpv": lot.cpv or "",
             "amount": _plain(lot.amount)}
            for rank, lot in enumerate(lots, start=1)
        ]  # fmt: skip
        return cls(values, rows, market.version)

    @classmethod
    def blank(cls, buyer_siret: str = "") -> MarketForm:
        values = dict.fromkeys(
            ("ref", "title", "commune", "cpv", "amount", *DATES, "qpv_target"), ""
        )
        return cls(values | {"buyer": buyer_siret}, [_blank_lot(1)])

    @classmethod
    def posted(cls, form: FormData) -> MarketForm:
        values = {
            name: _text(form.get(name)) for name in ("ref", "buyer", *LABELS) if name != "lots"
        }
        rows = []
        for n in sorted({int(key[4:].split("_")[0]) for key in form if re.fullmatch(r"lot_\d{1,3}_\w+", key)})[:MAX_LOTS]:  # fmt: skip
            row = {"n": str(n)} | {key: _text(form.get(f"lot_{n}_{key}")) for key in LOT_LABELS}
            if _text(form.get(f"lot_{n}_remove")) or not any(row[key] for key in LOT_LABELS):
                continue  # « retirer » ticked, or a row left blank
            rows.append(row)
        version = _text(form.get("version"))
        return cls(values, rows, int(version) if _count(version, 9) else None)

    def with_lot_row(self) -> str:
        """One more blank row (the « Ajouter un lot » button, without JavaScript); its id."""
        n = max((int(row["n"]) for row in self.lots), default=0) + 1
        numbers = [int(row["number"]) for row in self.lots if _count(row["number"], 3)]
        self.lots.append(_blank_lot(n, max(numbers, default=0) + 1))
        return f"lot_{n}_title"

    def resolve_commune(self, session) -> str | None:
        """The INSEE code of the commune typed (by name or code); several of that name leave a
        choice to make (a problem), none leaves the text for the loader to refuse."""
        typed = self.values["commune"]
        found = communes_named(session, typed) if typed else []
        if len(found) == 1:
            return found[0].code
        if len(found) > 1:
            self.communes = found
            return None
        return typed

    def row(self, commune: str) -> dict:
        """The market as the load format has it (``docs/load-format.md``), blanks left out."""
        market = {"ref": self.values["ref"], "buyer": self.values["buyer"],
                  "title": self.values["title"], "commune": commune, "cpv": self.values["cpv"],
                  "amount": french_number(self.values["amount"])}  # fmt: skip
        market |= {name: self.values[name] for name in DATES if self.values[name]}
        if self.values.get("qpv_target"):  # typed in per cent: « 30 » is 0.30
            try:
                market["qpv_target"] = QPV_TARGET.read(self.values["qpv_target"], in_percent=True)
            except ValueError:
                market["qpv_target"] = self.values["qpv_target"]  # the loader says why
        market = {key: value for key, value in market.items() if value != ""}
        lots = [
            {"number": row["number"] or row["n"], "title": row["title"],
             "amount": french_number(row["amount"])}
            | ({"cpv": row["cpv"]} if row["cpv"] else {})  # blank: the market's CPV
            for row in self.lots
        ]  # fmt: skip
        # a market without lots is one lot: the form keeps it as its lot 1 (the load format's
        # rule), so that « retirer » every row leaves one lot, the market
        market["lots"] = lots or [
            {"number": "1", "title": market.get("title", ""), "amount": market.get("amount", "")}
        ]
        return market


def _count(text: str, digits: int) -> bool:
    """ASCII digits, ``digits`` at most: what ``int`` reads (« ²⁰²⁶ » is digits to ``isdigit``)."""
    return bool(re.fullmatch(rf"[0-9]{{1,{digits}}}", text))


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


def _plain(amount) -> str:
    """An amount as a person types it back: « 1300000 », « 1300000.5 »."""
    text = f"{amount:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _percent(share) -> str:
    """A share as a person types it in per cent: 0.3 is « 30 »."""
    return "" if share is None else _plain(share * 100)


def _blank_lot(n: int, number: int | None = None) -> dict[str, str]:
    return {"n": str(n), "number": str(number or n), "title": "", "cpv": "", "amount": ""}


# --- the loader's problems on the form ---------------------------------------------------

_WHERE = re.compile(
    r"^markets\[[^\]]*\](?:\.(?P<field>\w+))?(?:\[(?P<lot>[^\]]*)\](?:\.(?P<lot_field>\w+))?)?$"
)


@dataclass(frozen=True)
class FieldProblem:
    anchor: str  # the field's id
    label: str  # French
    message: str


def _worded(message: str) -> str:
    """The load format's field names a message quotes, in the form's words."""
    for name, label in LABELS.items():
        message = re.sub(rf"\b{name}\b", label, message)
    return message


def on_fields(problems: list[LoadProblem], form: MarketForm) -> list[FieldProblem]:
    """Each problem of the market's row on the field of the form it is about."""
    placed = []
    for problem in problems:
        where = _WHERE.match(problem.field)
        name = where["field"] if where else None
        message = problem.message
        if where and where["lot"] is not None:
            n = next((row["n"] for row in form.lots if (row["number"] or row["n"]) == where["lot"]),
                     None)  # fmt: skip
            key = where["lot_field"]
            if n is not None and key in LOT_LABELS:
                placed.append(FieldProblem(f"lot_{n}_{key}",
                                           f"lot {where['lot']}, {LOT_LABELS[key]}", message))  # fmt: skip
                continue
            name = "lots"
        if name is None:  # the row as a whole: dates out of order name the later one first
            first = re.match(r"(\w+) ", message)
            name = first[1] if first and first[1] in LABELS else None
        if name == "lots" and form.lots:
            anchor = f"lot_{form.lots[0]['n']}_number"
        else:
            anchor = name if name in LABELS else "title"
        placed.append(FieldProblem(anchor, LABELS.get(name or "", "marché"), _worded(message)))
    return placed
