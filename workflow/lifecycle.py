"""The lifecycle of a market, as data a facilitator can read.

States with their French labels, then the transition table: trigger, sources, destination,
guard. ``workflow.machine`` builds the one ``transitions`` machine of the process from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from workflow import guards
from workflow.context import TransitionContext


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    final: bool = False


@dataclass(frozen=True)
class TransitionSpec:
    trigger: str
    sources: tuple[str, ...]
    dest: str
    label: str
    guard: Callable[[TransitionContext], list[str]]


STATES: tuple[StateSpec, ...] = (
    StateSpec("identification", "Identification"),
    StateSpec("insertion_offer", "Offre d'insertion"),
    StateSpec("consultation", "Consultation"),
    StateSpec("execution", "Exécution"),
    StateSpec("evaluation", "Évaluation"),
    StateSpec("closed", "Clos", final=True),
    StateSpec("not_clausable", "Non clausable", final=True),
    StateSpec("abandoned", "Abandonné", final=True),
)

TRANSITIONS: tuple[TransitionSpec, ...] = (
    TransitionSpec("prepare_offer", ("identification",), "insertion_offer",
                   "Préparer l'offre d'insertion", guards.offer_can_be_prepared),
    TransitionSpec("decline", ("identification", "insertion_offer"), "not_clausable",
                   "Déclarer non clausable", guards.has_reason),
    TransitionSpec("publish", ("insertion_offer",), "consultation",
                   "Publier la consultation", guards.offer_is_complete),
    TransitionSpec("relaunch", ("consultation",), "insertion_offer",
                   "Relancer (consultation infructueuse)", guards.consultation_unsuccessful),
    TransitionSpec("award", ("consultation",), "execution",
                   "Attribuer", guards.every_clause_lot_has_contractor),
    TransitionSpec("abandon", ("identification", "insertion_offer", "consultation"), "abandoned",
                   "Abandonner", guards.has_reason),
    TransitionSpec("complete", ("execution",), "evaluation",
                   "Terminer l'exécution", guards.execution_is_over),
    TransitionSpec("close", ("evaluation",), "closed",
                   "Clore", guards.evaluation_recorded),
)  # fmt: skip

STATE_NAMES = tuple(state.name for state in STATES)
STATE_LABELS = {state.name: state.label for state in STATES}
TRIGGERS = {spec.trigger: spec for spec in TRANSITIONS}


def triggers_from(state: str) -> list[str]:
    """The triggers that leave ``state``, in table order; which of them pass now is for
    ``workflow.possible`` to say (their guards decide)."""
    return [spec.trigger for spec in TRANSITIONS if state in spec.sources]
