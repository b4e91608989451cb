"""Insertion offer: the facilitator prepares, per lot, the hours and the clause text.

Entering opens the preparation task, due some business days before the planned consultation; a
relaunch comes back here (the failed consultation's reason stays in the log). Leaving by
``publish`` marks the task done, any other way cancels it.
"""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    open_on_enter(ctx)


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
