"""Not clausable: the market carries no clause (too small, no labour, no facilitator…)."""

from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    ctx.market.exit_reason = ctx.payload.reason
