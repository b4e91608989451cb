"""Declaring a month of hours, and reviewing it.

A statement is the whole month of a lot: declaring the month again amends it (lines are matched
by beneficiary and modality, a subcontract's invoice by its reference (``bodies``); an
unchanged line keeps its review, a changed one is checked again, a line left out is
withdrawn). Every line is checked before anything is written, and all
problems are reported together. ``Lot.hours_validated`` is kept equal to the sum of the
validated lines in the same transaction, by ``recount_validated`` alone.

Concurrent writers of one lot take turns: each locks the lot (``clausier.db.locks``) before it
reads the month or the lines, so the second reads what the first committed — the month's
statement created once then amended, the amendments counted exactly, every validation counted.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import case, func, update
from sqlmodel import Session, select

from clausier.beneficiaries import eligibility
from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.vocabulary import CONTRACT_TYPES, choices
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.db.locks import locked
from clausier.declarations import bodies, periods
from clausier.declarations.models import DeclarationLine, LineStatus, Statement
from clausier.errors import (
    InvalidInput,
    LoadErrors,
    LoadProblem,
    ProblemTally,
    Refused,
    UnknownRecord,
)
from clausier.formatting import fr_date, fr_number
from clausier.markets.models import Lot, Market, TransitionLog
from clausier.offers.clause import MODALITIES
from clausier.offers.formula import Factor
from clausier.offers.service import defaults as offer_defaults
from clausier.referential.service import place_of
from clausier.tasks import events
from clausier.validation.numbers import MONTH_HOURS, NOT_A_NUMBER, typed_number
from clausier.validation.texts import REASON_MIN
from notifications import schedule


class DeclarationRefused(Refused):
    """Déclaration refusée."""


@dataclass(frozen=True)
class LineInput:
    beneficiary: str | None  # the pseudonymous code, B-XXXXXXXX (None: an invoice line)
    modality: str
    hours: Decimal | str | float | int | None
    contract_type: str | None = None
    line: int | None = None  # where it came from (CSV line, or rank in the request)
    # the body of a placement or a subcontract, and a subcontract's invoice (``bodies``)
    body_siret: str | None = None
    body_kind: str | None = None
    invoice_ref: str | None = None
    invoice_amount: Decimal | str | float | int | None = None


@dataclass(frozen=True)
class _Invoice:
    """An invoice line once checked: its amount, its hours and the rate they come from."""

    line: LineInput
    ref: str
    amount: Decimal
    hours: Decimal
    hourly_cost: Factor


@dataclass(frozen=True)
class Declared:
    statement: Statement
    added: int
    changed: int
    unchanged: int
    withdrawn: int


def _hours(raw, problems: list, where: dict) -> Decimal | None:
    """A line's hours (a CSV cell, a form's field, an API body's number) read and checked
    against ``MONTH_HOURS``, in the words a load file's line gets."""
    if raw is None or not str(raw).strip():
        problems.append(LoadProblem(**where, field="hours", message="nombre d'heures manquant"))
        return None
    value = raw if isinstance(raw, Decimal) else typed_number(str(raw))
    problem = MONTH_HOURS.problem(value) if value is not None else NOT_A_NUMBER
    if problem:
        problems.append(LoadProblem(**where, field="hours", message=f"« {raw} » : {problem}"))
        return None
    return value


def completed_on(session: Session, market: Market) -> date | None:
    """The day the market left execution (its last ``complete``), None while it has not."""
    at = session.exec(
        select(func.max(TransitionLog.at)).where(
            TransitionLog.market_id == market.id, TransitionLog.trigger == "complete"
        )
    ).one()
    return at.astimezone(PARIS).date() if at else None


def executed_months(market: Market, completed: date | None) -> list[date]:
    """The months of the execution period, up to the one ``complete`` was fired in (a market
    whose hours were all validated may end before its date)."""
    starts, ends = market.execution_starts_on, market.execution_ends_on
    if starts is None or ends is None:
        return []
    return schedule.months(starts, min(ends, completed) if completed else ends)


def declarable_after(
    market: Market, *, completed: date, today: date, declaration_day: int, departement: str | None
) -> dict[str, date]:
    """The months executed that may still be declared once the market left execution on
    ``completed``, each with its deadline (YYYY-MM → day): until the 10th of the next month."""
    return {
        periods.code(month): deadline
        for month in executed_months(market, completed)
        if today <= (deadline := schedule.declaration_deadline(month, declaration_day, departement))
    }


