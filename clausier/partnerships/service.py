"""What a buyer does with its conventions: renew an explicit one, terminate one.

Each change re-checks the assignment of the buyer's markets in the same transaction, so a
market never keeps a structure through a convention that no longer holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from clausier.auth.models import Role
from clausier.business_days import add_business_days
from clausier.db.locks import locked
from clausier.errors import ConventionRefused, InvalidInput, UnknownRecord
from clausier.formatting import fr_date
from clausier.loading.rows import CONVENTION_YEARS, ConventionRow
from clausier.markets import history
from clausier.markets.models import Market
from clausier.partners.models import Buyer, Structure
from clausier.partnerships import assignment, periods
from clausier.partnerships.models import (
    Convention,
    ConventionService,
    ConventionStatus,
    ConventionTerritory,
    Renewal,
)
from clausier.referential.service import TerritoryIndex, territory_problem
from clausier.validation.messages import french_message


def convention_by_ref(session: Session, ref: str) -> Convention:
    convention = session.exec(select(Convention).where(Convention.ref == ref)).first()
    if convention is None:
        raise UnknownRecord("Convention", ref)
    return convention


@dataclass(frozen=True)
class MarketChange:
    ref: str
    coverage_flag: str | None


def refresh_buyer_markets(
    session: Session, *, buyer_id: int, today: date, actor: str = history.COVERAGE
) -> list[MarketChange]:
    """Re-check the assignment of every live market of a buyer; return those that changed (a
    change of structure logged by ``actor``, whose action made it)."""
    changes = []
    markets = session.exec(
        select(Market).where(
            Market.buyer_id == buyer_id, Market.state.not_in(assignment.SETTLED_STATES)
        )
    ).all()
    for market in markets:
        if assignment.refresh(session, market, today=today, actor=actor).changed:
            changes.append(MarketChange(market.ref, market.coverage_flag))
    return changes


def _locked(session: Session, ref: str) -> Convention:
    """The convention read afresh and locked until the transaction ends: two renewals (or
    terminations) at once take turns, the second deciding on what the first left."""
    convention = convention_by_ref(session, ref)
    return locked(session, Convention, [convention.id])[convention.id]  # type: ignore[return-value]


def renew(
    session: Session,
    ref: str,
    *,
    today: date,
    actor: str = history.COVERAGE,
    expected_renewals: int | None = None,
) -> Convention:
    """Grant one more period to a convention with explicit renewal. ``expected_renewals`` is
    what the person saw (a form's): a renewal granted meanwhile is not granted twice."""
    convention = _locked(session, ref)
    status = periods.status_on(convention, today)
    if convention.renewal == Renewal.tacit and convention.renewal_until is not None:
        raise ConventionRefused(
            f"La convention {ref} se renouvelle tacitement dans la limite du "
            f"{fr_date(convention.renewal_until)} : au-delà, signez une nouvelle convention."
        )
    if convention.renewal == Renewal.tacit:
        raise ConventionRefused(
            f"La convention {ref} se renouvelle tacitement : rien à renouveler. "
            "Pour y mettre fin, résiliez-la à une date."
        )
    if expected_renewals is not None and convention.renewals != expected_renewals:
        raise ConventionRefused(
            f"La convention {ref} vient d'être renouvelée par quelqu'un d'autre : elle est "
            f"désormais en vigueur jusqu'au {fr_date(periods.current_end(convention, today))}. "
            "Rechargez la page avant de la renouveler encore."
        )
    if status == ConventionStatus.terminated:
        raise ConventionRefused(
            f"La convention {ref} a été résiliée à compter du {fr_date(convention.terminated_on)} : "
            "elle ne peut plus être renouvelée ; signez une nouvelle convention."
        )
    if status == ConventionStatus.expired:
        raise ConventionRefused(
            f"La convention {ref} a expiré le {fr_date(periods.current_end(convention, today))} : "
            "elle ne peut plus être renouvelée ; signez une nouvelle convention."
        )
    if status == ConventionStatus.draft:
        raise ConventionRefused(
            f"La convention {ref} est un brouillon : elle n'est pas encore signée."
        )
    convention.renewals += 1
    session.add(convention)
    refresh_buyer_markets(session, buyer_id=convention.buyer_id, today=today, actor=actor)
    return convention


def terminate(
    session: Session, ref: str, *, on: date, today: date, actor: str = history.COVERAGE
) -> list[MarketChange]:
    """End a convention from ``on`` (no longer in force that day)."""
    convention = _locked(session, ref)
    if convention.terminated_on is not None:
        raise ConventionRefused(
            f"La convention {ref} est déjà résiliée à compter du {fr_date(convention.terminated_on)}."
        )
    if on < convention.starts_on:
        raise ConventionRefused(
            f"La date de résiliation {fr_date(on)} précède le début de la convention {ref} "
            f"({fr_date(convention.starts_on)})."
        )
    end = periods.current_end(convention, on)
    if periods.final_end(convention, on) is not None and on > end + timedelta(days=1):
        raise ConventionRefused(
            f"La convention {ref} a expiré le {fr_date(end)} : elle n'est plus à résilier."
        )
    convention.terminated_on = on
    session.add(convention)
    return refresh_buyer_markets(session, buyer_id=convention.buyer_id, today=today, actor=actor)


# --- a new convention -------------------------------------------------------------------------

YEARS = CONVENTION_YEARS  # a convention's dates (the row's rule, a load file's as a form's)

# the load file's names of a convention's fields, which the problems below are keyed by
FIELDS = ("ref", "buyer", "structure", "starts_on", "ends_on", "renewal", "renewal_until",
          "territories", "services", "hourly_cost", "insertion_rate", "penalty_per_hour")  # fmt: skip


def convention_problems(
    session: Session, raw: Mapping[str, Any]
) -> tuple[ConventionRow | None, list[tuple[str, str]]]:
    """A new convention as a load file's record (its buyer's SIRET, its structure's ref, its
    territories' official codes): the row, or the problems by field, in French. The rules are
    the loader's (``loading.rows.ConventionRow``, known buyer, structure and territories), and a
    reference already taken."""
    problems: list[tuple[str, str]] = []
    row = None
    try:
        row = ConventionRow.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            message = french_message(error)
            if not field:  # a check across fields names its field first: « ends_on : … »
                field, _, message = message.partition(" : ")
            problems.append((field, message))
    wrong = {field for field, _message in problems}
    checks = (
        ("ref", select(Convention.id).where(Convention.ref == raw.get("ref")), True,
         "la référence {} est déjà celle d'une convention"),
        ("buyer", select(Buyer.id).where(Buyer.siret == raw.get("buyer")), False,
         "acheteur inconnu (SIRET {})"),
        ("structure", select(Structure.id).where(Structure.ref == raw.get("structure")), False,
         "structure inconnue « {} »"),
    )  # fmt: skip
    for field, query, refused_if_found, message in checks:
        if field in wrong or not raw.get(field):
            continue
        if (session.exec(query).first() is not None) == refused_if_found:
            problems.append((field, message.format(raw[field])))
    if "territories" not in wrong:
        index = TerritoryIndex(session)
        for code in raw.get("territories") or ():
            problem = territory_problem(index, code)  # the loader's check
            if problem:
                problems.append(("territories", problem))
    return (row if not problems else None), problems


def create(
    session: Session, raw: Mapping[str, Any], *, today: date, actor: str = history.COVERAGE
) -> Convention:
    """Write a new convention (``convention_problems``' rules) and re-check the assignment of
    its buyer's markets, as a load does. A reference taken meanwhile by another writer is
    refused, never a second convention."""
    row, problems = convention_problems(session, raw)
    if row is None:
        raise InvalidInput(" ; ".join(f"{field} : {message}" for field, message in problems))
    buyer = session.exec(select(Buyer).where(Buyer.siret == row.buyer)).one()
    structure = session.exec(select(Structure).where(Structure.ref == row.structure)).one()
    index = TerritoryIndex(session)
    convention = Convention(
        ref=row.ref, buyer_id=buyer.id, structure_id=structure.id, starts_on=row.starts_on,
        ends_on=row.ends_on, renewal=row.renewal.value, renewal_until=row.renewal_until,
        draft=row.draft,
        hourly_cost=row.hourly_cost, insertion_rate=row.insertion_rate,
        penalty_per_hour=row.penalty_per_hour,
    )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(convention)
            session.flush()
    except IntegrityError:
        raise ConventionRefused(
            f"La référence {row.ref} vient d'être donnée à une autre convention : "
            "choisissez-en une autre."
        ) from None
    session.add_all(
        ConventionTerritory(convention_id=convention.id, kind=index.kind_of(code), code=code)
        for code in sorted(set(row.territories))
    )
    session.add_all(
        ConventionService(convention_id=convention.id, service=service.value)
        for service in sorted(set(row.services))
    )
    session.flush()
    refresh_buyer_markets(session, buyer_id=buyer.id, today=today, actor=actor)
    return convention


_NUMBERED = re.compile(r"^CONV-(\d{4})-(\d+)$")


def next_ref(session: Session, year: int) -> str:
    """The next free reference of the year, as the example's: CONV-2027-003."""
    taken = session.exec(select(Convention.ref).where(Convention.ref.like(f"CONV-{year}-%"))).all()
    numbers = [int(m[2]) for ref in taken if (m := _NUMBERED.match(ref))]
    return f"CONV-{year}-{max(numbers, default=0) + 1:03d}"


# --- the conventions to renew -----------------------------------------------------------------

# whose reminder rule says when a convention is « to renew », by the reader's role
_RECIPIENT = {Role.buyer: "buyer", Role.facilitator: "structure"}


def recipient_for(role: Role) -> str:
    """The reminder's recipient a role reads as (an operator reads as the buyer)."""
    return _RECIPIENT.get(role, "buyer")


def notice_from(end: date, rules: Mapping[str, Any], recipient: str) -> date | None:
    """The first day the convention reminders (``reminders:`` rules that follow a convention)
    speak to ``recipient`` of an end on ``end``; any convention rule's if none is addressed to
    it; None when no rule follows conventions at all."""
    following = [rule for rule in rules.values() if rule.follows == "convention"]
    chosen = [rule for rule in following if rule.to == recipient] or following
    days = [
        add_business_days(
            end - timedelta(weeks=rule.before_weeks or 0), -(rule.before_business_days or 0), None
        )
        for rule in chosen
        if rule.after_business_days is None
    ]
    return min(days, default=None)


def to_renew(
    convention: Convention, *, today: date, rules: Mapping[str, Any], recipient: str
) -> bool:
    """A convention in force, not terminated, that ends unless someone acts (explicit, or
    tacit up to its cap: ``periods.final_end``) and whose end its reminder already speaks of:
    the one place the coverage page and the home pages decide it."""
    if convention.terminated_on is not None or not periods.in_force(convention, today):
        return False
    end = periods.final_end(convention, today)
    if end is None:
        return False
    start = notice_from(end, rules, recipient)
    return start is not None and start <= today


def conventions_to_renew(
    session: Session, *, today: date, rules: Mapping[str, Any], recipient: str, within
) -> list[Convention]:
    """The conventions ``within`` reach (a scope's condition) to renew, soonest end first."""
    rows = session.exec(
        select(Convention).where(
            within,
            (Convention.renewal == Renewal.explicit) | Convention.renewal_until.is_not(None),
            Convention.terminated_on.is_(None),
        )
    ).all()
    chosen = [c for c in rows if to_renew(c, today=today, rules=rules, recipient=recipient)]
    return sorted(chosen, key=lambda c: (periods.final_end(c, today), c.ref))
