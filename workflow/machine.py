"""The one ``transitions`` machine of the process, built from ``workflow.lifecycle``.

One machine serves every market: the engine attaches a small ``MarketToken`` (holding only the
state) for the time of one trigger, because the library's attributes cannot live on a SQLModel
row. The machine has no I/O: guards read the context, callbacks change objects in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache

from transitions import EventData, Machine

import states
from workflow.context import TransitionContext
from workflow.lifecycle import STATES, TRANSITIONS


class MarketToken:
    """What the machine drives: a market's state, for the time of one trigger."""

    def __init__(self, state: str):
        self.state = state


def _condition(guard: Callable[[TransitionContext], list[str]]) -> Callable[[EventData], bool]:
    def check(event: EventData) -> bool:
        ctx: TransitionContext = event.kwargs["ctx"]
        ctx.refusals.extend(guard(ctx))
        return not ctx.refusals

    return check


def _callback(function: Callable[[TransitionContext], None]) -> Callable[[EventData], None]:
    def call(event: EventData) -> None:
        function(event.kwargs["ctx"])

    return call


def _state_config(name: str) -> dict:
    module = states.BY_NAME[name]
    config: dict = {"name": name}
    if hasattr(module, "on_enter"):
        config["on_enter"] = [_callback(module.on_enter)]
    if hasattr(module, "on_leave"):
        config["on_exit"] = [_callback(module.on_leave)]
    return config


@cache
def machine() -> Machine:
    return Machine(
        model=None,
        states=[_state_config(state.name) for state in STATES],
        transitions=[
            {
                "trigger": spec.trigger,
                "source": list(spec.sources),
                "dest": spec.dest,
                "conditions": [_condition(spec.guard)],
            }
            for spec in TRANSITIONS
        ],
        initial=STATES[0].name,
        auto_transitions=False,
        send_event=True,
    )


# add_model/remove_model change the machine's list of models: one at a time per process.
_attach = threading.Lock()


def run(trigger: str, ctx: TransitionContext) -> str | None:
    """Fire ``trigger`` from the market's state; the new state, or None if a guard refused."""
    token = MarketToken(ctx.market.state)
    shared = machine()
    with _attach:
        shared.add_model(token, initial=ctx.market.state)
    try:
        moved = token.trigger(trigger, ctx=ctx)
    finally:
        with _attach:
            shared.remove_model(token)
    return token.state if moved else None
