"""Abandoned: the buyer gave up the purchase."""

from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    ctx.market.exit_reason = ctx.payload.reason