@dataclass(frozen=True)
class Settlement:
    """What ``close`` waits for of the declarations: the hours still to review (lot number,
    month, hours) and the months executed not declared while they still may be (lot number,
    month, deadline). A month whose deadline passed can no longer be declared, so ``close``
    does not wait for it (its hours never count)."""

    to_review: list[tuple[int, str, Decimal]]
    undeclared: list[tuple[int, str, date]]


def settlement(
    session: Session, market: Market, lots: list[Lot], *, today: date, declaration_day: int
) -> Settlement:
    """One query for the months declared and their hours still to review (the status document
    weighs ``close`` on every lookup), one more while a month may still be declared."""
    pending = func.sum(
        case((DeclarationLine.status == LineStatus.submitted, DeclarationLine.hours), else_=0)
    )
    rows = session.exec(
        select(Lot.number, Statement.period, pending)
        .join(Lot, Lot.id == Statement.lot_id)
        .outerjoin(DeclarationLine, DeclarationLine.statement_id == Statement.id)
        .where(Lot.market_id == market.id)
        .group_by(Lot.number, Statement.period)
        .order_by(Lot.number, Statement.period)
    ).all()
    to_review = [(number, period, Decimal(hours)) for number, period, hours in rows if hours]
    declared = {(number, period) for number, period, _hours in rows}
    clause_lots = sorted((lot for lot in lots if lot.carries_clause), key=lambda lot: lot.number)
    ends = market.execution_ends_on
    # past the last month's deadline (with a margin for holidays), nothing is awaited
    if not clause_lots or ends is None or today > ends + relativedelta(months=1, day=31):
        return Settlement(to_review, [])
    departement = place_of(session, market.commune_code).departement_code
    awaited = {
        periods.code(month): deadline
        for month in executed_months(market, completed_on(session, market))
        if today <= (deadline := schedule.declaration_deadline(month, declaration_day, departement))
    }
    undeclared = [
        (lot.number, period, deadline)
        for lot in clause_lots
        for period, deadline in awaited.items()
        if (lot.number, period) not in declared
    ]
    return Settlement(to_review, undeclared)


def closed_after_execution(
    session: Session, market: Market, period: str, *, today: date, declaration_day: int
) -> str | None:
    """Why a month can no longer be declared once the market is in evaluation, None while it
    can: the months executed stay open until their deadline (the 10th of the next month)."""
    first = periods.parse(period)
    if first is None:
        return None  # ``periods.problem`` says why
    completed = completed_on(session, market)
    if completed is not None and first > completed.replace(day=1):
        return (
            f"L'exécution du marché {market.ref} s'est terminée le {fr_date(completed)} : "
            f"on n'y déclare pas d'heures pour {periods.label(first)}."
        )
    departement = place_of(session, market.commune_code).departement_code
    deadline = schedule.declaration_deadline(first, declaration_day, departement)
    if today > deadline:
        return (
            f"L'exécution du marché {market.ref} est terminée : le relevé de "
            f"{periods.label(first)} se déclarait jusqu'au {fr_date(deadline)}, il ne se déclare "
            "plus."
        )
    return None


def check_lot_open(
    market: Market,
    lot: Lot,
    *,
    session: Session | None = None,
    period: str | None = None,
    today: date | None = None,
    declaration_day: int | None = None,
) -> None:
    """Hours are declared while the market is in execution, and after it for a month executed
    until its deadline (given ``period`` and what weighs it)."""
    late = market.state == "evaluation" and period is not None and session is not None
    if late:
        problem = closed_after_execution(
            session, market, period, today=today, declaration_day=declaration_day
        )
        if problem:
            raise DeclarationRefused(problem)
    elif market.state != "execution":
        raise DeclarationRefused(
            f"Le marché {market.ref} n'est pas en exécution : on n'y déclare pas d'heures."
        )
    if not lot.carries_clause:
        raise DeclarationRefused(
            f"Le lot {lot.number} du marché {market.ref} ne porte pas de clause d'insertion."
        )


