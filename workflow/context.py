"""What a guard and a state callback see of a transition: the market, its lots, the parsed
payload and the clock's reading. Callbacks change these objects in memory only; the engine
writes them, with the state and the log row, in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from clausier.markets.models import Lot, Market
from clausier.partners.models import Contractor


@dataclass
class TransitionContext:
    market: Market
    lots: list[Lot]
    trigger: str
    actor: str
    payload: Any  # the trigger's payload model (workflow.payloads)
    at: datetime
    today: date
    # contractors named by the payload, by SIRET (found in the store beforehand)
    contractors: dict[str, Contractor] = field(default_factory=dict)
    refusals: list[str] = field(default_factory=list)
