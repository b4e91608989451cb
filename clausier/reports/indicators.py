"""The indicators of DOMAIN.md for one scope and one calendar year Y.

Every figure is defined so that a buyer can recount it by hand from the markets, the lots and
the reviewed declaration lines:

- **Scope**: a buyer (its markets), a structure (the markets it follows, ``Market.structure_id``),
  a territory (the markets executed in a commune, in the communes of an EPCI, or of a
  département, from the official tables), one market, or everything an operator sees. A caller
  may narrow it further to what a person may see (``within``).
- **Markets in the report**: markets of the scope in ``execution``, ``evaluation`` or ``closed``
  whose execution period (``execution_starts_on`` to ``execution_ends_on``, both included)
  meets year Y; markets without both dates are left out. **Clause lots**: their lots with
  ``hours`` > 0.
- **Hours planned for Y**, per clause lot: ``hours × days of the execution period in Y ÷ days
  of the execution period`` (days counted inclusively), rounded half up to the hundredth; a
  market's and the report's planned hours are the sums of the lots' rounded figures. The lot's
  whole target (``hours``) is shown beside it.
- **Hours validated in Y**: the sum of the ``validated`` declaration lines of those lots whose
  month (``period``, YYYY-MM) falls in Y. Submitted and rejected lines never count.
- **Rate of achievement**: validated ÷ planned, rounded half up to 1/10 000 (None when nothing
  is planned).
- **Beneficiaries**: the distinct people with at least one validated line in Y on those lots.
  A person is counted once in the report's total, once in each market where they worked, and
  once under each modality or contract type they worked in (so these splits may add up to more
  than the total); a person is counted once under each eligibility criterion they meet (an RSA
  recipient living in a QPV under both, so the split by public may add up to more than the
  total, its hours too); the splits by sex and age band add up to the total. Each split also
  gives the validated hours; a line without a contract type counts as ``unspecified``.
- **QPV share** of an urban-renewal market (ANRU / NPNRU, ``Market.qpv_target`` set): the hours
  validated in Y of the people with a QPV criterion ÷ the hours validated in Y on the market,
  beside its target. A
  subcontract counted by its invoice names no person: its hours count in the hours, by
  modality and by body kind, never among the people.
- **Bodies**: validated hours by kind of body (ETTI, AI, GEIQ, temp agency; EI, ACI, EA, ESAT;
  a line without one — a direct hire, a training — as ``unspecified``); the **integration
  share** is the hours through an integration structure (EI, ACI, ETTI, AI, GEIQ) ÷ the hours
  validated.
- **Months**: validated hours per month of Y, their running total, and the planned hours
  prorated the same way up to the end of each month (December's equals the hours planned).
- **Outcomes**: for the markets of the report in ``evaluation`` or ``closed``, one per market
  and person concerned (validated hours on the market, or an outcome recorded there), counted
  by outcome, a person without one as ``unknown`` (never left out of the denominator); the
  positive rate is the IAE's *sorties dynamiques* (durable employment, transition employment,
  positive exit) ÷ every person concerned.

The report is pseudonymous by construction: it holds counts and hours, never a person's name
nor even their code. All sums are ``GROUP BY`` queries over the markets of the report (a dozen
queries whatever the number of lines).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import ColumnElement, and_, func, true
from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion, Outcome
from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    BODY_KINDS,
    CONTRACT_TYPES,
    INTEGRATION_KINDS,
    MODALITY_SHORT_LABELS,
    OUTCOMES,
    POSITIVE_OUTCOMES,
    PUBLICS,
    SEXES,
)
from clausier.config import get_settings
from clausier.declarations.models import DeclarationLine, LineStatus
from clausier.declarations.proration import days_between, prorated
from clausier.declarations.shortfall import Shortfall, at_end
from clausier.errors import UnknownTerritory
from clausier.formatting import MONTHS
from clausier.markets.models import Lot, Market
from clausier.offers.instruments import EXECUTION_CONDITION, named
from clausier.partners.lookup import buyer_named, structure_named
from clausier.partners.models import Buyer, Contractor, Structure
from clausier.referential.models import Commune
from clausier.referential.service import territory_name
from clausier.validation.identifiers import territory_kind_of
from workflow.engine import market_by_ref
from workflow.lifecycle import STATE_LABELS

REPORTED_STATES = ("execution", "evaluation", "closed")
EVALUATED_STATES = ("evaluation", "closed")
UNSPECIFIED = "unspecified"
CENT = Decimal("0.01")
RATE_STEP = Decimal("0.0001")

SCOPE_KINDS = ("buyer", "structure", "territory", "market")
SCOPE_KIND_LABELS = {
    "buyer": "Acheteur",
    "structure": "Structure",
    "territory": "Territoire",
    "market": "Marché",
    "all": "Ensemble",
}
TERRITORY_KIND_LABELS = {"commune": "commune", "epci": "EPCI", "departement": "département"}


@dataclass(frozen=True)
class Scope:
    kind: str  # buyer | structure | territory | market | all
    key: str  # SIRET, structure ref, INSEE code, market ref; "tout" for all
    label: str  # what people read: the buyer's name, « Manche (département 50) »…
    id: int | None = None  # buyer, structure or market id
    territory_kind: str | None = None  # commune | epci | departement

    @property
    def kind_label(self) -> str:
        return SCOPE_KIND_LABELS[self.kind]

    def condition(self) -> ColumnElement:
        """The markets of the scope, as a condition on ``Market``."""
        if self.kind == "buyer":
            return Market.buyer_id == self.id
        if self.kind == "structure":
            return Market.structure_id == self.id
        if self.kind == "market":
            return Market.id == self.id
        if self.kind == "territory":
            if self.territory_kind == "commune":
                return Market.commune_code == self.key
            column = (
                Commune.epci_code if self.territory_kind == "epci" else Commune.departement_code
            )
            return Market.commune_code.in_(select(Commune.code).where(column == self.key))
        return true()

    def as_dict(self) -> dict:
        return {"kind": self.kind, "key": self.key, "label": self.label,
                "territory_kind": self.territory_kind}  # fmt: skip


def resolve_scope(
    session: Session, kind: str, key: str, *, reach: ColumnElement | None = None
) -> Scope:
    """The scope named by a person: a buyer by SIRET or name, a structure by ref or name, a
    territory by INSEE code, a market by ref. Unknown: ``UnknownRecord`` / ``UnknownTerritory``.
    ``reach`` (a condition on the buyer or the structure) leaves out those a person may not name."""
    key = key.strip()
    if kind == "buyer":
        buyer = buyer_named(session, key, within=reach)
        return Scope("buyer", buyer.siret, buyer.name, buyer.id)
    if kind == "structure":
        structure = structure_named(session, key, within=reach)
        return Scope("structure", structure.ref, structure.name, structure.id)
    if kind == "market":
        market = market_by_ref(session, key)
        return Scope("market", market.ref, f"{market.ref} — {market.title}", market.id)
    if kind == "territory":
        territory_kind = territory_kind_of(key)
        name = territory_name(session, territory_kind, key) if territory_kind else None
        if name is None:
            raise UnknownTerritory(key)
        label = f"{name} ({TERRITORY_KIND_LABELS[territory_kind]} {key})"
        return Scope("territory", key, label, territory_kind=territory_kind)
    if kind == "all":
        return Scope("all", "tout", "Tous les marchés")
    raise ValueError(f"unknown scope kind {kind!r}")


@dataclass(frozen=True)
class LotFigures:
    id: int
    number: int
    title: str
    contractor: str | None
    target: int  # the lot's whole target
    days_in_year: int
    days_total: int
    planned: Decimal  # for Y
    validated: Decimal  # in Y
    validated_to_date: Decimal  # every month so far
    rate: Decimal | None
    instrument: str = EXECUTION_CONDITION  # the clause's legal instrument (offers.instruments)

    def as_dict(self) -> dict:
        return {
            "number": self.number, "title": self.title, "contractor": self.contractor,
            "instrument": self.instrument, "instrument_label": named(self.instrument),
            "target": self.target, "days_in_year": self.days_in_year, "days_total": self.days_total,
            "planned": str(self.planned), "validated": str(self.validated),
            "validated_to_date": str(self.validated_to_date), "rate": _str(self.rate),
        }  # fmt: skip


@dataclass(frozen=True)
class MarketFigures:
    ref: str
    title: str
    buyer: str
    commune: str
    commune_name: str | None
    state: str
    structure: str | None
    starts_on: date
    ends_on: date
    lots: list[LotFigures]
    beneficiaries: int
    qpv_target: Decimal | None = None  # urban renewal: the share reserved to QPV residents
    qpv_hours: Decimal = Decimal("0.00")  # validated in Y, of people with a QPV criterion
    # once execution ended: the hours missing over the whole execution, and the penalty
    shortfall: Shortfall | None = None

    @property
    def qpv_share(self) -> Decimal | None:
        """Hours of QPV residents ÷ hours validated (urban-renewal markets only)."""
        return rate(self.qpv_hours, self.validated) if self.qpv_target is not None else None

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def target(self) -> int:
        return sum(lot.target for lot in self.lots)

    @property
    def planned(self) -> Decimal:
        return sum((lot.planned for lot in self.lots), Decimal("0.00"))

    @property
    def validated(self) -> Decimal:
        return sum((lot.validated for lot in self.lots), Decimal("0.00"))

    @property
    def validated_to_date(self) -> Decimal:
        return sum((lot.validated_to_date for lot in self.lots), Decimal("0.00"))

    @property
    def rate(self) -> Decimal | None:
        return rate(self.validated, self.planned)

    def as_dict(self) -> dict:
        return {
            "ref": self.ref, "title": self.title, "buyer": self.buyer, "commune": self.commune,
            "commune_name": self.commune_name, "state": self.state, "state_label": self.state_label,
            "structure": self.structure, "execution_starts_on": self.starts_on.isoformat(),
            "execution_ends_on": self.ends_on.isoformat(), "target": self.target,
            "planned": str(self.planned), "validated": str(self.validated),
            "validated_to_date": str(self.validated_to_date), "rate": _str(self.rate),
            "beneficiaries": self.beneficiaries, "lots": [lot.as_dict() for lot in self.lots],
            "urban_renewal": self.qpv_target is not None, "qpv_target": _str(self.qpv_target),
            "qpv_hours": str(self.qpv_hours) if self.qpv_target is not None else None,
            "qpv_share": _str(self.qpv_share),
            "shortfall": self.shortfall.as_dict() if self.shortfall else None,
        }  # fmt: skip


@dataclass(frozen=True)
class Share:
    """One row of a split: a code of the vocabulary, its label, people and validated hours."""

    code: str
    label: str
    beneficiaries: int
    hours: Decimal

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "beneficiaries": self.beneficiaries,
                "hours": str(self.hours)}  # fmt: skip


@dataclass(frozen=True)
class Month:
    period: str  # YYYY-MM
    label: str  # « mars 2027 »
    validated: Decimal
    cumulative: Decimal
    target_cumulative: Decimal  # the hours planned for Y, prorated to the month's end
    elapsed: bool  # the month has begun

    def as_dict(self) -> dict:
        return {"period": self.period, "label": self.label, "validated": str(self.validated),
                "cumulative": str(self.cumulative),
                "target_cumulative": str(self.target_cumulative), "elapsed": self.elapsed}  # fmt: skip


@dataclass(frozen=True)
class OutcomeCount:
    code: str
    label: str
    count: int
    positive: bool

    def as_dict(self) -> dict:
        return {"code": self.code, "label": self.label, "count": self.count,
                "positive": self.positive}  # fmt: skip


@dataclass(frozen=True)
class Outcomes:
    markets: int  # markets of the report in evaluation or closed
    by_outcome: list[OutcomeCount]

    @property
    def total(self) -> int:
        return sum(row.count for row in self.by_outcome)

    @property
    def positive(self) -> int:
        return sum(row.count for row in self.by_outcome if row.positive)

    @property
    def positive_rate(self) -> Decimal | None:
        return rate(Decimal(self.positive), Decimal(self.total))

    def as_dict(self) -> dict:
        return {"markets": self.markets, "total": self.total, "positive": self.positive,
                "positive_rate": _str(self.positive_rate),
                "by_outcome": [row.as_dict() for row in self.by_outcome]}  # fmt: skip


@dataclass(frozen=True)
class Report:
    scope: Scope
    year: int
    generated_at: datetime
    markets: list[MarketFigures]
    beneficiaries: int
    by_public: list[Share]
    by_sex: list[Share]
    by_age_band: list[Share]
    by_modality: list[Share]
    by_contract_type: list[Share]
    months: list[Month]
    outcomes: Outcomes
    note: str | None = None  # how the scope was narrowed to what the reader may see
    # the hours by kind of body they went through (a direct hire, a training: none)
    by_body_kind: list[Share] = field(default_factory=list)
    splits: dict[str, list[Share]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "splits", {
            "public": self.by_public, "sex": self.by_sex, "age_band": self.by_age_band,
            "modality": self.by_modality, "contract_type": self.by_contract_type,
            "body_kind": self.by_body_kind,
        })  # fmt: skip

    @property
    def integration_hours(self) -> Decimal:
        """The validated hours that went through an integration structure (SIAE: EI, ACI,
        ETTI, AI; and GEIQ)."""
        shares = (share.hours for share in self.by_body_kind if share.code in INTEGRATION_KINDS)
        return sum(shares, Decimal("0.00"))

    @property
    def integration_share(self) -> Decimal | None:
        return rate(self.integration_hours, self.validated)

    @property
    def lots(self) -> int:
        return sum(len(market.lots) for market in self.markets)

    @property
    def target(self) -> int:
        return sum(market.target for market in self.markets)

    @property
    def planned(self) -> Decimal:
        return sum((market.planned for market in self.markets), Decimal("0.00"))

    @property
    def validated(self) -> Decimal:
        return sum((market.validated for market in self.markets), Decimal("0.00"))

    @property
    def validated_to_date(self) -> Decimal:
        return sum((market.validated_to_date for market in self.markets), Decimal("0.00"))

    @property
    def rate(self) -> Decimal | None:
        return rate(self.validated, self.planned)

    @property
    def shortfalls(self) -> list[Shortfall]:
        """The shortfalls of the markets of the report whose execution ended."""
        return [market.shortfall for market in self.markets if market.shortfall is not None]

    @property
    def missing(self) -> Decimal:
        """Hours missing at the end of execution, over the markets whose execution ended."""
        return sum((short.missing for short in self.shortfalls), Decimal("0.00"))

    @property
    def penalty(self) -> Decimal | None:
        """The penalties those markets' contracts carry for them (None: none carries one)."""
        penalties = [short.penalty for short in self.shortfalls if short.penalty is not None]
        return sum(penalties, Decimal("0.00")) if penalties else None

    @property
    def title(self) -> str:
        return f"Clause sociale d'insertion — bilan {self.year} — {self.scope.label}"

    def as_dict(self) -> dict:
        return {
            "scope": self.scope.as_dict(),
            "year": self.year,
            "generated_at": self.generated_at.isoformat(),
            "note": self.note,
            "totals": {
                "markets": len(self.markets), "lots": self.lots, "target": self.target,
                "planned": str(self.planned), "validated": str(self.validated),
                "rate": _str(self.rate), "validated_to_date": str(self.validated_to_date),
                "beneficiaries": self.beneficiaries,
                "integration_hours": str(self.integration_hours),
                "integration_share": _str(self.integration_share),
                "ended_markets": len(self.shortfalls),
                "missing": str(self.missing),
                "penalty": _str(self.penalty),
                "shortfall_final": all(short.final for short in self.shortfalls),
            },
            "markets": [market.as_dict() for market in self.markets],
            "beneficiaries": {
                "total": self.beneficiaries,
                **{f"by_{name}": [share.as_dict() for share in shares]
                   for name, shares in self.splits.items()},
            },
            "months": [month.as_dict() for month in self.months],
            "outcomes": self.outcomes.as_dict(),
        }  # fmt: skip


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _hours(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def rate(done: Decimal, planned: Decimal) -> Decimal | None:
    if not planned:
        return None
    return (done / planned).quantize(RATE_STEP, rounding=ROUND_HALF_UP)


def _shares(
    rows, vocabulary: dict[str, str], *, extra: dict[str, str] | None = None
) -> list[Share]:
    """Every code of the vocabulary, in its order (zero when nobody), then codes it lacks."""
    found = {code if code is not None else UNSPECIFIED: (int(n), _hours(h)) for code, n, h in rows}
    labels = {**vocabulary, **(extra or {})}
    shares = [
        Share(code, label, *found.pop(code, (0, Decimal("0.00"))))
        for code, label in labels.items()
        if code in vocabulary or code in found
    ]
    return shares + [Share(code, code, *figures) for code, figures in sorted(found.items())]


def indicators(
    session: Session,
    scope: Scope,
    year: int,
    *,
    today: date,
    now: datetime,
    within: ColumnElement | None = None,
    note: str | None = None,
    declaration_day: int | None = None,
) -> Report:
    """The report of ``scope`` for ``year``; ``within`` narrows the markets (a person's view).
    A market whose execution ended carries its shortfall (``declarations.shortfall``), whose
    months still declarable are those of ``declaration_day`` (config.yaml's by default)."""
    if declaration_day is None:
        declaration_day = get_settings().offer.declaration_day
    first, last = date(year, 1, 1), date(year, 12, 31)
    in_report = and_(
        scope.condition(),
        within if within is not None else true(),
        Market.state.in_(REPORTED_STATES),
        Market.execution_starts_on <= last,
        Market.execution_ends_on >= first,
    )
    market_ids = select(Market.id).where(in_report)
    clause_lot_ids = select(Lot.id).where(Lot.market_id.in_(market_ids), Lot.hours > 0)
    counted = and_(
        DeclarationLine.lot_id.in_(clause_lot_ids),
        DeclarationLine.status == LineStatus.validated,
        DeclarationLine.period >= f"{year:04d}-01",
        DeclarationLine.period <= f"{year:04d}-12",
    )
    people = func.count(DeclarationLine.beneficiary_id.distinct())
    hours = func.sum(DeclarationLine.hours)

    markets = session.exec(
        select(Market, Buyer.name, Structure.name, Commune.name)
        .join(Buyer, Buyer.id == Market.buyer_id)
        .outerjoin(Structure, Structure.id == Market.structure_id)
        .outerjoin(Commune, Commune.code == Market.commune_code)
        .where(in_report)
        .order_by(Market.ref)
    ).all()
    lots = session.exec(
        select(Lot, Contractor.name)
        .outerjoin(Contractor, Contractor.id == Lot.contractor_id)
        .where(Lot.id.in_(clause_lot_ids))
        .order_by(Lot.market_id, Lot.number)
    ).all()
    validated_by_lot = dict(
        session.exec(
            select(DeclarationLine.lot_id, hours).where(counted).group_by(DeclarationLine.lot_id)
        ).all()
    )
    validated_by_month = dict(
        session.exec(
            select(DeclarationLine.period, hours).where(counted).group_by(DeclarationLine.period)
        ).all()
    )
    people_by_market = dict(
        session.exec(
            select(Lot.market_id, people)
            .join(Lot, Lot.id == DeclarationLine.lot_id)
            .where(counted)
            .group_by(Lot.market_id)
        ).all()
    )
    total_people = session.exec(select(people).where(counted)).one()
    # a person once per criterion: each public they were ever checked for, once
    criteria = (
        select(BeneficiaryCriterion.beneficiary_id, BeneficiaryCriterion.public)
        .distinct()
        .subquery()
    )
    by_public = session.exec(
        select(criteria.c.public, people, hours)
        .join(criteria, criteria.c.beneficiary_id == DeclarationLine.beneficiary_id)
        .where(counted)
        .group_by(criteria.c.public)
    ).all()
    qpv_residents = select(BeneficiaryCriterion.beneficiary_id).where(
        BeneficiaryCriterion.public == "qpv"
    )
    qpv_by_market = dict(
        session.exec(
            select(Lot.market_id, hours)
            .join(Lot, Lot.id == DeclarationLine.lot_id)
            .where(counted, DeclarationLine.beneficiary_id.in_(qpv_residents))
            .group_by(Lot.market_id)
        ).all()
    )

    def split(column, vocabulary, *, join_people: bool, extra=None) -> list[Share]:
        query = select(column, people, hours)
        if join_people:
            query = query.join(Beneficiary, Beneficiary.id == DeclarationLine.beneficiary_id)
        rows = session.exec(query.where(counted).group_by(column)).all()
        return _shares(rows, vocabulary, extra=extra)

    evaluated = select(Market.id).where(in_report, Market.state.in_(EVALUATED_STATES))
    outcome_rows = dict(
        session.exec(
            select(Outcome.outcome, func.count())
            .where(Outcome.market_id.in_(evaluated))
            .group_by(Outcome.outcome)
        ).all()
    )
    # the people concerned with no outcome recorded count as unknown (DOMAIN.md)
    concerned = (
        select(Lot.market_id, DeclarationLine.beneficiary_id)
        .join(Lot, Lot.id == DeclarationLine.lot_id)
        .where(Lot.market_id.in_(evaluated), DeclarationLine.status == LineStatus.validated)
        .where(DeclarationLine.beneficiary_id.is_not(None))  # an invoice line names no person
        .distinct()
        .subquery()
    )
    without_outcome = session.exec(
        select(func.count())
        .select_from(concerned)
        .outerjoin(
            Outcome,
            and_(
                Outcome.market_id == concerned.c.market_id,
                Outcome.beneficiary_id == concerned.c.beneficiary_id,
            ),
        )
        .where(Outcome.id.is_(None))
    ).one()
    if without_outcome:
        outcome_rows["unknown"] = outcome_rows.get("unknown", 0) + without_outcome
    evaluated_count = session.exec(select(func.count()).select_from(evaluated.subquery())).one()

    lots_of: dict[int, list[tuple[Lot, str | None]]] = {}
    for lot, contractor in lots:
        lots_of.setdefault(lot.market_id, []).append((lot, contractor))
    figures = []
    month_ends = [first + relativedelta(months=m + 1, days=-1) for m in range(12)]
    target_by_month = [Decimal("0.00")] * 12
    for market, buyer_name, structure_name, commune_name in markets:
        starts, ends = market.execution_starts_on, market.execution_ends_on
        lot_figures = []
        for lot, contractor in lots_of.get(market.id, []):
            planned = prorated(lot.hours, starts, ends, first, last)
            validated = _hours(validated_by_lot.get(lot.id))
            for index, month_end in enumerate(month_ends):
                target_by_month[index] += prorated(lot.hours, starts, ends, first, month_end)
            lot_figures.append(
                LotFigures(
                    id=lot.id, number=lot.number, title=lot.title, contractor=contractor,
                    target=lot.hours, days_in_year=days_between(max(starts, first), min(ends, last)),
                    days_total=days_between(starts, ends), planned=planned, validated=validated,
                    validated_to_date=_hours(lot.hours_validated), rate=rate(validated, planned),
                    instrument=lot.instrument,
                )
            )  # fmt: skip
        figures.append(
            MarketFigures(
                ref=market.ref, title=market.title, buyer=buyer_name, commune=market.commune_code,
                commune_name=commune_name, state=market.state, structure=structure_name,
                starts_on=starts, ends_on=ends, lots=lot_figures,
                beneficiaries=int(people_by_market.get(market.id) or 0),
                qpv_target=market.qpv_target, qpv_hours=_hours(qpv_by_market.get(market.id)),
                shortfall=at_end(
                    session, market, [lot for lot, _ in lots_of.get(market.id, [])],
                    today=today, declaration_day=declaration_day,
                ),
            )
        )  # fmt: skip

    months, running = [], Decimal("0.00")
    for index in range(12):
        period = f"{year:04d}-{index + 1:02d}"
        validated = _hours(validated_by_month.get(period))
        running += validated
        months.append(
            Month(period, f"{MONTHS[index]} {year}", validated, running, target_by_month[index],
                  elapsed=date(year, index + 1, 1) <= today)
        )  # fmt: skip

    outcomes = [
        OutcomeCount(code, label, int(outcome_rows.pop(code, 0)), code in POSITIVE_OUTCOMES)
        for code, label in OUTCOMES.items()
    ]
    outcomes += [
        OutcomeCount(code, code, int(n), False) for code, n in sorted(outcome_rows.items())
    ]
    return Report(
        scope=scope,
        year=year,
        generated_at=now,
        markets=figures,
        beneficiaries=int(total_people or 0),
        by_public=_shares(by_public, PUBLICS),
        by_sex=split(Beneficiary.sex, SEXES, join_people=True),
        by_age_band=split(Beneficiary.age_band, AGE_BANDS, join_people=True),
        by_modality=split(DeclarationLine.modality, MODALITY_SHORT_LABELS, join_people=False),
        by_contract_type=split(
            DeclarationLine.contract_type,
            CONTRACT_TYPES,
            join_people=False,
            extra={UNSPECIFIED: "non précisé"},
        ),
        months=months,
        outcomes=Outcomes(markets=int(evaluated_count or 0), by_outcome=outcomes),
        note=note,
        by_body_kind=split(
            DeclarationLine.body_kind,
            BODY_KINDS,
            join_people=False,
            extra={UNSPECIFIED: "sans organisme (embauche directe, formation)"},
        ),
    )


def report_years(
    session: Session, *, within: ColumnElement | None = None, today: date, span: int = 12
) -> list[int]:
    """The years some market (within ``within``) was executed in, and this year; at most
    ``span`` of them, the latest."""
    first, last = session.exec(
        select(func.min(Market.execution_starts_on), func.max(Market.execution_ends_on)).where(
            within if within is not None else true(), Market.state.in_(REPORTED_STATES)
        )
    ).one()
    years = {today.year}
    if first is not None and last is not None:
        years |= set(range(first.year, last.year + 1))
    return sorted(years)[-span:]