def declare(
    session: Session,
    *,
    lot: Lot,
    period: str,
    lines: list[LineInput],
    actor: str,
    settings: Settings,
    today: date,
    now: datetime,
    source: str | None = None,
    show_other_lots: bool = False,
) -> Declared:
    """Record the month ``period`` of ``lot``; raise ``LoadErrors`` (nothing written) on any
    problem. The caller commits. ``show_other_lots``: a refusal of the monthly maximum may say
    what the person's other lots hold (``auth.scope.sees_other_lots``); a contractor is told
    only that the maximum is passed, since other lots are other companies' business."""
    locked(session, Lot, [lot.id])  # the month's writers take turns (``lot`` is read afresh)
    market = session.get(Market, lot.market_id)
    check_lot_open(
        market, lot, session=session, period=period, today=today,
        declaration_day=settings.offer.declaration_day,
    )  # fmt: skip
    where_file = source or f"relevé du lot {lot.number} ({period})"
    problems: list[LoadProblem] = []
    period_problem = periods.problem(
        period, starts=market.execution_starts_on, ends=market.execution_ends_on, today=today
    )
    if period_problem:
        problems.append(
            LoadProblem(path=where_file, line=None, field="period", message=period_problem)
        )
    allowed = lot.modalities or list(MODALITIES)
    codes = {
        line.beneficiary.strip().upper() for line in lines if isinstance(line.beneficiary, str)
    }
    invoices: list[_Invoice] = []
    cost: Factor | None = None  # the hourly cost an invoice's hours are counted at
    known = {
        b.code: b
        for b in session.exec(
            select(Beneficiary).where(
                Beneficiary.code.in_(codes), Beneficiary.structure_id == market.structure_id
            )
        ).all()
    }  # fmt: skip
    checks = eligibility.checks_of(session, [b.id for b in known.values()])
    month = periods.parse(period)
    parsed: list[tuple[LineInput, Beneficiary, Decimal]] = []
    seen: set[tuple[str, str]] = set()
    for rank, line in enumerate(lines, start=1):
        where = {"path": where_file, "line": line.line or rank}
        code = (line.beneficiary or "").strip().upper()
        beneficiary = known.get(code)
        problems += [
            LoadProblem(**where, field=field, message=message)
            for field, message in bodies.body_problems(line.modality, line.body_siret, line.body_kind)
        ]  # fmt: skip
        if bodies.is_invoice(line.invoice_ref, line.invoice_amount) or (
            not code and line.modality in bodies.INVOICE_MODALITIES
        ):
            if cost is None:
                cost = offer_defaults(session, market, settings.offer, lot).hourly_cost
            invoice = _invoice(line, where, lot, cost, problems, seen)
            if invoice is not None:
                invoices.append(invoice)
            _check_modality(line, allowed, where, problems)
            continue
        if beneficiary is None and not code:
            problems.append(LoadProblem(**where, field="beneficiary", message=(
                "code du bénéficiaire manquant (le facilitateur vous donne le code B-… de chaque "
                "personne)")))  # fmt: skip
        elif beneficiary is None:
            problems.append(LoadProblem(**where, field="beneficiary", message=(
                f"bénéficiaire « {line.beneficiary} » inconnu de la structure qui suit ce marché "
                "(le facilitateur vous donne le code B-… de chaque personne)")))  # fmt: skip
        elif month is not None and (
            refusal := eligibility.month_problem(
                beneficiary.code, checks.get(beneficiary.id, ()), month, settings.eligibility
            )
        ):  # hours count from the check's date, within its validity
            problems.append(LoadProblem(**where, field="beneficiary", message=refusal))  # fmt: skip
        _check_modality(line, allowed, where, problems)
        if line.contract_type and line.contract_type not in CONTRACT_TYPES:
            problems.append(LoadProblem(**where, field="contract_type", message=f"type de contrat « {line.contract_type} » inconnu (attendu : {choices(CONTRACT_TYPES)})"))  # fmt: skip
        hours = _hours(line.hours, problems, where)
        if (code, line.modality) in seen:
            problems.append(LoadProblem(**where, field="beneficiary", message=f"{code} est déjà déclaré(e) plus haut pour « {line.modality} » : une ligne par personne et modalité"))  # fmt: skip
        seen.add((code, line.modality))
        if beneficiary is not None and hours is not None:
            parsed.append((line, beneficiary, hours))
    # One person's month is weighed across lots, each of which has its own writers: they take
    # turns on the person (after their lot, in id order, as every writer takes locks), so that
    # each reads what the other lot's statement committed.
    locked(session, Beneficiary, [beneficiary.id for _line, beneficiary, _hours in parsed])
    statement = session.exec(
        select(Statement).where(Statement.lot_id == lot.id, Statement.period == period)
    ).first()
    _check_monthly_maximum(
        session, parsed, period, statement, settings, problems, where_file, show_other_lots
    )
    if problems:
        raise LoadErrors(where_file, problems)

    if statement is None:
        statement = Statement(lot_id=lot.id, period=period, declared_by=actor, declared_at=now)
        session.add(statement)
        session.flush()
    else:
        statement.amendments += 1
        statement.declared_by, statement.declared_at = actor, now
        session.add(statement)
    existing = {
        _key(row.beneficiary_id, row.modality, row.invoice_ref): row
        for row in session.exec(
            select(DeclarationLine).where(DeclarationLine.statement_id == statement.id)
        ).all()
    }
    added = changed = unchanged = 0
    wanted = [
        (_key(beneficiary.id, line.modality, None), line, beneficiary.id, hours, {})
        for line, beneficiary, hours in parsed
    ] + [
        (_key(None, invoice.line.modality, invoice.ref), invoice.line, None, invoice.hours, {
            "invoice_ref": invoice.ref, "invoice_amount": invoice.amount,
            "hourly_cost": invoice.hourly_cost.value,
            "hourly_cost_source": invoice.hourly_cost.source,
        })
        for invoice in invoices
    ]  # fmt: skip
    rank = {id(line): index for index, line in enumerate(lines)}
    wanted.sort(key=lambda item: rank[id(item[1])])  # the lines in their order
    for key, line, beneficiary_id, hours, invoice in wanted:
        row = existing.pop(key, None)
        contract = line.contract_type or None
        body = {
            "body_siret": (line.body_siret or "").replace(" ", "") or None,
            "body_kind": (line.body_kind or "").strip() or None,
        }
        if row is None:
            session.add(DeclarationLine(
                statement_id=statement.id, lot_id=lot.id, period=period, beneficiary_id=beneficiary_id,
                modality=line.modality, contract_type=contract, hours=hours, updated_at=now,
                **body, **invoice,
            ))  # fmt: skip
            added += 1
        elif (
            row.hours == hours
            and row.contract_type == contract
            and all(getattr(row, name) == value for name, value in body.items())
            and row.modality == line.modality
            and (not invoice or row.invoice_amount == invoice["invoice_amount"])
        ):
            unchanged += 1
        else:
            row.hours, row.contract_type, row.updated_at = hours, contract, now
            row.modality = line.modality
            for name, value in (body | invoice).items():
                setattr(row, name, value)
            row.status, row.review_reason, row.reviewed_by, row.reviewed_at = (
                LineStatus.submitted,
                None,
                None,
                None,
            )
            session.add(row)
            changed += 1
    for row in existing.values():  # left out of the new statement: withdrawn
        session.delete(row)
    session.flush()
    recount_validated(session, [lot.id])
    schedule.cancel(
        session, lot_period=(lot.id, period), reason=f"relevé de {periods.label(period)} reçu"
    )
    if added or changed:
        events.open_for_event(
            session, "declaration", market=market, subject=f"lot:{lot.id}:{period}",
            settings=settings, today=today, lot_id=lot.id, occurrence=statement.amendments,
        )  # fmt: skip
    return Declared(statement, added, changed, unchanged, len(existing))


