"""Closed: the market's clause is settled; its figures feed the reports. A final state."""

from clausier.tasks.planning import open_on_enter
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    """Record the evaluation summary given with ``close``, if any."""
    summary = getattr(ctx.payload, "evaluation", None)
    if summary:
        ctx.market.evaluation = summary
        ctx.market.evaluated_at = ctx.at
    open_on_enter(ctx)
