"""Identification: the buyer, advised by the facilitator, decides whether the market can carry
a clause. Coverage is checked by the engine before every transition.

Entering opens the assessment task; leaving closes it (done by ``prepare_offer`` or ``decline``).
"""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    open_on_enter(ctx)


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
