"""Territories found by the name people know them by (« Saint-Lô », « CU Caen la Mer »,
« Manche »), as a form offers them: the pages never ask a buyer for an INSEE code.

A typed name is compared without case, accents or punctuation; a name several territories
share (1,400 commune names do) is refused with the candidates, each labelled with its code, the
form's suggestions carrying the same labels."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, select

from clausier.errors import InvalidInput
from clausier.referential.models import Commune, Departement, Epci


@dataclass(frozen=True)
class Territory:
    kind: str  # commune, epci, departement (as a convention's territory)
    code: str
    name: str
    departement: str | None = None  # a commune's, to tell namesakes apart

    @property
    def label(self) -> str:
        """What a form shows and reads back: the name, with the kind and code in brackets."""
        kind = {"commune": "commune", "epci": "EPCI", "departement": "département"}[self.kind]
        return f"{self.name} ({kind} {self.code})"


class UnknownTerritoryName(InvalidInput):
    def __init__(self, text: str, close: list[Territory]):
        self.text = text
        hint = f" Peut-être : {' ; '.join(t.label for t in close)}." if close else ""
        super().__init__(
            f"« {text} » n'est ni une commune, ni un EPCI, ni un département connu : "
            f"choisissez un nom dans la liste proposée.{hint}"
        )


class AmbiguousTerritoryName(InvalidInput):
    def __init__(self, text: str, candidates: list[Territory]):
        self.text, self.candidates = text, candidates
        shown = " ; ".join(t.label for t in candidates[:6])
        more = f" (et {len(candidates) - 6} autres)" if len(candidates) > 6 else ""
        super().__init__(
            f"« {text} » désigne plusieurs territoires : {shown}{more}. "
            "Choisissez le bon dans la liste proposée."
        )


def folded(text: str) -> str:
    """A name without case, accents, hyphens or apostrophes: « Saint-Lô » is « saint lo »."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


_BRACKETED = re.compile(
    r"\(\s*(?:commune|epci|d[ée]partement)?\s*([0-9][0-9AB]{1,8}|2[AB])\s*\)\s*$", re.IGNORECASE
)


@dataclass(frozen=True)
class _Index:
    by_code: dict[str, Territory]
    by_name: dict[str, list[Territory]]
    communes_of: dict[str, list[Territory]]  # by département
    epcis_of: dict[str, set[str]]  # the EPCIs with a commune in a département


# The reference tables are shipped data, changed by a migration only (which restarts the
# program): read once per database, as ``referential.service`` does for codes.
_INDEXES: dict[str, _Index] = {}


def _index(session: Session) -> _Index:
    database = session.get_bind().url.render_as_string(hide_password=False)
    if database not in _INDEXES:
        if len(_INDEXES) >= 16:  # test runs open many databases: keep the last ones only
            _INDEXES.pop(next(iter(_INDEXES)))
        rows = [
            Territory("departement", code, name)
            for code, name in session.exec(select(Departement.code, Departement.name))
        ]
        rows += [
            Territory("epci", code, name)
            for code, name in session.exec(select(Epci.code, Epci.name))
        ]
        epcis_of: dict[str, set[str]] = defaultdict(set)
        for code, name, dep, epci in session.exec(
            select(Commune.code, Commune.name, Commune.departement_code, Commune.epci_code)
        ):
            rows.append(Territory("commune", code, name, dep))
            if epci:
                epcis_of[dep].add(epci)
        by_name: dict[str, list[Territory]] = defaultdict(list)
        communes_of: dict[str, list[Territory]] = defaultdict(list)
        for row in rows:
            by_name[folded(row.name)].append(row)
            if row.kind == "commune":
                communes_of[row.departement].append(row)
        _INDEXES[database] = _Index({(r.kind, r.code): r for r in rows}, dict(by_name),
                                    dict(communes_of), dict(epcis_of))  # type: ignore[arg-type]  # fmt: skip
    return _INDEXES[database]


def territory(session: Session, kind: str, code: str) -> Territory | None:
    return _index(session).by_code.get((kind, code))  # type: ignore[call-overload]


def named(session: Session, text: str) -> Territory:
    """The territory a person typed or picked: « Saint-Lô », « Saint-Lô (commune 50502) », or
    a bare code. ``UnknownTerritoryName`` or ``AmbiguousTerritoryName`` in words otherwise."""
    index = _index(session)
    text = " ".join(text.split())
    bracket = _BRACKETED.search(text)
    codes = [bracket[1].upper()] if bracket else [text.upper()]
    found = [t for kind in ("commune", "epci", "departement") for code in codes
             if (t := index.by_code.get((kind, code))) is not None]  # type: ignore[call-overload]  # fmt: skip
    if bracket and found:
        name = folded(text[: bracket.start()])
        found = [t for t in found if not name or folded(t.name) == name] or found
    if not found:
        found = index.by_name.get(folded(text[: bracket.start()] if bracket else text), [])
    if len(found) == 1:
        return found[0]
    if found:
        # namesakes (a commune and its département, as Paris): the person picks one
        raise AmbiguousTerritoryName(text, sorted(found, key=lambda t: (t.kind, t.code)))
    start = folded(text)
    close = [t for name, ts in index.by_name.items() if start and name.startswith(start)
             for t in ts][:5]  # fmt: skip
    raise UnknownTerritoryName(text, close)


def suggestions(session: Session, departements: set[str]) -> list[Territory]:
    """What a form's list offers: every département, and the EPCIs and communes of the
    départements given (those of the buyer's markets and conventions: 35,000 communes would
    weigh megabytes on every form); every EPCI when no département is given. A territory
    left out is still found by its name when typed."""
    index = _index(session)
    epcis = set().union(*(index.epcis_of.get(dep, set()) for dep in departements))
    wider = [t for t in index.by_code.values()
             if t.kind == "departement" or (t.kind == "epci" and (not departements or t.code in epcis))]  # fmt: skip
    communes = [t for dep in sorted(departements) for t in index.communes_of.get(dep, [])]
    return sorted(wider, key=lambda t: (t.kind != "departement", folded(t.name))) + sorted(
        communes, key=lambda t: folded(t.name)
    )
