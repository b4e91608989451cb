"""Whatever the sequence of triggers, a market's log agrees with its state."""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from clausier.errors import ClausierError
from clausier.markets.models import Market, TransitionLog
from tests import factories as make
from workflow.engine import fire
from workflow.lifecycle import TRIGGERS

PAYLOADS = st.sampled_from(
    [
        None,
        {"reason": "motif du test"},
        {"unsuccessful": True, "reason": "aucune offre"},
        {"evaluation": "Bilan du test"},
        {"contractors": {"1": "CONTRACTOR"}},
        {"contractors": {"1": "12345678901234"}},
        {"unexpected": 1},
    ]
)
STEPS = st.lists(
    st.tuples(st.sampled_from([*sorted(TRIGGERS), "nonsense"]), PAYLOADS, st.booleans()),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, hours=st.sampled_from([0, 35, 700]))
def test_the_log_never_disagrees_with_the_state(store, steps, hours):
    with store.session() as session:
        buyer = make.buyer(session)
        make.convention(session, buyer=buyer, structure=make.structure(session))
        winner = make.contractor(session)
        market = make.market(
            session, buyer=buyer, lots=1, hours=hours, execution_ends_on=date(2026, 1, 31)
        )
        session.commit()
        for trigger, payload, commit in steps:
            if payload and "contractors" in payload and payload["contractors"]["1"] == "CONTRACTOR":
                payload = {"contractors": {"1": winner.siret}}
            try:
                fire(session, ref=market.ref, trigger=trigger, actor="hypothesis", data=payload)
            except ClausierError:
                session.rollback()
                continue
            if commit:
                session.commit()
            else:
                session.rollback()

        session.expire_all()
        row = session.get(Market, market.id)
        log = session.exec(
            select(TransitionLog)
            .where(TransitionLog.market_id == market.id)
            .order_by(TransitionLog.id)
        ).all()
        assert log[-1].to_state == row.state
        assert row.version == len(log)
        for before, after in itertools.pairwise(log):
            assert after.from_state == before.to_state
            assert TRIGGERS[after.trigger].dest == after.to_state
            assert after.from_state in TRIGGERS[after.trigger].sources