def _key(beneficiary_id: int | None, modality: str, invoice_ref: str | None) -> tuple:
    """How a month's line is matched when the month is declared again: a person's by the
    person and the modality, an invoice's by its reference."""
    return ("invoice", invoice_ref) if beneficiary_id is None else (beneficiary_id, modality)


def _check_modality(line: LineInput, allowed, where: dict, problems: list[LoadProblem]) -> None:
    if line.modality not in MODALITIES:
        problems.append(LoadProblem(**where, field="modality", message=f"modalité « {line.modality} » inconnue (attendu : {', '.join(MODALITIES)})"))  # fmt: skip
    elif line.modality not in allowed:
        problems.append(LoadProblem(**where, field="modality", message=f"la clause du lot n'autorise pas « {line.modality} » (autorisées : {', '.join(allowed)})"))  # fmt: skip


def _invoice(
    line: LineInput, where: dict, lot: Lot, cost: Factor, problems: list[LoadProblem], seen: set
) -> _Invoice | None:
    """An invoice line checked (``bodies``), its hours counted at ``cost``; None on a problem,
    which ``problems`` then holds."""
    if not bodies.is_invoice(line.invoice_ref, line.invoice_amount):
        problems.append(LoadProblem(**where, field="beneficiary", message=(
            "bénéficiaire manquant : une ligne d'heures nomme la personne (code B-…) ; une "
            "sous-traitance comptée par sa facture donne sa référence et son montant HT à la "
            f"place des heures, convertis au coût horaire de {bodies.cost_words(cost.value, cost.source)}")))  # fmt: skip
        return None
    found, amount = bodies.invoice_problems(
        modality=line.modality, beneficiary=line.beneficiary, hours=line.hours,
        invoice_ref=line.invoice_ref, invoice_amount=line.invoice_amount, lot_amount=lot.amount,
    )  # fmt: skip
    ref = (line.invoice_ref or "").strip()
    if ref and ("invoice", ref) in seen:
        found.append(("invoice_ref", f"la facture « {ref} » est déjà déclarée plus haut : une ligne par facture et par mois"))  # fmt: skip
    seen.add(("invoice", ref))
    hours = None
    if amount is not None:
        hours = bodies.invoice_hours(amount, cost.value)
        if problem := bodies.hours_problem(hours):
            found.append(("invoice_amount", problem))
    problems += [LoadProblem(**where, field=field, message=message) for field, message in found]
    if found or amount is None:
        return None
    return _Invoice(line, ref, amount, hours, cost)


