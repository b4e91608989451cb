"""Evaluation: the facilitator writes the report (bilan) of the hours done and follows the
beneficiaries' outcomes six months after the end. ``close`` completes both tasks."""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    open_on_enter(ctx)


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
