"""Load buyers, structures, contractors, conventions, markets and lots (and the history of
execution: beneficiaries and monthly declarations), all or nothing.

Every row is checked first (shape, SIRET keys, official codes, references to other records in
the file or the store), in one pass: a row wrong in one field is still checked on the others. If
anything is wrong, every problem is reported with its file, line and field, in the order of the
lines, and nothing is written. Natural keys (SIRET, ``ref``, e-mail, lot number) make a second
load of the same file change nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, delete, select

from clausier import clock
from clausier.auth.writes import EDITABLE_STATE, MarketWriter, operator_import
from clausier.config import Settings, get_settings
from clausier.db.locks import locked
from clausier.errors import (
    LoadConflict,
    LoadErrors,
    LoadProblem,
    LotRemovalRefused,
    MarketRefTaken,
    UnknownRecord,
    VersionConflict,
)
from clausier.loading import execution, source
from clausier.loading.rows import ConventionRow, LoadFile, MarketRow, readable
from clausier.markets import history
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.offers.service import OPEN_STATES
from clausier.partners import service as directory
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships.models import Convention, ConventionService, ConventionTerritory
from clausier.partnerships.service import refresh_buyer_markets
from clausier.referential.service import TerritoryIndex, commune_problem, territory_problem
from clausier.tasks.service import open_initial_tasks
from clausier.validation.messages import french_message
from workflow.lifecycle import STATE_LABELS

log = logging.getLogger(__name__)

KINDS = ("buyers", "structures", "facilitators", "contractors", "conventions", "markets", "lots",
         "beneficiaries", "declarations", "outcomes")  # fmt: skip
KIND_LABELS = {
    "buyers": "acheteurs",
    "structures": "structures",
    "facilitators": "facilitateurs",
    "contractors": "titulaires",
    "conventions": "conventions",
    "markets": "marchés",
    "lots": "lots",
    "beneficiaries": "bénéficiaires",
    "declarations": "relevés mensuels",
    "outcomes": "sorties à six mois",
}
_ROW_KEYS = ("ref", "siret", "email", "number", "code", "period", "beneficiary", "invoice_ref")


@dataclass(frozen=True)
class Shown:
    """A market as a form showed it, so that its write changes what the person saw and nothing
    else: its version then (``None``: a new market, whose ref must still be free), and the
    form's whole list of lots (a stored lot it leaves out is removed, in identification only)."""

    version: int | None


@dataclass
class LoadReport:
    path: str
    counts: dict[str, Counter] = field(default_factory=lambda: {k: Counter() for k in KINDS})
    notices: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.path,
            "counts": {kind: dict(self.counts[kind]) for kind in KINDS if self.counts[kind]},
            "notices": self.notices,
        }


# --- locating problems -------------------------------------------------------------------


def _locate(raw: Any, loc: tuple) -> tuple[int | None, str]:
    """The line and a readable field path for a pydantic error location."""
    line = getattr(raw, "line", None)
    node, parts = raw, []
    for step in loc:
        if isinstance(node, dict) and step in node:
            line = getattr(node, "key_lines", {}).get(step, line)
            parts.append(("." if parts else "") + str(step))
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            item = node[step]
            lines = getattr(node, "item_lines", None)
            line = getattr(item, "line", None) or (lines[step] if lines else line)
            key = next((item[k] for k in _ROW_KEYS if isinstance(item, dict) and k in item), None)
            parts.append(f"[{key}]" if key is not None else f"[{step + 1}]")
            node = item
        else:
            if not isinstance(step, int):
                parts.append(("." if parts else "") + str(step))
            node = None
    return line, "".join(parts) or "fichier"


class _Problems:
    def __init__(self, path: str, raw: Any):
        self.path, self.raw, self.items = path, raw, []

    def add(self, loc: tuple, message: str) -> None:
        line, where = _locate(self.raw, loc)
        self.items.append(LoadProblem(path=self.path, line=line, field=where, message=message))

    def by_line(self) -> list[LoadProblem]:
        """Top to bottom, as the user fixes the file (problems of the whole file first)."""
        return sorted(self.items, key=lambda problem: problem.line or 0)


# --- checks against the file and the store --------------------------------------------