def _check_monthly_maximum(
    session: Session,
    parsed: list[tuple[LineInput, Beneficiary, Decimal]],
    period: str,
    statement: Statement | None,
    settings: Settings,
    problems: list[LoadProblem],
    where_file: str,
    show_other_lots: bool,
) -> None:
    """One person cannot work more than a plausible month, all lots and contractors together.
    Without ``show_other_lots`` the message gives this statement's hours and the maximum only:
    the total, less what was declared here, would be another contractor's figure."""
    maximum = settings.declarations.max_hours_per_person_month
    totals: dict[int, Decimal] = defaultdict(Decimal)
    lines_of: dict[int, list[LineInput]] = defaultdict(list)
    for line, beneficiary, hours in parsed:
        totals[beneficiary.id] += hours
        lines_of[beneficiary.id].append(line)
    if not totals:
        return
    elsewhere = select(DeclarationLine.beneficiary_id, func.sum(DeclarationLine.hours)).where(
        DeclarationLine.beneficiary_id.in_(totals),
        DeclarationLine.period == period,
        DeclarationLine.status != LineStatus.rejected,
    )
    if statement is not None:
        elsewhere = elsewhere.where(DeclarationLine.statement_id != statement.id)
    others = dict(session.exec(elsewhere.group_by(DeclarationLine.beneficiary_id)).all())
    for line, beneficiary, _hours in parsed:
        total = totals[beneficiary.id] + Decimal(others.get(beneficiary.id) or 0)
        if total > maximum and line is lines_of[beneficiary.id][-1]:
            month, limit = periods.label(period), fr_number(maximum)
            if show_other_lots:
                besides = (
                    f", dont {fr_number(others[beneficiary.id], 2)} h déjà déclarées sur d'autres lots"
                    if others.get(beneficiary.id)
                    else ""
                )
                message = (
                    f"{beneficiary.code} : {fr_number(total, 2)} h en {month}{besides}, "
                    f"au-delà du maximum plausible de {limit} h par personne et par mois"
                )
            else:
                message = (
                    f"{beneficiary.code} : en {month}, avec ce relevé "
                    f"({fr_number(totals[beneficiary.id], 2)} h), ses heures dépassent le maximum "
                    f"plausible de {limit} h par personne et par mois, tous lots confondus"
                )
            problems.append(LoadProblem(
                path=where_file, line=line.line, field="hours", message=message
            ))  # fmt: skip


def recount_statement(lot_ids: list[int] | None = None):
    """``UPDATE lot SET hours_validated = `` the sum of its validated lines, in one statement (of
    every lot when ``lot_ids`` is None: the demo data, written in bulk)."""
    validated = (
        select(func.coalesce(func.sum(DeclarationLine.hours), 0))
        .where(DeclarationLine.lot_id == Lot.id, DeclarationLine.status == LineStatus.validated)
        .scalar_subquery()
    )
    statement = update(Lot).values(hours_validated=validated)
    return statement if lot_ids is None else statement.where(Lot.id.in_(lot_ids))


def recount_validated(session: Session, lot_ids) -> None:
    """Every writer of ``Lot.hours_validated`` (a review, a declaration that withdraws or
    changes a validated line, a load of history) recounts it from the lines, under the lots'
    lock, in its own transaction: a sum kept up to date by additions would lose those made at
    the same time. The figure is the one the ``complete`` guard, the pace, the reminders and
    the reports read."""
    ids = sorted(set(lot_ids))
    if not ids:
        return
    session.flush()
    locked(session, Lot, ids)  # a no-op for the caller already holding them
    session.execute(recount_statement(ids), execution_options={"synchronize_session": False})
    locked(session, Lot, ids)  # read back: the session's lots show the new sums


