from datetime import date

import pytest

from clausier.partnerships import periods
from clausier.partnerships.models import Convention


def convention(**overrides) -> Convention:
    values = dict(
        ref="C",
        buyer_id=1,
        structure_id=1,
        starts_on=date(2026, 1, 1),
        ends_on=date(2026, 12, 31),
        renewal="tacit",
    )
    return Convention(**{**values, **overrides})


@pytest.mark.parametrize(
    ("on", "end"),
    [
        (date(2026, 6, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 12, 31)),
        (date(2030, 12, 31), date(2030, 12, 31)),
    ],
)
def test_a_tacit_convention_runs_period_after_period(on, end):
    assert periods.current_end(convention(), on) == end
    assert periods.status_on(convention(), on) == "active"


def test_periods_of_six_months():
    six = convention(starts_on=date(2026, 3, 15), ends_on=date(2026, 9, 14))
    assert periods.current_end(six, date(2026, 10, 1)) == date(2027, 3, 14)


def test_an_explicit_convention_expires_the_day_after_its_end():
    explicit = convention(renewal="explicit")
    assert periods.in_force(explicit, date(2026, 12, 31))
    assert periods.status_on(explicit, date(2027, 1, 1)) == "expired"
    explicit.renewals = 2
    assert periods.current_end(explicit, date(2027, 1, 1)) == date(2028, 12, 31)


def test_terminated_from_its_date_on_and_never_before_its_start():
    ended = convention(terminated_on=date(2026, 7, 1))
    assert periods.in_force(ended, date(2026, 6, 30))
    assert periods.status_on(ended, date(2026, 7, 1)) == "terminated"
    assert periods.last_day_in_force(ended, date(2026, 6, 1)) == date(2026, 6, 30)
    assert not periods.in_force(convention(), date(2025, 12, 31))


def test_a_draft_is_never_in_force():
    assert periods.status_on(convention(draft=True), date(2026, 6, 1)) == "draft"
    assert not periods.in_force(convention(draft=True), date(2026, 6, 1))
