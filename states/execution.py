"""Execution: the contractors carry out the works and the insertion hours.

Entering records the contractor of each lot named by the award, opens the start-up meeting and
the presentation of candidates, and schedules the monthly declaration reminders and the warning
before the end of execution; leaving stops them.
"""

from clausier.declarations.service import declarable_after
from clausier.tasks.planning import open_on_enter, settle_on_leave
from notifications import schedule
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    for lot in ctx.lots:
        siret = ctx.payload.contractors.get(lot.number)
        if siret is not None:
            lot.contractor_id = ctx.contractors[siret].id
    open_on_enter(ctx)
    ctx.new_reminders.extend(
        schedule.for_execution(
            ctx.market,
            ctx.lots,
            rules=ctx.settings.reminders,
            departement=ctx.departement,
            today=ctx.today,
            declaration_day=ctx.settings.offer.declaration_day,
            settings=ctx.settings.notifications,
        )
    )


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
    ctx.stop_following.update({"declaration", "execution_end"})
    # the months executed stay declarable until their deadline: their reminders go on
    ctx.keep_periods = set(
        declarable_after(
            ctx.market, completed=ctx.today, today=ctx.today,
            declaration_day=ctx.settings.offer.declaration_day, departement=ctx.departement,
        )
    )  # fmt: skip
