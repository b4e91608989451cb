"""What a guard and a state callback see of a transition: the market, its lots, the parsed
payload and the clock's reading. Callbacks change these objects in memory only; the engine
writes them, with the state and the log row, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clausier.markets.models import Lot, Market
from clausier.partners.models import Contractor
from clausier.tasks.models import Task

if TYPE_CHECKING:
    from clausier.config import Settings, TaskKind
    from clausier.partnerships.coverage import Coverage


@dataclass
class TransitionContext:
    market: Market
    lots: list[Lot]
    trigger: str
    source: str
    dest: str
    actor: str
    # the trigger's payload model (workflow.payloads); None while weighing the triggers possible
    # now, before the caller gives any data (workflow.possible)
    payload: Any
    at: datetime
    today: date
    # contractors named by the payload, by SIRET (found in the store beforehand)
    contractors: dict[str, Contractor] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
    # tasks: the kinds configured, the market's open tasks, those the transition opens
    task_kinds: dict[str, TaskKind] = field(default_factory=dict)
    due_time: time = time(18, 0)
    departement: str | None = None
    coverage: Coverage | None = None  # who covers the place on the relevant date (for the reasons)
    open_tasks: list[Task] = field(default_factory=list)
    new_tasks: list[Task] = field(default_factory=list)
    # the services of the convention that assigned the market (None: none to ask): a task of a
    # service it lacks is the buyer's (tasks.planning.holder)
    convention_services: frozenset[str] | None = None
    # reminders: the rules, those the transition schedules, what it stops following
    settings: Settings | None = None
    new_reminders: list[dict] = field(default_factory=list)  # reminder rows (schedule.row)
    stop_following: set[str] = field(default_factory=set)  # e.g. {"declaration", "execution_end"}
    # the months whose declaration reminders go on though "declaration" is stopped (YYYY-MM):
    # executed, and still declarable until their deadline once the market left execution
    keep_periods: set[str] = field(default_factory=set)
    # the evaluation: beneficiaries with validated hours and no outcome recorded (for close)
    missing_outcomes: list[str] = field(default_factory=list)
    # what else close waits for: outcomes recorded before their date without a reason (codes),
    # lines still to review (lot number, month YYYY-MM, hours), months not declared and still
    # declarable (lot number, month, deadline)
    early_outcomes: list[str] = field(default_factory=list)
    to_review: list[tuple[int, str, Decimal]] = field(default_factory=list)
    undeclared: list[tuple[int, str, date]] = field(default_factory=list)
