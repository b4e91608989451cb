"""A caller's statements are built once: the status lookup built its queue and reminders
statements, and their cache keys, on every request (docs/performance.md, throughput)."""

from __future__ import annotations

from sqlmodel import select

from clausier.auth.models import Role
from clausier.auth.scope import market_condition, reminder_condition, task_condition
from clausier.auth.tokens import Principal
from clausier.db import statements
from clausier.db.statements import narrowed
from clausier.markets.models import Market


def test_the_same_caller_gets_the_same_conditions_and_statements_another_its_own():
    base = select(Market.id)
    buyer = Principal(role=Role.buyer, org_id=7, token_id=1, label="Région")
    again = Principal(role=Role.buyer, org_id=7, token_id=2, label="Région, autre jeton")
    other = Principal(role=Role.buyer, org_id=8, token_id=3, label="Ville")
    for condition in (market_condition, task_condition, reminder_condition):
        assert condition(buyer) is condition(again)
    assert narrowed(base, market_condition(buyer)) is narrowed(base, market_condition(again))
    mine, theirs = narrowed(base, market_condition(buyer)), narrowed(base, market_condition(other))
    assert mine is not theirs
    assert "market.buyer_id = :buyer_id_1" in str(mine)
    assert mine.compile().params == {"buyer_id_1": 7}
    assert theirs.compile().params == {"buyer_id_1": 8}
    assert narrowed(base, None) is base


def test_the_memo_is_bounded():
    base = select(Market.id)
    conditions = [Market.buyer_id == n for n in range(statements._LIMIT + 10)]
    for condition in conditions:
        narrowed(base, condition)
    assert len(statements._memo) <= statements._LIMIT
    assert narrowed(base, conditions[-1]) is narrowed(base, conditions[-1])