@dataclass(frozen=True)
class Decision:
    line_id: int
    validate: bool
    reason: str | None = None


def review(
    session: Session,
    decisions: list[Decision],
    *,
    actor: str,
    settings: Settings,
    today: date,
    now: datetime,
    structure_id: int | None = None,
) -> list[DeclarationLine]:
    """Validate or reject lines (a rejection says why); ``structure_id`` limits to the lines of
    the markets that structure follows. The caller commits."""
    reviewed, lots, statements = [], {}, set()
    ids = [decision.line_id for decision in decisions]
    lot_ids = session.exec(select(DeclarationLine.lot_id).where(DeclarationLine.id.in_(ids))).all()
    market_ids = session.exec(select(Lot.market_id).where(Lot.id.in_(lot_ids))).all()
    # the markets first (every hour validated is a market's event), then the lots, then the
    # lines read afresh: a concurrent review of the same lot waits, and counts after this one
    locked(session, Market, market_ids)
    locked(session, Lot, lot_ids)
    locked(session, DeclarationLine, ids)
    for decision in decisions:
        line = session.get(DeclarationLine, decision.line_id)
        lot = session.get(Lot, line.lot_id) if line else None
        market = session.get(Market, lot.market_id) if lot else None
        if line is None or (structure_id is not None and market.structure_id != structure_id):
            raise UnknownRecord("Ligne de déclaration", str(decision.line_id))
        if market.state not in ("execution", "evaluation"):
            raise DeclarationRefused(
                f"Le marché {market.ref} n'est plus en exécution ni en évaluation : "
                "ses déclarations ne se contrôlent plus."
            )
        reason = (decision.reason or "").strip() or None
        if not decision.validate and (reason is None or len(reason) < REASON_MIN):
            raise InvalidInput(
                f"Ligne {line.id} : un rejet se motive (par exemple « heures en double »)."
            )
        line.status = LineStatus.validated if decision.validate else LineStatus.rejected
        line.review_reason, line.reviewed_by, line.reviewed_at = reason, actor, now
        session.add(line)
        reviewed.append(line)
        lots[lot.id] = (lot, market)
        statements.add((lot.id, line.period, line.statement_id))
    session.flush()
    recount_validated(session, lots.keys())
    for lot_id, period, statement_id in statements:
        pending = session.exec(
            select(DeclarationLine.id).where(
                DeclarationLine.statement_id == statement_id,
                DeclarationLine.status == LineStatus.submitted,
            )
        ).first()
        if pending is None:
            events.settle_for_event(
                session, "declaration", market_id=lots[lot_id][1].id,
                subject=f"lot:{lot_id}:{period}", settings=settings, actor=actor, now=now,
            )  # fmt: skip
    for market in {market.id: market for _lot, market in lots.values()}.values():
        if market.state == "execution" and all_hours_validated(session, market):
            events.open_for_event(
                session, "hours_reached", market=market, subject=f"market:{market.id}",
                settings=settings, today=today,
            )  # fmt: skip
    session.flush()
    return reviewed


def all_hours_validated(session: Session, market: Market) -> bool:
    lots = [
        lot
        for lot in session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        if lot.carries_clause
    ]
    return bool(lots) and all(lot.hours_validated >= lot.hours for lot in lots)


def is_declared(session: Session, *, lot_id: int, period: str) -> bool:
    return (
        session.exec(
            select(Statement.id).where(Statement.lot_id == lot_id, Statement.period == period)
        ).first()
        is not None
    )


def declare_months(
    session: Session, *, lot: Lot, months: dict[str, list[LineInput]], source: str, **common
) -> list[Declared]:
    """Several months from one file: all of them or none, with every month's problems (the
    first ``LoadErrors.LISTED``, and how many in all)."""
    problems = ProblemTally()
    results = []
    savepoint = session.begin_nested()
    for period, lines in sorted(months.items()):
        try:
            results.append(
                declare(session, lot=lot, period=period, lines=lines, source=source, **common)
            )
        except LoadErrors as refused:
            problems.add_refused(refused)
    if problems:
        savepoint.rollback()
        raise problems.refusal(source)
    savepoint.commit()
    return results
