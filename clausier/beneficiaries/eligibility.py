"""Eligibility in time: which months of a person's hours count, and which age band a public says.

DOMAIN.md, « Eligible publics »: a facilitator checks each criterion of a person on a date, and
a check holds for the validity of its public (``config.eligibility``: an IAE eligibility
diagnosis 6 months, a PASS IAE 24 months…). A month of hours counts when some check covers it:

- the check was made on or before the month's last day (hours are declared by month: the month
  of the check counts, the months before it do not);
- its validity — from the check's day, so many months, the day before the same date — has not
  lapsed before the month's first day.

A renewed check is a new row (``BeneficiaryCriterion``): the months the earlier check covered
stay covered. The refusal names the dates, never the public (a contractor reads it, and a
person's criteria are not a contractor's business).

A public implies an age band where it says so: *jeune* under 26, *senior* 50 or over.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dateutil.relativedelta import relativedelta
from sqlmodel import Session, select

from clausier.beneficiaries.models import BeneficiaryCriterion
from clausier.beneficiaries.vocabulary import AGE_BANDS, PUBLICS
from clausier.config import EligibilitySettings
from clausier.formatting import fr_date, fr_month

# the age band a public implies (DOMAIN.md); the other publics say nothing of age
AGE_BAND_OF_PUBLIC = {"jeune": "under_26", "senior": "50_plus"}


@dataclass(frozen=True)
class Check:
    """One check of one criterion, as the rule weighs it."""

    public: str
    checked_on: date
    pass_iae: bool = False


def validity_months(check: Check, settings: EligibilitySettings) -> int:
    if check.public == "siae" and check.pass_iae:
        return settings.pass_iae_months
    return settings.validity_months[check.public]


def valid_until(check: Check, settings: EligibilitySettings) -> date:
    """The last day the check holds: checked on 20 March, 6 months: until 19 September."""
    return check.checked_on + relativedelta(months=validity_months(check, settings), days=-1)


def covers(check: Check, month: date, settings: EligibilitySettings) -> bool:
    """Whether ``check`` counts the hours of ``month`` (its first day)."""
    last = month + relativedelta(months=1, days=-1)
    return check.checked_on <= last and valid_until(check, settings) >= month


def month_problem(
    code: str, checks: Iterable[Check], month: date, settings: EligibilitySettings
) -> str | None:
    """Why the hours of ``month`` (its first day) of person ``code`` do not count, in French
    naming the dates; None when some check covers the month."""
    checks = sorted(checks, key=lambda check: check.checked_on)
    if any(covers(check, month, settings) for check in checks):
        return None
    label = fr_month(month)
    if not checks:
        return f"{code} : aucune vérification d'éligibilité n'est enregistrée, ses heures ne comptent pas"  # fmt: skip
    last = month + relativedelta(months=1, days=-1)
    before = [check for check in checks if check.checked_on <= last]
    if not before:
        first = checks[0].checked_on
        return (
            f"{code} : son éligibilité a été vérifiée le {fr_date(first)}, ses heures comptent à "
            f"partir de {fr_month(first.replace(day=1))} : pas celles de {label}"
        )
    latest = max(before, key=lambda check: valid_until(check, settings))
    until = valid_until(latest, settings)
    after = [check for check in checks if check.checked_on > last]
    then = (
        f" ; la vérification suivante date du {fr_date(after[0].checked_on)}"
        if after
        else " ; le facilitateur enregistre une nouvelle vérification pour que ses heures comptent à nouveau"
    )  # fmt: skip
    return (
        f"{code} : la vérification de son éligibilité du {fr_date(latest.checked_on)} valait "
        f"jusqu'au {fr_date(until)}, ses heures de {label} ne comptent pas{then}"
    )


def age_band_problem(publics: Iterable[str], age_band: str) -> str | None:
    """Why these publics and this age band disagree (jeune: under 26; senior: 50 or over)."""
    for public in publics:
        implied = AGE_BAND_OF_PUBLIC.get(public)
        if implied is not None and age_band in AGE_BANDS and age_band != implied:
            return (
                f"le public « {PUBLICS[public]} » suppose la tranche d'âge "
                f"« {AGE_BANDS[implied]} », pas « {AGE_BANDS[age_band]} »"
            )
    return None


def checks_of(session: Session, beneficiary_ids: Iterable[int]) -> dict[int, list[Check]]:
    """Every check of each person, in one query."""
    ids = sorted(set(beneficiary_ids))
    found: dict[int, list[Check]] = defaultdict(list)
    if not ids:
        return found
    rows = session.exec(
        select(BeneficiaryCriterion).where(BeneficiaryCriterion.beneficiary_id.in_(ids))
    ).all()
    for row in rows:
        found[row.beneficiary_id].append(Check(row.public, row.checked_on, row.pass_iae))
    return found