def _check_shown(session: Session, data: LoadFile, shown: dict[str, Shown]) -> None:
    """A form's market is still as it was shown: a new one's ref still free (whoever holds it),
    an edited one at its version. Asked first, before who may write it: the form was shown to
    this person, and a ref taken meanwhile is said so, not « not found »."""
    for row in data.markets:
        seen = shown.get(row.ref)
        if seen is None:
            continue
        market = session.exec(select(Market).where(Market.ref == row.ref)).first()
        if seen.version is None and market is not None:
            raise MarketRefTaken(row.ref)
        if seen.version is not None and market is None:
            raise UnknownRecord("Marché", row.ref)
        if seen.version is not None and market.version != seen.version:
            raise VersionConflict(market=row.ref, expected=seen.version)


def _check_writes(session: Session, data: LoadFile, writer: MarketWriter) -> None:
    """Who may write these markets, before any other check: another buyer's ref is not found
    (whatever else the row holds, so that nothing about that market is told), a state past
    identification is an import's, a market past identification changes through the
    lifecycle. Asked again when the market is written (it may be created meanwhile)."""
    if not writer.restricted:  # the historical import: a file of any size, no query
        return
    refs = [row.ref for row in data.markets if row.ref is not None]
    stored = {
        market.ref: market
        for market in session.exec(select(Market).where(Market.ref.in_(refs))).all()
    }
    for row in data.markets:
        if row.ref in stored:
            writer.reach(stored[row.ref])
    for row in data.markets:
        writer.may_set_state(row.ref, row.state)
        if row.ref in stored:
            writer.may_edit(stored[row.ref])


def _check_references(
    session: Session, data: LoadFile, problems: _Problems, territories: TerritoryIndex
) -> None:
    """Each field that could be read (``None`` otherwise, see ``rows.readable``) is checked."""
    buyers = {row.siret for row in data.buyers if row.siret} | set(
        session.exec(select(Buyer.siret)).all()
    )
    structures = {row.ref for row in data.structures if row.ref} | set(
        session.exec(select(Structure.ref)).all()
    )
    contractors = {row.siret for row in data.contractors if row.siret} | set(
        session.exec(select(Contractor.siret)).all()
    )

    for kind, key in (("buyers", "siret"), ("structures", "ref"), ("contractors", "siret"),
                      ("conventions", "ref"), ("markets", "ref")):  # fmt: skip
        seen: dict[str, int] = {}
        for index, row in enumerate(getattr(data, kind)):
            value = getattr(row, key)
            if value is None:
                continue
            if value in seen:
                problems.add((kind, index, key), f"« {value} » apparaît deux fois dans le fichier")
            seen[value] = index
    emails: dict[str, str] = {}
    for s_index, structure in enumerate(data.structures):
        for f_index, facilitator in enumerate(structure.facilitators):
            if facilitator.email is None or structure.ref is None:
                continue
            other = emails.setdefault(facilitator.email.lower(), structure.ref)
            if other != structure.ref:
                problems.add(
                    ("structures", s_index, "facilitators", f_index, "email"),
                    f"« {facilitator.email} » est déjà facilitateur de la structure {other}",
                )

    for index, row in enumerate(data.conventions):
        if row.buyer is not None and row.buyer not in buyers:
            problems.add(("conventions", index, "buyer"), f"acheteur inconnu (SIRET {row.buyer})")
        if row.structure is not None and row.structure not in structures:
            problems.add(
                ("conventions", index, "structure"), f"structure inconnue « {row.structure} »"
            )
        for t_index, code in enumerate(row.territories or ()):
            if problem := territory_problem(territories, code):
                problems.add(("conventions", index, "territories", t_index), problem)
    frozen = {
        market.ref: market
        for market in session.exec(
            select(Market).where(
                Market.ref.in_([row.ref for row in data.markets if row.ref is not None]),
                Market.state.not_in(OPEN_STATES),
            )
        ).all()
    }
    for index, row in enumerate(data.markets):
        if row.ref in frozen:
            _check_frozen_offer(session, frozen[row.ref], row, index, problems)
        if row.buyer is not None and row.buyer not in buyers:
            problems.add(("markets", index, "buyer"), f"acheteur inconnu (SIRET {row.buyer})")
        if row.commune is not None and (problem := commune_problem(territories, row.commune)):
            problems.add(("markets", index, "commune"), problem)
        for l_index, lot in enumerate(row.lots):
            if lot.contractor and lot.contractor not in contractors:
                problems.add(
                    ("markets", index, "lots", l_index, "contractor"),
                    f"titulaire inconnu (SIRET {lot.contractor}) : ajoutez-le sous « contractors »",
                )


