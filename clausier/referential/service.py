"""Look-ups in the reference tables: what a code names and which territories contain a commune."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sqlmodel import Session, select

from clausier.errors import UnknownTerritory
from clausier.referential.models import Commune, Departement, Epci
from clausier.validation.identifiers import territory_kind_of


@dataclass(frozen=True)
class Place:
    """A commune with the territories that contain it, as coverage needs them."""

    code: str
    name: str
    parent_code: str | None
    epci_code: str | None
    epci_name: str | None
    departement_code: str
    departement_name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code})"


# The reference tables are shipped data, never edited: a place, once read, is kept per database.
_PLACES: dict[tuple[str, str], Place] = {}


def place_of(session: Session, commune_code: str) -> Place:
    key = (str(session.get_bind().url), commune_code)
    place = _PLACES.get(key)
    if place is None:
        place = _PLACES[key] = _read_place(session, commune_code)
    return place


def _read_place(session: Session, commune_code: str) -> Place:
    row = session.exec(
        select(Commune, Epci, Departement)
        .join(Departement, Departement.code == Commune.departement_code)
        .outerjoin(Epci, Epci.code == Commune.epci_code)
        .where(Commune.code == commune_code)
    ).first()
    if row is None:
        raise UnknownTerritory(commune_code, "commune")
    commune, epci, departement = row
    return Place(
        code=commune.code,
        name=commune.name,
        parent_code=commune.parent_code,
        epci_code=epci.code if epci else None,
        epci_name=epci.name if epci else None,
        departement_code=departement.code,
        departement_name=departement.name,
    )


def territory_name(session: Session, kind: str, code: str) -> str | None:
    model = {"commune": Commune, "epci": Epci, "departement": Departement}[kind]
    row = session.get(model, code)
    return row.name if row else None


class TerritoryIndex:
    """Every official code in memory, for validating a whole load file in one pass.

    Read once per database: the official tables change only with a migration, which restarts
    the program, and reading 35,000 codes made each one-market request ten times slower."""

    def __init__(self, session: Session):
        self.communes, self.epcis, self.departements = _official_codes(
            session.get_bind().url.render_as_string(hide_password=False), session
        )

    def kind_of(self, code: str) -> str:
        """The kind of an official code; ``UnknownTerritory`` if the code names nothing."""
        kind = territory_kind_of(code)
        known = {
            "commune": self.communes,
            "epci": self.epcis,
            "departement": self.departements,
        }.get(kind or "", set())
        if code not in known:
            raise UnknownTerritory(code)
        return kind  # type: ignore[return-value]


def territory_problem(index: TerritoryIndex, code: str) -> str | None:
    """Why ``code`` is not a convention's territory, in French (the same words for a load
    file's, an API body's and a form's), or None."""
    try:
        index.kind_of(code)
    except UnknownTerritory:
        return (
            f"« {code} » n'est ni une commune, ni un EPCI, ni un département connu "
            "du code officiel géographique"
        )
    return None


def commune_problem(index: TerritoryIndex, code: str) -> str | None:
    """Why ``code`` is not a market's commune, in French, or None."""
    if code in index.communes:
        return None
    return f"commune inconnue « {code} » (attendu : un code INSEE de commune, ex. 14118)"


_CODES: dict[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {}


def _official_codes(
    database: str, session: Session
) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    if database not in _CODES:
        if len(_CODES) >= 16:  # test runs open many databases: keep the last ones only
            _CODES.pop(next(iter(_CODES)))
        _CODES[database] = tuple(  # type: ignore[assignment]
            frozenset(session.exec(select(model.code)).all())
            for model in (Commune, Epci, Departement)
        )
    return _CODES[database]


# --- a commune by its name, as a person types it ------------------------------------------


@dataclass(frozen=True)
class NamedCommune:
    code: str
    name: str
    departement_name: str

    @property
    def label(self) -> str:
        return f"{self.name} ({self.code}, {self.departement_name})"


def _bare(text: str) -> str:
    """« Saint-Lô », « saint lo », « SAINT LÔ » alike: no case, accent, hyphen or apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.split(r"[\s\-'’]+", bare)).strip()


_NAMES: dict[str, tuple[tuple[str, NamedCommune], ...]] = {}


def _communes_by_name(session: Session) -> tuple[tuple[str, NamedCommune], ...]:
    """Every commune with its bare name, read once per database (shipped data, as above)."""
    database = session.get_bind().url.render_as_string(hide_password=False)
    if database not in _NAMES:
        if len(_NAMES) >= 16:
            _NAMES.pop(next(iter(_NAMES)))
        rows = session.exec(
            select(Commune.code, Commune.name, Departement.name)
            .join(Departement, Departement.code == Commune.departement_code)
            .order_by(Commune.name, Commune.code)
        ).all()
        _NAMES[database] = tuple(
            (_bare(name), NamedCommune(code, name, departement)) for code, name, departement in rows
        )
    return _NAMES[database]


def communes_named(session: Session, text: str, *, limit: int = 20) -> list[NamedCommune]:
    """The communes a person means by ``text``: its INSEE code, else those of that name (one,
    or several: Saint-Denis), else those whose name starts so (« Cherbourg »), at most
    ``limit``. Empty: none of the official table."""
    typed = text.strip()
    communes = _communes_by_name(session)
    by_code = [commune for _bare_name, commune in communes if commune.code == typed.upper()]
    if by_code:
        return by_code
    wanted = _bare(typed)
    if not wanted:
        return []
    exact = [commune for bare, commune in communes if bare == wanted]
    if exact:
        return exact[:limit]
    return [commune for bare, commune in communes if bare.startswith(wanted)][:limit]
