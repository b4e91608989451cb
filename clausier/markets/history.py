"""The market's log, as people read it: its creation or historical import, its transitions, and
the changes made to it outside the lifecycle.

One table holds them all (``transition_log``). A change outside a transition is a row whose
``from_state`` equals its ``to_state`` (the market stays where it is), trigger ``edit``, payload
``{"changes": {field: [before, after]}}`` with the load file's names (``title``,
``lots[2].contractor``…); what reads the log for the states a market entered asks ``enters_state``.
A party is logged by its identifier (a SIRET, a structure's or a convention's ref), an amount or
a date as text; the evaluation's ``outcomes`` is ``[None, n]``: n outcomes recorded, never whose.
Every writer goes through ``watch``/``changed`` (or ``note``) and ``record_edit``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from clausier import clock
from clausier.formatting import fr_amount, fr_date, fr_hours, fr_number
from clausier.markets.models import Market, TransitionLog
from clausier.offers.instruments import INSTRUMENTS
from workflow.lifecycle import STATE_LABELS, TRIGGERS

EDIT = "edit"  # a change of the market or its lots outside a transition
IMPORT = "import"  # an operator's historical import, at a later state than identification
COVERAGE = "clausier:couverture"  # who re-assigns a market when its conventions change

MARKET_FIELDS = {
    "buyer": "acheteur",
    "title": "titre",
    "commune": "commune",
    "cpv": "code CPV",
    "amount": "montant",
    "consultation_on": "date de consultation",
    "award_on": "date d'attribution",
    "execution_starts_on": "début d'exécution",
    "execution_ends_on": "fin d'exécution",
    "structure": "structure",
    "convention": "convention",
    "assignment": "mode d'assignation",
    "evaluation": "bilan",
}
LOT_FIELDS = {
    "title": "titre",
    "cpv": "code CPV",
    "amount": "montant",
    "hours": "heures d'insertion",
    "clause_text": "texte de la clause",
    "contractor": "titulaire",
    "modalities": "modalités",
    "insertion_rate": "taux d'insertion",
    "labour_share": "part de main-d'œuvre",
    "hourly_cost": "coût horaire",
    "hours_computed": "heures calculées",
    "hours_override_reason": "motif de la dérogation",
    "instrument": "instrument juridique",
}
ASSIGNMENTS = {"automatic": "automatique", "explicit": "choix de l'acheteur"}
# a text too long to repeat in a phrase: only whether it was added, changed or removed
_LONG_TEXTS = ("clause_text", "evaluation")
_UNSET = {"insertion_rate": "non fixé", "labour_share": "non fixée", "hourly_cost": "non fixé"}
_LOT_KEY = re.compile(r"lots\[(\d+)\]\.(\w+)")


def enters_state():
    """The rows where the market entered a state (created, imported, moved), not its edits."""
    return TransitionLog.from_state.is_distinct_from(TransitionLog.to_state)


def lot_key(number: int, field: str) -> str:
    return f"lots[{number}].{field}"


def logged(value: Any) -> Any:
    """A value as the log keeps it (JSON): an amount or a date as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def watch(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of ``fields`` now, to compare with ``changed`` once the action is done."""
    return {name: copy.deepcopy(getattr(obj, name)) for name in fields}


def note(changes: dict[str, list], key: str, before: Any, after: Any) -> None:
    """Add ``key`` going from ``before`` to ``after``, unless they are the same value."""
    if before != after:  # Decimal("100") == Decimal("100.00"): no change
        changes[key] = [logged(before), logged(after)]


def changed(
    before: dict[str, Any], after: dict[str, Any], *, lot: int | None = None
) -> dict[str, list]:
    """What differs between two snapshots of the same fields (of lot ``lot`` if given)."""
    changes: dict[str, list] = {}
    for name, value in before.items():
        note(changes, name if lot is None else lot_key(lot, name), value, after[name])
    return changes


def record_edit(
    session: Session,
    market: Market,
    changes: dict[str, list],
    *,
    actor: str,
    at: datetime | None = None,
) -> TransitionLog | None:
    """Log ``changes`` of the market or its lots, made by ``actor`` outside a transition, as
    one edit row (the caller commits); no row when nothing changed."""
    if not changes:
        return None
    entry = TransitionLog(
        market_id=market.id, from_state=market.state, to_state=market.state, trigger=EDIT,
        actor=actor, at=at or clock.now(), payload={"changes": changes},
    )  # fmt: skip
    session.add(entry)
    return entry


def label(entry: TransitionLog) -> str:
    """What happened, in a few words (the details of an edit are in ``changes``)."""
    if entry.trigger == EDIT:
        return "Modification"
    if entry.from_state is None:
        state = STATE_LABELS.get(entry.to_state, entry.to_state)
        if entry.trigger == IMPORT:
            return f"Import historique à l'état « {state} »"
        return (
            "Création" if entry.to_state == "identification" else f"Création à l'état « {state} »"
        )
    spec = TRIGGERS.get(entry.trigger)
    return spec.label if spec else entry.trigger


def changes(entry: TransitionLog) -> list[str]:
    """An edit's changes, one phrase each: « titre « A » → « B » »."""
    if entry.trigger != EDIT:
        return []
    phrases = []
    for key, pair in (entry.payload or {}).get("changes", {}).items():
        before, after = pair
        lot = _LOT_KEY.fullmatch(key)
        field = lot.group(2) if lot else key
        name = (LOT_FIELDS if lot else MARKET_FIELDS).get(field, field)
        where = f"lot {lot.group(1)}, {name}" if lot else name
        if field in _LONG_TEXTS:
            done = "ajouté" if before is None else "retiré" if after is None else "modifié"
            phrases.append(f"{where} {done}")
        elif field == "outcomes":
            plural = "s" if after > 1 else ""
            phrases.append(f"{after} sortie{plural} à six mois enregistrée{plural}")
        else:
            phrases.append(f"{where} {_value(field, before)} → {_value(field, after)}")
    return phrases


def _value(field: str, value: Any) -> str:
    if field == "modalities":
        return "toutes" if value is None else "« " + ", ".join(value) + " »"
    if field.endswith("_on"):
        return fr_date(value)  # « non fixée » when none
    if field in ("hours", "hours_computed"):
        return fr_hours(value)
    if field == "assignment":
        return ASSIGNMENTS.get(value, value) if value else "(aucun)"
    if field == "instrument" and value in INSTRUMENTS:
        return f"« {INSTRUMENTS[value].label} »"
    if value is None:
        if field in _UNSET:
            return _UNSET[field]
        if field in ("structure", "convention"):
            return "(aucune)"
        return "(aucun)" if field in ("contractor", "buyer", "hours_override_reason") else "(vide)"
    if field in ("amount", "hourly_cost"):
        return fr_amount(value)
    if field in ("insertion_rate", "labour_share"):
        return f"{fr_number(Decimal(value) * 100)} %"
    if field in ("contractor", "buyer"):
        return f"SIRET {value}"
    return f"« {value} »"
