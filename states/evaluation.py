"""Evaluation: the facilitator writes the report (bilan) of the hours done and follows the
beneficiaries' outcomes six months after the end. ``close`` completes both tasks.

Entering schedules the notice of the shortfall (hours missing, and the penalty) to the buyer,
after the deadline of the last month executed."""

from clausier.tasks.planning import open_on_enter, settle_on_leave
from notifications import schedule
from workflow.context import TransitionContext


def on_enter(ctx: TransitionContext) -> None:
    open_on_enter(ctx)
    ctx.new_reminders.extend(
        schedule.for_evaluation(
            ctx.market, ctx.lots, rules=ctx.settings.reminders, departement=ctx.departement,
            today=ctx.today, declaration_day=ctx.settings.offer.declaration_day,
            settings=ctx.settings.notifications,
        )
    )  # fmt: skip


def on_leave(ctx: TransitionContext) -> None:
    settle_on_leave(ctx)
