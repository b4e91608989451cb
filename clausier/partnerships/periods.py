"""A convention's life on a given date: in force, expired, renewed, terminated.

Pure functions of the convention row and a date, so that coverage on any date (past, today,
the planned consultation) is computed the same way everywhere.
"""

from __future__ import annotations

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from clausier.partnerships.models import Convention, ConventionStatus, Renewal


def period_length(convention: Convention) -> relativedelta:
    """The length of one period: whole months when the first period is (1 Jan–31 Dec is 12)."""
    after = convention.ends_on + timedelta(days=1)
    span = relativedelta(after, convention.starts_on)
    if span.days == 0 and (span.years or span.months):
        return relativedelta(months=span.years * 12 + span.months)
    return relativedelta(days=(after - convention.starts_on).days)


def end_of_period(convention: Convention, index: int) -> date:
    """Last day of the period ``index`` (0 is the first one)."""
    length = period_length(convention)
    return convention.starts_on + length * (index + 1) - timedelta(days=1)


def _period_index_on(convention: Convention, on: date) -> int:
    index = 0
    while end_of_period(convention, index) < on:
        index += 1
    return index


def renewal_cap(convention: Convention) -> date | None:
    """The last day a tacit convention's renewals may reach (``renewal_until``); None when it
    renews on, or when its renewals are explicit (each one granted by the buyer)."""
    return convention.renewal_until if convention.renewal == Renewal.tacit else None


def current_end(convention: Convention, on: date) -> date:
    """When the convention ends, as seen on ``on`` (before any termination): a tacit one at
    the end of the period under way, never after its cap."""
    if convention.renewal == Renewal.tacit:
        cap = renewal_cap(convention)
        if cap is not None and on > cap:
            return cap
        end = end_of_period(convention, _period_index_on(convention, max(on, convention.starts_on)))
        return min(end, cap) if cap is not None else end
    return end_of_period(convention, convention.renewals)


def final_end(convention: Convention, on: date) -> date | None:
    """The day the convention ends unless someone acts, as seen on ``on``: an explicit one at
    the end of its period, a capped tacit one at its cap; None for a tacit one that renews by
    itself (nothing to remind anyone of)."""
    if convention.renewal == Renewal.explicit:
        return current_end(convention, on)
    return renewal_cap(convention)


def status_on(convention: Convention, on: date) -> ConventionStatus:
    if convention.draft:
        return ConventionStatus.draft
    if convention.terminated_on is not None and on >= convention.terminated_on:
        return ConventionStatus.terminated
    end = final_end(convention, on)
    if end is not None and on > end:
        return ConventionStatus.expired
    return ConventionStatus.active


def in_force(convention: Convention, on: date) -> bool:
    return convention.starts_on <= on and status_on(convention, on) == ConventionStatus.active


def last_day_in_force(convention: Convention, on: date) -> date:
    end = current_end(convention, on)
    if convention.terminated_on is not None:
        end = min(end, convention.terminated_on - timedelta(days=1))
    return end


def convention_document(convention: Convention, on: date) -> dict:
    """A convention as the API lists it and its pages show it, on ``on`` (the model:
    ``partnerships.read.Convention``)."""
    return {
        "ref": convention.ref,
        "starts_on": convention.starts_on.isoformat(),
        "renewal": convention.renewal,
        "renewal_until": cap.isoformat() if (cap := renewal_cap(convention)) else None,
        "status": status_on(convention, on).value,
        "in_force_until": last_day_in_force(convention, on).isoformat(),
    }
