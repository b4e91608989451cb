"""Execution: the contractors carry out the works and the insertion hours.

Entering records the contractor of each lot named by the award and opens the start-up meeting
and the presentation of candidates.
"""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    for lot in ctx.lots:
        siret = ctx.payload.contractors.get(lot.number)
        if siret is not None:
            lot.contractor_id = ctx.contractors[siret].id
    open_on_enter(ctx)


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
