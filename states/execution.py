"""Execution: the contractors of the lots carry out the works and the insertion hours."""

from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    """The award names the contractor of each lot (payload ``contractors``)."""
    for lot in ctx.lots:
        siret = ctx.payload.contractors.get(lot.number)
        if siret is not None:
            lot.contractor_id = ctx.contractors[siret].id
