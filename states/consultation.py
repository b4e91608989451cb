"""Consultation: the tender is published with the clause; the facilitator informs bidders.

The offer is frozen from here on.
"""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    open_on_enter(ctx)


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
