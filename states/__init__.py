"""One module per lifecycle state: what entering and leaving it does.

Callbacks change the market and its lots in memory only (no I/O): the engine commits their
effects with the state, the version and the log row in one transaction. Tasks and reminders
are created and cancelled here as they come (task queue and reminders issues).
"""

from types import ModuleType

from states import (
    abandoned,
    closed,
    consultation,
    evaluation,
    execution,
    identification,
    insertion_offer,
    not_clausable,
)

BY_NAME: dict[str, ModuleType] = {
    "identification": identification,
    "insertion_offer": insertion_offer,
    "consultation": consultation,
    "execution": execution,
    "evaluation": evaluation,
    "closed": closed,
    "not_clausable": not_clausable,
    "abandoned": abandoned,
}
