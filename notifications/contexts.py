"""At send time: does the reminder still apply, who receives it, what its template sees.

A reminder whose condition no longer holds (the task was done, the hours were declared, the
convention renewed) is cancelled, not sent. Names and e-mails are read here, at send time, so a
task reassigned since scheduling reaches its new assignee.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlmodel import Session, select

from clausier.business_days import add_business_days
from clausier.clock import PARIS
from clausier.config import Settings
from clausier.declarations import pace, shortfall
from clausier.declarations.service import closed_after_execution
from clausier.formatting import MONTHS, fr_date, fr_number
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships import periods
from clausier.partnerships.assignment import SETTLED_STATES
from clausier.partnerships.models import Convention, ConventionTerritory
from clausier.referential.service import place_of, territory_name
from clausier.tasks.models import Task, TaskStatus
from notifications import declarations
from notifications.models import Reminder
from notifications.schedule import declaration_deadline, task_recipient
from workflow.lifecycle import STATE_LABELS


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: str
    facilitator: Facilitator | None = None  # a person, who may prefer a daily digest


@dataclass(frozen=True)
class Ready:
    recipient: Recipient
    context: dict[str, Any]
    link: str


@dataclass(frozen=True)
class Skip:
    reason: str


@dataclass(frozen=True)
class Later:
    """Not yet: the reminder applies, but what it says is not settled (the hours still to
    review of a shortfall); it is tried again on ``on`` (a business day)."""

    on: date
    reason: str


def _market_doc(session: Session, market: Market) -> dict[str, Any]:
    return {
        "ref": market.ref,
        "title": market.title,
        "commune": place_of(session, market.commune_code).name,
        "state_label": STATE_LABELS[market.state],
        "execution_ends_on": fr_date(market.execution_ends_on)
        if market.execution_ends_on
        else "non fixée",
    }


def _who(
    role: str, *, structure: Structure | None, buyer: Buyer | None, contractor: Contractor | None,
    assignee: Facilitator | None,
) -> Recipient | None:  # fmt: skip
    if role == "facilitator":
        if assignee is not None and assignee.active:
            return Recipient(assignee.email, assignee.name, role, assignee)
        role = "structure"  # nobody took the task: the structure's address
    if role == "structure" and structure is not None:
        return Recipient(structure.email, structure.name, "structure")
    if role == "buyer" and buyer is not None:
        return Recipient(buyer.email, buyer.name, role)
    if role == "contractor" and contractor is not None:
        return Recipient(contractor.email, contractor.name, role)
    return None


def prepare(
    session: Session, reminder: Reminder, settings: Settings, today: date
) -> Ready | Skip | Later:
    rule = settings.reminders.get(reminder.rule)
    if rule is None:
        return Skip(f"règle « {reminder.rule} » retirée de la configuration")
    base = settings.web.base_url
    market = session.get(Market, reminder.market_id) if reminder.market_id else None
    buyer = session.get(Buyer, market.buyer_id) if market else None
    structure = (
        session.get(Structure, market.structure_id) if market and market.structure_id else None
    )
    contractor, assignee, extra = None, None, {}
    recipient_role = reminder.recipient_role

    if rule.follows == "task":
        task = session.get(Task, reminder.task_id)
        if task is None or task.status != TaskStatus.open:
            return Skip("la tâche n'est plus ouverte")
        kind = settings.tasks.kinds.get(task.kind)
        assignee = session.get(Facilitator, task.assignee_id) if task.assignee_id else None
        structure = session.get(Structure, task.structure_id) if task.structure_id else structure
        # a reminder stored before it was addressed so (``task_recipient``), or whose
        # task was given to the buyer since: not the structure's to hear of
        recipient_role = task_recipient(
            recipient_role, task, structure.id if structure is not None else None
        )
        due = task.due_at.astimezone(PARIS).date()
        late = 0
        day = due
        while day < today:
            day = add_business_days(day, 1, None)
            late += 1
        extra["task"] = {"id": task.id, "kind": task.kind, "label": kind.label if kind else task.kind,
                         "due_on": fr_date(due), "late_days": late}  # fmt: skip
        link = f"{base}/marches/{market.ref}"
    elif rule.follows == "declaration":
        lot = session.get(Lot, reminder.lot_id)
        if market is None or market.state not in ("execution", "evaluation") or lot is None:
            return Skip("le marché n'est plus en exécution")
        if market.state == "evaluation":  # the months executed go on until their deadline
            closed = closed_after_execution(
                session, market, reminder.period, today=today,
                declaration_day=settings.offer.declaration_day,
            )  # fmt: skip
            if closed:
                return Skip(closed)
        contractor = session.get(Contractor, lot.contractor_id) if lot.contractor_id else None
        if contractor is None:
            return Skip("le lot n'a pas de titulaire")
        if declarations.ledger.is_declared(session, lot_id=lot.id, period=reminder.period):
            return Skip(f"les heures de {reminder.period} ont été déclarées")
        year, month = map(int, reminder.period.split("-"))
        departement = place_of(session, market.commune_code).departement_code
        deadline = declaration_deadline(
            date(year, month, 1), settings.offer.declaration_day, departement
        )
        extra["lot"] = {"number": lot.number, "title": lot.title, "hours": lot.hours}
        extra["contractor"] = {"name": contractor.name, "email": contractor.email}
        extra["period"] = {
            "code": reminder.period,
            "label": f"{MONTHS[month - 1]} {year}",
            "deadline": fr_date(deadline),
        }
        link = f"{base}/lots/{lot.id}/declarations/{reminder.period}"
    elif rule.follows == "pace":
        lot = session.get(Lot, reminder.lot_id)
        if market is None or market.state != "execution" or lot is None:
            return Skip("le marché n'est plus en exécution")
        contractor = session.get(Contractor, lot.contractor_id) if lot.contractor_id else None
        departement = place_of(session, market.commune_code).departement_code
        progress = pace.lot_progress(
            session, market, [lot], today=today, settings=settings, departement=departement
        ).get(lot.id)
        if progress is None or not progress.behind:
            return Skip("le lot n'est plus en retard")
        extra["lot"] = {"number": lot.number, "title": lot.title, "hours": fr_number(lot.hours)}
        extra["contractor"] = (
            {"name": contractor.name, "email": contractor.email} if contractor else None
        )
        extra["pace"] = {
            "validated": fr_number(progress.validated),
            "expected": fr_number(progress.expected),
            "gap": fr_number(progress.gap),
            "on": fr_date(progress.expected_on),
        }
        link = f"{base}/marches/{market.ref}"
    elif rule.follows == "execution_end":
        if market is None or market.state != "execution":
            return Skip("le marché n'est plus en exécution")
        lots = session.exec(
            select(Lot).where(Lot.market_id == market.id).order_by(Lot.number)
        ).all()
        lots = [lot for lot in lots if lot.carries_clause and (reminder.lot_id in (None, lot.id))]
        missing = {
            lot.id: max(Decimal(lot.hours) - lot.hours_validated, Decimal(0)) for lot in lots
        }
        if sum(missing.values()) <= 0:
            return Skip("toutes les heures requises sont validées")
        if reminder.lot_id:
            lot = lots[0]
            contractor = session.get(Contractor, lot.contractor_id) if lot.contractor_id else None
        extra["lots"] = [  # the lots still missing hours (one whose hours are all in is done)
            {"number": lot.number, "title": lot.title, "hours": fr_number(lot.hours),
             "hours_validated": fr_number(lot.hours_validated), "missing": fr_number(missing[lot.id])}
            for lot in lots
            if missing[lot.id] > 0
        ]  # fmt: skip
        extra["missing_total"] = fr_number(sum(missing.values()))
        link = f"{base}/marches/{market.ref}"
    elif rule.follows == "shortfall":
        if market is None or market.state not in shortfall.ENDED_STATES:
            return Skip("l'exécution du marché n'est pas terminée")
        lots = session.exec(select(Lot).where(Lot.market_id == market.id)).all()
        ended = shortfall.at_end(
            session, market, list(lots), today=today, declaration_day=settings.offer.declaration_day
        )
        if ended is None or ended.missing <= 0:  # validated hours only ever grow
            return Skip("toutes les heures requises sont validées : aucun manque à signaler")
        if not ended.final:
            departement = place_of(session, market.commune_code).departement_code
            return Later(add_business_days(today, 1, departement), " ; ".join(ended.pending))
        extra["shortfall"] = shortfall_doc(ended)
        link = f"{base}/marches/{market.ref}"
    elif rule.follows == "convention":
        convention = session.get(Convention, reminder.convention_id)
        end = reminder.idempotency_key.split(":")[3]
        if convention is None or not periods.in_force(convention, today):
            return Skip("la convention n'est plus en vigueur")
        final = periods.final_end(convention, today)
        if final is None:
            return Skip("la convention se reconduit tacitement, sans limite")
        if final.isoformat() != end:
            return Skip("la convention a été renouvelée")
        buyer = session.get(Buyer, convention.buyer_id)
        structure = session.get(Structure, convention.structure_id)
        places = session.exec(
            select(ConventionTerritory).where(ConventionTerritory.convention_id == convention.id)
        ).all()
        extra["convention"] = {
            "ref": convention.ref,
            "ends_on": fr_date(date.fromisoformat(end)),
            # a tacit convention at its cap ends without renewal: no renewal is asked
            "tacit": convention.renewal == "tacit",
            "territory": ", ".join(
                f"{territory_name(session, t.kind, t.code)} ({t.code})" for t in places
            ),
        }
        link = f"{base}/couverture"
    else:  # coverage
        if market is None or market.state in SETTLED_STATES or market.coverage_flag != "uncovered":
            return Skip("le marché est de nouveau couvert")
        link = f"{base}/couverture"

    recipient = _who(
        recipient_role,
        structure=structure,
        buyer=buyer,
        contractor=contractor,
        assignee=assignee,
    )
    if recipient is None:
        if reminder.recipient_role in ("facilitator", "structure") and market and not structure:
            # a market nobody covers (yet): its buyer's step of the chain still goes
            return Skip(
                f"aucune structure n'est assignée au marché {market.ref} : "
                "ni facilitateur ni structure à prévenir"
            )
        return Skip(f"aucun destinataire « {reminder.recipient_role} » connu")
    # who to contact: the facilitators' structure for contractors and buyers, the buyer otherwise
    if recipient.role in ("contractor", "buyer") and structure is not None:
        contact = {"name": structure.name, "email": structure.email}
    elif buyer is not None:
        contact = {"name": buyer.name, "email": buyer.email}
    else:
        contact = {"name": "Clausier", "email": settings.notifications.sender}
    context = {
        "recipient": {"name": recipient.name, "email": recipient.email, "role": recipient.role},
        "escalated": reminder.recipient_role
        != rule.to,  # the reminders to the first recipient went unheeded
        "contact": contact,
        "link": link,
        "structure": {"name": structure.name, "email": structure.email} if structure else None,
        "buyer": {"name": buyer.name, "email": buyer.email} if buyer else None,
        **({"market": _market_doc(session, market)} if market else {}),
        **extra,
    }
    return Ready(recipient=recipient, context=context, link=link)


def shortfall_doc(ended: shortfall.Shortfall) -> dict[str, Any]:
    """The shortfall as the buyer's e-mail reads it: hours and euros in French."""

    def money(value: Decimal | None) -> str | None:
        return None if value is None else shortfall.euros(value)

    penalty = ended.penalty_per_hour
    return {
        "final": ended.final,
        "status_label": ended.status_label,
        "pending": ended.pending,
        "required": fr_number(ended.required),
        "validated": fr_number(ended.validated),
        "missing": fr_number(ended.missing),
        "penalty_per_hour": shortfall.euros(penalty.per_hour) if penalty else None,
        "penalty_source": penalty.source if penalty else None,
        "penalty": money(ended.penalty),
        "lots": [
            {"number": lot.number, "title": lot.title, "required": fr_number(lot.required),
             "validated": fr_number(lot.validated), "missing": fr_number(lot.missing),
             "penalty": money(lot.penalty)}
            for lot in ended.lots
        ],
    }  # fmt: skip
