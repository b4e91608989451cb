"""The coverage report: each market's coverage, the buyer's conventions, and the gap.

The gap is what a buyer must see to act: the communes where it has markets and no convention,
with the markets affected ("no facilitator, no social clause").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlmodel import Session, select

from clausier.markets.models import Market
from clausier.partners.models import Buyer, Structure
from clausier.partnerships import periods
from clausier.partnerships.assignment import SETTLED_STATES, market_coverage
from clausier.partnerships.coverage import COVERAGE_LABELS, CoverageStatus
from clausier.partnerships.models import (
    CONVENTION_STATUS_LABELS,
    Convention,
    ConventionService,
    ConventionTerritory,
    Service,
)
from clausier.referential.service import territory_name
from workflow.lifecycle import STATE_LABELS


def coverage_report(session: Session, *, today: date, buyer: Buyer | None = None) -> dict[str, Any]:
    buyers = [buyer] if buyer else list(session.exec(select(Buyer).order_by(Buyer.name)).all())
    structures = {s.id: s for s in session.exec(select(Structure)).all()}
    return {
        "on": today.isoformat(),
        "buyers": [_buyer_section(session, b, structures, today) for b in buyers],
    }


def _buyer_section(
    session: Session, buyer: Buyer, structures: dict[int, Structure], today: date
) -> dict:
    conventions = session.exec(
        select(Convention).where(Convention.buyer_id == buyer.id).order_by(Convention.ref)
    ).all()
    services = defaultdict(list)
    for row in session.exec(
        select(ConventionService).where(
            ConventionService.convention_id.in_([c.id for c in conventions])
        )
    ).all():
        services[row.convention_id].append(row.service)
    territories = defaultdict(list)
    for territory in session.exec(
        select(ConventionTerritory).where(
            ConventionTerritory.convention_id.in_([c.id for c in conventions])
        )
    ).all():
        territories[territory.convention_id].append(territory)

    markets_out, gap = [], defaultdict(list)
    markets = session.exec(
        select(Market)
        .where(Market.buyer_id == buyer.id, Market.state.not_in(SETTLED_STATES))
        .order_by(Market.ref)
    ).all()
    for market in markets:
        coverage = market_coverage(session, market, today=today)
        assigned = structures.get(market.structure_id) if market.structure_id else None
        entry = {
            "ref": market.ref,
            "title": market.title,
            "state": market.state,
            "state_label": STATE_LABELS[market.state],
            "commune": coverage.place.code,
            "commune_name": coverage.place.name,
            "on": coverage.on.isoformat(),
            "status": coverage.status.value,
            "label": COVERAGE_LABELS[coverage.status],
            "structure": assigned.ref if assigned else None,
            "structure_name": assigned.name if assigned else None,
            "assignment": market.assignment,
            "candidates": sorted(structures[s].ref for s in coverage.candidate_structures),
            "flag": market.coverage_flag,
        }
        markets_out.append(entry)
        if coverage.status == CoverageStatus.uncovered:
            gap[(coverage.place.code, coverage.place.name, coverage.place.epci_name,
                 coverage.place.departement_code)].append(market.ref)  # fmt: skip

    return {
        "buyer": {"siret": buyer.siret, "name": buyer.name},
        "conventions": [
            {
                "ref": c.ref,
                "structure": structures[c.structure_id].ref,
                "structure_name": structures[c.structure_id].name,
                "status": periods.status_on(c, today).value,
                "status_label": CONVENTION_STATUS_LABELS[periods.status_on(c, today)],
                "renewal": c.renewal,
                "renewal_until": cap.isoformat() if (cap := periods.renewal_cap(c)) else None,
                "starts_on": c.starts_on.isoformat(),
                "in_force_until": periods.last_day_in_force(c, today).isoformat(),
                "services": [s.value for s in Service if s.value in services[c.id]],
                "territories": [
                    {
                        "kind": t.kind,
                        "code": t.code,
                        "name": territory_name(session, t.kind, t.code),
                    }
                    for t in sorted(territories[c.id], key=lambda t: (t.kind, t.code))
                ],
            }
            for c in conventions
        ],
        "markets": markets_out,
        "gap": [
            {"commune": code, "name": name, "epci_name": epci, "departement": dep, "markets": refs}
            for (code, name, epci, dep), refs in sorted(gap.items())
        ],
    }
