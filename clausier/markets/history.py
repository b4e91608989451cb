"""The market's log, as people read it: its creation or historical import, its transitions, and
the changes made to it outside the lifecycle.

One table holds them all (``transition_log``). A change outside a transition is a row whose
``from_state`` equals its ``to_state`` (the market stays where it is), trigger ``edit``, payload
``{"changes": {field: [before, after]}}`` with the load file's names (``title``,
``lots[2].contractor``…); what reads the log for the states a market entered asks ``enters_state``.
"""

from __future__ import annotations

import re
from typing import Any

from clausier.formatting import fr_amount, fr_date, fr_hours
from clausier.markets.models import TransitionLog
from workflow.lifecycle import STATE_LABELS, TRIGGERS

EDIT = "edit"  # a change of the market or its lots outside a transition
IMPORT = "import"  # an operator's historical import, at a later state than identification

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
}
LOT_FIELDS = {
    "title": "titre",
    "amount": "montant",
    "hours": "heures d'insertion",
    "clause_text": "texte de la clause",
    "contractor": "titulaire",
    "modalities": "modalités",
}
_LOT_KEY = re.compile(r"lots\[(\d+)\]\.(\w+)")


def enters_state():
    """The rows where the market entered a state (created, imported, moved), not its edits."""
    return TransitionLog.from_state.is_distinct_from(TransitionLog.to_state)


def lot_key(number: int, field: str) -> str:
    return f"lots[{number}].{field}"


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
        if field == "clause_text":
            done = "ajouté" if before is None else "retiré" if after is None else "modifié"
            phrases.append(f"{where} {done}")
        else:
            phrases.append(f"{where} {_value(field, before)} → {_value(field, after)}")
    return phrases


def _value(field: str, value: Any) -> str:
    if field == "modalities":
        return "toutes" if value is None else "« " + ", ".join(value) + " »"
    if field.endswith("_on"):
        return fr_date(value)  # « non fixée » when none
    if field == "hours":
        return fr_hours(value)
    if value is None:
        return "(aucun)" if field in ("contractor", "buyer") else "(vide)"
    if field == "amount":
        return fr_amount(value)
    if field in ("contractor", "buyer"):
        return f"SIRET {value}"
    return f"« {value} »"
