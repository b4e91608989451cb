"""Erasing beneficiaries' personal data once the retention period has passed (RGPD).

A person's name (and the free-text reasons of a case-by-case eligibility, which may describe
them) is erased when every market where the person has hours was closed before the date given;
someone still working on a live market, or on one closed later, keeps it. A person registered
and never declared on any lot is erased after the same period from registration: registered
before the date. The pseudonymous record (code, criteria, sex, age band, dates), the hours and
the outcomes stay: the statistics do not change.

The date is checked here, for every caller: a date to come, or one that would reach markets
closed within the retention period (``beneficiaries.retention_months``), is refused; without a
date, the command takes the latest one the period allows (``latest_date``). A dry run goes
through the same selection and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta
from sqlalchemy import exists, func
from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion
from clausier.declarations.models import DeclarationLine
from clausier.errors import InvalidInput, Refused
from clausier.markets.history import enters_state
from clausier.markets.models import Lot, Market, TransitionLog


@dataclass
class PurgeReport:
    closed_before: date
    markets: list[str] = field(default_factory=list)  # closed before the date
    erased: list[str] = field(default_factory=list)  # codes whose name or reason was erased
    kept: list[str] = field(default_factory=list)  # codes still needed by a later market
    # codes registered before the date and never declared, whose name or reason was erased
    never_declared: list[str] = field(default_factory=list)
    dry_run: bool = False  # ``erased`` then lists what a real run would erase

    @property
    def people(self) -> int:
        """How many persons are (or would be) erased."""
        return len(self.erased) + len(self.never_declared)

    def as_dict(self) -> dict:
        return {
            "closed_before": self.closed_before.isoformat(),
            "dry_run": self.dry_run,
            "markets": self.markets,
            "erased": self.erased,
            "kept": self.kept,
            "never_declared": self.never_declared,
        }


def latest_date(*, today: date, retention_months: int) -> date:
    """The latest date the retention period lets a purge reach: markets closed (and persons
    never declared registered) before it."""
    return today - relativedelta(months=retention_months)


def check_date(closed_before: date, *, today: date, retention_months: int) -> None:
    """Refuse a date that would erase what must still be kept (or that has not come yet)."""
    if closed_before > today:
        raise InvalidInput(
            f"Le {closed_before:%d/%m/%Y} est dans le futur (nous sommes le {today:%d/%m/%Y}) : "
            "seules les données de marchés déjà clos peuvent être effacées."
        )
    latest = latest_date(today=today, retention_months=retention_months)  # since: still kept
    if closed_before > latest:
        raise Refused(
            f"Effacement refusé : les noms des bénéficiaires sont conservés {retention_months} mois "
            f"après la clôture du marché (beneficiaries.retention_months) ; les marchés clos "
            f"depuis le {latest:%d/%m/%Y} sont encore dans ce délai. Choisissez une date au plus "
            f"tard le {latest:%d/%m/%Y}."
        )


def purge(
    session: Session,
    *,
    closed_before: date,
    today: date,
    now: datetime,
    retention_months: int,
    dry_run: bool = False,
) -> PurgeReport:
    """Erase what the retention period no longer allows (``dry_run``: only say it); the caller
    commits."""
    check_date(closed_before, today=today, retention_months=retention_months)
    report = PurgeReport(closed_before, dry_run=dry_run)
    limit = datetime.combine(closed_before, time.min, tzinfo=UTC)
    closed_on = (
        select(TransitionLog.market_id, func.max(TransitionLog.at).label("at"))
        .where(TransitionLog.to_state == "closed", enters_state())  # an edit closes nothing
        .group_by(TransitionLog.market_id)
        .subquery()
    )
    old = session.exec(
        select(Market.id, Market.ref)
        .join(closed_on, closed_on.c.market_id == Market.id)
        .where(Market.state == "closed", closed_on.c.at < limit)
        .order_by(Market.ref)
    ).all()
    old_ids = {market_id for market_id, _ref in old}
    report.markets = [ref for _id, ref in old]
    worked = session.exec(
        select(DeclarationLine.beneficiary_id, Lot.market_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .where(DeclarationLine.beneficiary_id.is_not(None))  # an invoice line names no one
        .distinct()
    ).all() if old_ids else []  # fmt: skip
    markets_of: dict[int, set[int]] = {}
    for beneficiary_id, market_id in worked:
        markets_of.setdefault(beneficiary_id, set()).add(market_id)
    candidates = [b for b, markets in markets_of.items() if markets & old_ids]
    people = session.exec(
        select(Beneficiary).where(Beneficiary.id.in_(candidates)).order_by(Beneficiary.code)
    ).all()
    reasons = _reasons_of(session, [person.id for person in people])
    for person in people:
        personal = person.name is not None or bool(reasons.get(person.id))
        if not markets_of[person.id] <= old_ids:
            if personal:
                report.kept.append(person.code)
            continue
        if personal:  # else already erased
            report.erased.append(person.code)
    # registered before the date and never declared on any lot: the same period, from registration
    idle = session.exec(
        select(Beneficiary)
        .where(
            Beneficiary.created_at < limit,
            ~exists().where(DeclarationLine.beneficiary_id == Beneficiary.id),
        )
        .order_by(Beneficiary.code)
    ).all()
    reasons |= _reasons_of(session, [person.id for person in idle])
    report.never_declared = [
        person.code for person in idle if person.name is not None or reasons.get(person.id)
    ]
    if dry_run:
        return report
    chosen = set(report.erased) | set(report.never_declared)
    for person in [*people, *idle]:
        if person.code not in chosen:
            continue
        person.name, person.purged_at = None, now
        session.add(person)
        for criterion in reasons.get(person.id, ()):
            criterion.reason = None
            session.add(criterion)
    session.flush()
    return report


def _reasons_of(session: Session, ids: list[int]) -> dict[int, list[BeneficiaryCriterion]]:
    """The criteria of these persons that still carry a case-by-case reason, by person."""
    if not ids:
        return {}
    found: dict[int, list[BeneficiaryCriterion]] = {}
    for criterion in session.exec(
        select(BeneficiaryCriterion).where(
            BeneficiaryCriterion.beneficiary_id.in_(ids), BeneficiaryCriterion.reason.is_not(None)
        )
    ):
        found.setdefault(criterion.beneficiary_id, []).append(criterion)
    return found
