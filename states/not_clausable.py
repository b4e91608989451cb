"""Not clausable: the market carries no clause (too small, no labour, no facilitator…).
A final state."""

from clausier.tasks.planning import open_on_enter
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    ctx.market.exit_reason = ctx.payload.reason
    open_on_enter(ctx)
