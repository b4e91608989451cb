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


def current_end(convention: Convention, on: date) -> date:
    """When the convention ends, as seen on ``on`` (before any termination)."""
    if convention.renewal == Renewal.tacit:
        return end_of_period(
            convention, _period_index_on(convention, max(on, convention.starts_on))
        )
    return end_of_period(convention, convention.renewals)


def status_on(convention: Convention, on: date) -> ConventionStatus:
    if convention.draft:
        return ConventionStatus.draft
    if convention.terminated_on is not None and on >= convention.terminated_on:
        return ConventionStatus.terminated
    if convention.renewal == Renewal.explicit and on > current_end(convention, on):
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
        "status": status_on(convention, on).value,
        "in_force_until": last_day_in_force(convention, on).isoformat(),
    }