def _activity(session: Session, model, key: str, rows: list) -> dict[str, tuple[str, bool]]:
    """Each organisation's name and whether it is active once the file is loaded: as the file
    says (``active``), else as stored (a new one: active)."""
    known = {
        value: (name, active)
        for value, name, active in session.exec(
            select(getattr(model, key), model.name, model.active)
        ).all()
    }
    for row in rows:
        value = getattr(row, key)
        if value is None:
            continue
        name, active = known.get(value, (row.name, True))
        known[value] = (row.name or name, active if row.active is None else row.active)
    return known


def _check_activity(session: Session, data: LoadFile, problems: _Problems) -> None:
    """A deactivated organisation (or one the file deactivates) is given nothing new, as the
    directory has it: no market for a buyer, no lot for a contractor, no facilitator for a
    structure, which cannot have an active one either. What is already its own (a closed market
    loaded again) is no change, and stays loadable."""
    buyers = _activity(session, Buyer, "siret", data.buyers)
    contractors = _activity(session, Contractor, "siret", data.contractors)
    refs = [row.ref for row in data.markets if row.ref is not None]
    owners = dict(
        session.exec(
            select(Market.ref, Buyer.siret)
            .join(Buyer, Buyer.id == Market.buyer_id)
            .where(Market.ref.in_(refs))
        ).all()
    )
    holders = {
        (ref, number): siret
        for ref, number, siret in session.exec(
            select(Market.ref, Lot.number, Contractor.siret)
            .join(Market, Market.id == Lot.market_id)
            .join(Contractor, Contractor.id == Lot.contractor_id)
            .where(Market.ref.in_(refs))
        ).all()
    }
    for index, row in enumerate(data.markets):
        name, active = buyers.get(row.buyer, ("", True))
        if not active and owners.get(row.ref) != row.buyer:
            problems.add(
                ("markets", index, "buyer"),
                f"l'acheteur « {name} » (SIRET {row.buyer}) est désactivé : il ne reçoit pas de "
                "nouveau marché ; réactivez-le d'abord",
            )
        for l_index, lot in enumerate(row.lots):
            name, active = contractors.get(lot.contractor, ("", True))
            if not active and holders.get((row.ref, lot.number)) != lot.contractor:
                problems.add(
                    ("markets", index, "lots", l_index, "contractor"),
                    f"le titulaire « {name} » (SIRET {lot.contractor}) est désactivé : aucun lot "
                    "ne peut lui être attribué ; réactivez-le d'abord",
                )
    closed = {
        structure.ref: structure
        for structure in session.exec(select(Structure).where(Structure.active.is_(False))).all()
    }
    for s_index, row in enumerate(data.structures):
        structure = closed.get(row.ref)
        if structure is None or row.active:  # open, or reopened by the file
            continue
        members = {
            email.lower()
            for email in session.exec(
                select(Facilitator.email).where(Facilitator.structure_id == structure.id)
            ).all()
        }
        for f_index, person in enumerate(row.facilitators):
            where = ("structures", s_index, "facilitators", f_index)
            if person.email is not None and person.email.lower() not in members:
                problems.add(
                    (*where, "email"),
                    f"la structure « {structure.name} » est désactivée : elle ne reçoit pas de "
                    "nouveau facilitateur ; réactivez-la d'abord",
                )
            elif "active" in person.model_fields_set and person.active:
                problems.add(
                    (*where, "active"),
                    f"la structure « {structure.name} » est désactivée : ses facilitateurs le "
                    "sont aussi ; réactivez-la d'abord",
                )


def _check_frozen_offer(
    session: Session, market: Market, row: MarketRow, index: int, problems: _Problems
) -> None:
    """From the consultation on, the tender documents carry the offer: a load cannot change it."""
    stored = {
        lot.number: lot for lot in session.exec(select(Lot).where(Lot.market_id == market.id)).all()
    }
    for l_index, lot in enumerate(row.lots):
        if lot.number is None:
            continue
        current = stored.get(lot.number)
        for key in ("hours", "clause_text", "instrument"):
            if key in lot.model_fields_set and (
                current is None or getattr(current, key) != getattr(lot, key)
            ):
                problems.add(
                    ("markets", index, "lots", l_index, key),
                    f"offre d'insertion figée depuis la publication (le marché est à l'état "
                    f"« {STATE_LABELS[market.state]} ») : « {key} » ne peut plus changer",
                )


