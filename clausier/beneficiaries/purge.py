"""Erasing beneficiaries' personal data once the retention period has passed (RGPD).

A person's name (and the free-text reason of a case-by-case eligibility, which may describe
them) is erased when every market where the person has hours was closed before the date given;
someone still working on a live market, or on one closed later, keeps it. The pseudonymous
record (code, public, sex, age band, dates), the hours and the outcomes stay: the statistics
do not change.

The date is checked here, for every caller: a date to come, or one that would reach markets
closed within the retention period (``beneficiaries.retention_months``), is refused. A dry run
goes through the same selection and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from dateutil.relativedelta import relativedelta
from sqlalchemy import func
from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary
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
    dry_run: bool = False  # ``erased`` then lists what a real run would erase

    def as_dict(self) -> dict:
        return {
            "closed_before": self.closed_before.isoformat(),
            "dry_run": self.dry_run,
            "markets": self.markets,
            "erased": self.erased,
            "kept": self.kept,
        }


def check_date(closed_before: date, *, today: date, retention_months: int) -> None:
    """Refuse a date that would erase what must still be kept (or that has not come yet)."""
    if closed_before > today:
        raise InvalidInput(
            f"Le {closed_before:%d/%m/%Y} est dans le futur (nous sommes le {today:%d/%m/%Y}) : "
            "seules les données de marchés déjà clos peuvent être effacées."
        )
    latest = today - relativedelta(months=retention_months)  # closed since then: still kept
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
    if not old_ids:
        return report
    worked = session.exec(
        select(DeclarationLine.beneficiary_id, Lot.market_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .distinct()
    ).all()
    markets_of: dict[int, set[int]] = {}
    for beneficiary_id, market_id in worked:
        markets_of.setdefault(beneficiary_id, set()).add(market_id)
    candidates = [b for b, markets in markets_of.items() if markets & old_ids]
    people = session.exec(
        select(Beneficiary).where(Beneficiary.id.in_(candidates)).order_by(Beneficiary.code)
    ).all()
    for person in people:
        if not markets_of[person.id] <= old_ids:
            if person.name or person.public_reason:
                report.kept.append(person.code)
            continue
        if person.name is None and person.public_reason is None:
            continue  # already erased
        report.erased.append(person.code)
        if dry_run:
            continue
        person.name, person.public_reason, person.purged_at = None, None, now
        session.add(person)
    session.flush()
    return report