# --- writing ------------------------------------------------------------------------------


def _same(current: Any, value: Any) -> bool:
    if isinstance(current, Decimal) or isinstance(value, Decimal):
        if current is None or value is None:
            return current is None and value is None
        return Decimal(current) == Decimal(value)
    return current == value


def _apply(row_obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set the values that differ; what changed, ``{column: (before, after)}`` (empty: none)."""
    changed = {}
    for name, value in values.items():
        current = getattr(row_obj, name)
        if not _same(current, value):
            setattr(row_obj, name, value)
            changed[name] = (current, value)
    return changed


def _upsert(
    session: Session, report: LoadReport, kind: str, model, key: dict, values: dict,
    *, changed: bool = False,
):  # fmt: skip
    """The row of ``key`` created or set to ``values``; counted as updated if ``changed`` (a
    change the caller makes) or a value differs."""
    instance = session.exec(select(model).filter_by(**key)).first()
    if instance is None:
        instance = model(**key, **values)
        session.add(instance)
        session.flush()
        report.count(kind, "created")
    elif _apply(instance, values) or changed:
        session.add(instance)
        report.count(kind, "updated")
    else:
        report.count(kind, "unchanged")
    return instance


def _write_convention(
    session: Session, report: LoadReport, row: ConventionRow, ids: dict, index: TerritoryIndex
) -> None:
    convention = session.exec(select(Convention).where(Convention.ref == row.ref)).first()
    values = {
        "buyer_id": ids["buyers"][row.buyer],
        "structure_id": ids["structures"][row.structure],
        "starts_on": row.starts_on,
        "ends_on": row.ends_on,
        "renewal": row.renewal.value,
        "renewal_until": row.renewal_until,
        "draft": row.draft,
        "hourly_cost": row.hourly_cost,
        "insertion_rate": row.insertion_rate,
        "penalty_per_hour": row.penalty_per_hour,
    }
    territories = {(index.kind_of(code), code) for code in row.territories}
    services = {service.value for service in row.services}
    if convention is None:
        convention = Convention(ref=row.ref, **values)
        session.add(convention)
        session.flush()
        outcome = "created"
        old_territories, old_services = set(), set()
    else:
        outcome = "updated" if _apply(convention, values) else "unchanged"
        old_territories = {
            (t.kind, t.code)
            for t in session.exec(
                select(ConventionTerritory).where(
                    ConventionTerritory.convention_id == convention.id
                )
            ).all()
        }
        old_services = set(
            session.exec(
                select(ConventionService.service).where(
                    ConventionService.convention_id == convention.id
                )
            ).all()
        )
    if territories != old_territories:
        session.exec(
            delete(ConventionTerritory).where(ConventionTerritory.convention_id == convention.id)
        )
        session.add_all(
            ConventionTerritory(convention_id=convention.id, kind=k, code=c)
            for k, c in sorted(territories)
        )
        outcome = "updated" if outcome == "unchanged" else outcome
    if services != old_services:
        session.exec(
            delete(ConventionService).where(ConventionService.convention_id == convention.id)
        )
        session.add_all(
            ConventionService(convention_id=convention.id, service=s) for s in sorted(services)
        )
        outcome = "updated" if outcome == "unchanged" else outcome
    session.add(convention)
    report.count("conventions", outcome)


# the load file's name of each column a market row writes, as the log of an edit names it
_MARKET_KEYS = {"buyer_id": "buyer", "commune_code": "commune"}
_LOT_KEYS = {"contractor_id": "contractor"}


def _logged(column: str, value: Any, sirets: dict[str, dict[int, str]]) -> Any:
    """A value as the log keeps it (JSON): a party by its SIRET, an amount or a date as text."""
    if value is not None and column in ("buyer_id", "contractor_id"):
        return sirets["buyers" if column == "buyer_id" else "contractors"].get(value)
    return history.logged(value)


def _bump_version(session: Session, market: Market, now) -> None:
    """An edit is a change of the market: the version moves, as a transition's does, and one
    that moved meanwhile (a transition, another edit) refuses this one."""
    markets = Market.__table__
    bumped = session.execute(
        update(markets)
        .where(
            markets.c.id == market.id,
            markets.c.version == market.version,
            markets.c.state == market.state,
        )
        .values(version=market.version + 1, updated_at=now)
    )
    if bumped.rowcount != 1:
        raise VersionConflict(market=market.ref, expected=market.version)
    set_committed_value(market, "version", market.version + 1)
    set_committed_value(market, "updated_at", now)


def _write_market(
    session: Session, report: LoadReport, row: MarketRow, ids: dict, *, actor: str,
    writer: MarketWriter, shown: Shown | None = None,
) -> Market | None:  # fmt: skip
    """Create or update the market and its lots; the market when it is new. A change of a
    market that exists is logged (trigger ``edit``), a market created past identification is
    an import (trigger ``import``)."""
    values = {
        "buyer_id": ids["buyers"][row.buyer],
        "title": row.title,
        "commune_code": row.commune,
        "cpv": row.cpv,
        "amount": row.amount,
        "consultation_on": row.consultation_on,
        "award_on": row.award_on,
        "execution_starts_on": row.execution_starts_on,
        "execution_ends_on": row.execution_ends_on,
        "qpv_target": row.qpv_target,
    }
    writer.may_write_for(values["buyer_id"], row.ref)
    market = session.exec(select(Market).where(Market.ref == row.ref)).first()
    now = clock.now()
    created = None
    if market is None:
        state = row.state or "identification"
        writer.may_set_state(row.ref, state)
        market = created = Market(
            ref=row.ref, state=state, created_at=now, updated_at=now, **values
        )
        session.add(market)
        session.flush()
        trigger = history.IMPORT if state != "identification" else "load"
        session.add(
            TransitionLog(
                market_id=market.id, from_state=None, to_state=state, trigger=trigger,
                actor=actor, at=now, payload={"file": report.path},
            )
        )  # fmt: skip
        report.count("markets", "created")
    sirets = ids["sirets"]
    changes: dict[str, list] = {}
    if created is None:
        writer.reach(market)
        writer.may_edit(market)
        if shown is not None and shown.version != market.version:  # moved since _check_shown
            raise VersionConflict(market=row.ref, expected=shown.version)
        edited = _apply(market, values)
        for column, (before, after) in edited.items():
            key = _MARKET_KEYS.get(column, column)
            history.note(
                changes, key, _logged(column, before, sirets), _logged(column, after, sirets)
            )
        session.add(market)
        report.count("markets", "updated" if edited else "unchanged")
        if row.state and row.state != market.state:
            report.notices.append(
                f"{row.ref} : état « {row.state} » du fichier ignoré, le marché est à l'état "
                f"« {market.state} » (seul le cycle de vie fait changer l'état)"
            )
    lots = row.lots or []
    for lot in lots:
        # the offer and the award set hours, clause and contractor: a file that leaves them out
        # keeps what the lifecycle recorded
        given = lot.model_fields_set
        values = {"title": lot.title, "cpv": lot.cpv, "amount": lot.amount}
        stored = session.exec(
            select(Lot).where(Lot.market_id == market.id, Lot.number == lot.number)
        ).first()
        prepared = stored is not None and stored.offer is not None
        for key in ("hours", "clause_text", "modalities", "instrument"):
            if key not in given:
                continue
            if prepared and getattr(stored, key) != getattr(lot, key):
                report.notices.append(
                    f"{row.ref}, lot {lot.number} : « {key} » du fichier ignoré, l'offre préparée "
                    "dans Clausier (clausier offer) prime"
                )
                continue
            values[key] = getattr(lot, key)
        if "contractor" in given:
            values["contractor_id"] = (
                ids["contractors"].get(lot.contractor) if lot.contractor else None
            )
        if stored is None:
            session.add(Lot(market_id=market.id, number=lot.number, **values))
            report.count("lots", "created")
            edited = {column: (None, value) for column, value in values.items()}
        else:
            edited = _apply(stored, values)
            session.add(stored)
            report.count("lots", "updated" if edited else "unchanged")
        for column, (before, after) in edited.items():
            key = history.lot_key(lot.number, _LOT_KEYS.get(column, column))
            history.note(
                changes, key, _logged(column, before, sirets), _logged(column, after, sirets)
            )
    if shown is not None and created is None:
        _remove_lots_left_out(session, report, market, {lot.number for lot in lots}, changes)
    if not lots:
        has_lots = session.exec(select(Lot.id).where(Lot.market_id == market.id)).first()
        if has_lots is None:  # a market without lots (non alloti) is one lot
            session.add(Lot(market_id=market.id, number=1, title=row.title, amount=row.amount))
            report.count("lots", "created")
            if created is None:
                changes[history.lot_key(1, "title")] = [None, row.title]
                changes[history.lot_key(1, "amount")] = [None, str(row.amount)]
    if created is None and changes:
        _bump_version(session, market, now)
        history.record_edit(session, market, changes, actor=actor, at=now)
    return created


def _remove_lots_left_out(
    session: Session, report: LoadReport, market: Market, kept: set[int], changes: dict
) -> None:
    """The lots a form no longer lists, removed and logged. Only in identification: later a lot
    carries the offer, its contractor and its declared hours."""
    gone = session.exec(
        select(Lot).where(Lot.market_id == market.id, Lot.number.not_in(kept)).order_by(Lot.number)
    ).all()
    for lot in gone:
        if market.state != EDITABLE_STATE:
            raise LotRemovalRefused(
                market=market.ref, lot=lot.number, state_label=STATE_LABELS[market.state]
            )
        history.note(changes, history.lot_key(lot.number, "title"), lot.title, None)
        history.note(changes, history.lot_key(lot.number, "amount"), lot.amount, None)
        session.delete(lot)
        report.count("lots", "removed")
    if gone:
        session.flush()


# the directory's name of each kind of organisation (``partners.service``)
_DIRECTORY = {
    "buyers": (Buyer, "buyer", directory.deactivate_buyer),
    "structures": (Structure, "structure", directory.deactivate_structure),
    "contractors": (Contractor, "contractor", directory.deactivate_contractor),
}


def _organisation(
    session: Session, report: LoadReport, kind: str, key: dict, values: dict,
    active: bool | None, leaving: list, index: int,
):  # fmt: skip
    """A buyer, structure or contractor written, its ``active`` set by the directory's own
    functions: reactivated at once; deactivated (``leaving``) once the rest of the file is
    written, so that what holds it back refuses it, the file's own markets and conventions
    included."""
    model, name, _deactivate = _DIRECTORY[kind]
    stored = session.exec(select(model).filter_by(**key)).first()
    turns = active is not None and (stored.active if stored is not None else True) != active
    org = _upsert(session, report, kind, model, key, values, changed=turns)
    if turns and active:
        directory.reactivate_org(session, name, org.id)
    elif turns:
        leaving.append((kind, index, org.id))
    return org


def _leave(session: Session, name: str, raw: Any, leaving: list) -> None:
    """The deactivations the file asks, each refused as the directory refuses it (a market not
    finished, a convention running, an open task, a lot held): ``LoadErrors``, at the row's
    ``active``, and the caller's transaction rolled back writes nothing."""
    problems = _Problems(name, raw)
    for kind, index, org_id in leaving:
        _model, _name, deactivate = _DIRECTORY[kind]
        try:
            deactivate(session, org_id, now=clock.now())
        except directory.DirectoryRefused as refused:
            problems.add((kind, index, "active"), str(refused))
    if problems.items:
        raise LoadErrors(name, problems.by_line())


def _ids(session: Session, model, key: str) -> dict[str, int]:
    return {getattr(obj, key): obj.id for obj in session.exec(select(model)).all()}


def load(
    session: Session,
    path: Path,
    *,
    actor: str | None = None,
    writer: MarketWriter | None = None,
    today: date | None = None,
    settings: Settings | None = None,
) -> LoadReport:
    """Validate then write the file in the caller's transaction; ``LoadErrors`` if invalid. A
    file on the machine is its operator's: the historical import unless ``writer`` says less."""
    name = str(path)
    if not path.exists():
        raise LoadErrors(
            name,
            [LoadProblem(path=name, line=None, field="fichier", message="fichier introuvable")],
        )
    return load_data(
        session,
        source.read(path),
        name=name,
        actor=actor or f"load:{path.name}",
        writer=writer or operator_import(),
        today=today,
        settings=settings,
    )


ATTEMPTS = 3


def commit_load(session: Session, raw: Any, **options: Any) -> LoadReport:
    """``load_data``, committed. Two loads of one new record at once (a ref, a SIRET): the
    second one's insert meets the first one's commit, and starts again on what is now stored
    (an edit, or another buyer's ref: not found), so that neither fails nor duplicates."""
    for _attempt in range(ATTEMPTS):
        try:
            report = load_data(session, raw, **options)
            session.commit()
            return report
        except IntegrityError:
            session.rollback()
            log.info("load %s met a concurrent load, started again", options.get("name"))
    raise LoadConflict()


def load_data(
    session: Session,
    raw: Any,
    *,
    name: str,
    actor: str,
    writer: MarketWriter,
    today: date | None = None,
    settings: Settings | None = None,
    shown: dict[str, Shown] | None = None,
) -> LoadReport:
    """Validate then write already-read data (a file's, or an API request's), all or nothing,
    as far as ``writer`` may (``clausier.auth.writes``); the markets of a page's form as
    ``shown`` them (``Shown``)."""
    problems = _Problems(name, raw)
    if not isinstance(raw, dict):
        problems.add(
            (),
            "le fichier doit contenir des clés : buyers, structures, contractors, conventions, markets",
        )
        raise LoadErrors(name, problems.items)
    try:
        data = LoadFile.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.add(error["loc"], french_message(error))
        data = readable(LoadFile, raw)  # what could be read is checked against the store too
    _check_shown(session, data, shown or {})
    _check_writes(session, data, writer)
    territories = TerritoryIndex(session)
    _check_references(session, data, problems, territories)
    _check_activity(session, data, problems)
    settings = settings or get_settings()
    execution.check(session, data, problems, settings, today=today or clock.today())
    if problems.items:
        raise LoadErrors(name, problems.by_line())

    report = LoadReport(path=name)
    leaving: list[tuple[str, int, int]] = []  # deactivated once the rest is written (``_leave``)
    for index, row in enumerate(data.buyers):
        _organisation(
            session, report, "buyers", {"siret": row.siret},
            {"name": row.name, "email": row.email, "hourly_cost": row.hourly_cost,
             "insertion_rate": row.insertion_rate, "penalty_per_hour": row.penalty_per_hour},
            row.active, leaving, index,
        )  # fmt: skip
    for index, row in enumerate(data.structures):
        structure = _organisation(
            session, report, "structures", {"ref": row.ref},
            {"name": row.name, "kind": row.kind.value, "email": row.email}, row.active, leaving,
            index,
        )  # fmt: skip
        for person in row.facilitators:
            # one the file deactivates leaves as the directory's button has it leave; those of
            # a structure that stays deactivated stay so (``_check_activity``)
            active = person.active and structure.active
            known = session.exec(select(Facilitator.id).filter_by(email=person.email)).first()
            before = locked(session, Facilitator, [known]).get(known) if known else None
            leaves = before is not None and before.active and not active
            written = _upsert(
                session, report, "facilitators", Facilitator, {"email": person.email},
                {"structure_id": structure.id, "name": person.name, "active": active, "digest": person.digest},
            )  # fmt: skip
            if leaves:
                directory.facilitator_left(session, written, now=clock.now())
    for index, row in enumerate(data.contractors):
        _organisation(
            session, report, "contractors", {"siret": row.siret},
            {"name": row.name, "email": row.email}, row.active, leaving, index,
        )  # fmt: skip
    session.flush()
    ids = {
        "buyers": _ids(session, Buyer, "siret"),
        "structures": _ids(session, Structure, "ref"),
        "contractors": _ids(session, Contractor, "siret"),
    }
    ids["sirets"] = {kind: {id_: siret for siret, id_ in ids[kind].items()} for kind in ("buyers", "contractors")}  # fmt: skip
    for row in data.conventions:
        _write_convention(session, report, row, ids, territories)
    shown = shown or {}
    created = [
        _write_market(
            session, report, row, ids, actor=actor, writer=writer, shown=shown.get(row.ref)
        )
        for row in data.markets
    ]
    session.flush()

    touched = {ids["buyers"][row.buyer] for row in data.conventions} | {
        ids["buyers"][row.buyer] for row in data.markets
    }
    flags = {
        "uncovered": "aucune convention en vigueur ne couvre son lieu d'exécution",
        "ambiguous": "plusieurs structures le couvrent au même niveau : à assigner (clausier assign)",
    }
    for buyer_id in sorted(touched):
        changes = refresh_buyer_markets(
            session, buyer_id=buyer_id, today=today or clock.today(), actor=actor
        )
        report.notices.extend(
            f"{change.ref} : {flags[change.coverage_flag]}"
            for change in changes
            if change.coverage_flag
        )
    for market in filter(None, created):
        open_initial_tasks(
            session, market, settings=settings or get_settings(), today=today or clock.today()
        )
    execution.write(session, report, data, actor=actor, now=clock.now(), settings=settings)
    _leave(session, name, raw, leaving)
    return report
