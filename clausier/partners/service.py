"""The directory's writes: buyers, structures and their facilitators, contractors, created and
edited by an operator (the pages of ``/annuaire``), checked as a load file's rows are
(``loading.rows``: the same SIRET key, addresses and names), and deactivated or reactivated: a
facilitator, a buyer, a structure, a contractor.

An edit carries the values its form was filled from: a row changed by someone else meanwhile is
refused rather than overwritten (the rows have no version). Two creations of the same SIRET,
reference or address at once keep one row; the other is told in words (the unique index decides,
as a savepoint's failure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from clausier.auth.models import Role
from clausier.auth.sessions import end_sessions
from clausier.clock import PARIS
from clausier.db.locks import locked
from clausier.errors import InvalidInput, Refused, UnknownRecord
from clausier.loading.rows import BuyerRow, ContractorRow, FacilitatorRow, Row, StructureRow
from clausier.markets.models import Lot, Market
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.partnerships import periods
from clausier.partnerships.models import Convention, ConventionStatus
from clausier.tasks.models import Task, TaskStatus
from clausier.validation.identifiers import siret_problem
from clausier.validation.messages import french_message
from notifications.models import MessageStatus, OutboxMessage, Reminder, ReminderStatus
from workflow.lifecycle import STATES

# a market in one of these states asks nothing more of its buyer or its contractor
FINAL_STATES = frozenset(state.name for state in STATES if state.final)
NAMED = 3  # what a refusal names of what holds an organisation back; the rest is counted

FIELD_LABELS = {
    "siret": "SIRET",
    "ref": "référence",
    "name": "nom",
    "kind": "type",
    "email": "adresse e-mail",
    "penalty_per_hour": "pénalité par heure manquante",
    "structure": "structure",
}


class FieldProblems(InvalidInput):
    """What is wrong with a form, field by field; nothing was written."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        listed = " ; ".join(f"{FIELD_LABELS.get(f, f)} : {m}" for f, m in problems)
        super().__init__(f"Données invalides ({listed}) : rien n'a été enregistré.")


class DirectoryRefused(Refused):
    """A write the directory refuses (a duplicate, a stale form), with the field it concerns."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


def _checked(model: type[Row], values: Mapping[str, object]) -> Row:
    """The row as a load file's would be checked; ``FieldProblems`` in French otherwise."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as error:
        problems: list[tuple[str, str]] = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "name"
            message = french_message(item)
            if item["type"] == "enum" and field == "kind":
                message = "choisissez le type de structure"
            elif field == "siret" and isinstance(item["input"], str):  # not « SIRET : SIRET … »
                message = f"« {item['input']} » invalide : {siret_problem(item['input'])}"
            problems.append((field, message))
        raise FieldProblems(problems) from None


def _inserted(session: Session, row, refusal: DirectoryRefused):
    """``row`` written in a savepoint: a unique index broken (a racing creation) is ``refusal``,
    and the rest of the transaction stands."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise refusal from None
    return row


def _unchanged(row, expected: Mapping[str, str] | None, what: str) -> None:
    """Refuse an edit made from a form filled before someone else changed the row."""
    for field, before in (expected or {}).items():
        if str(getattr(row, field) or "") != before:
            raise DirectoryRefused(
                f"{what} a été modifié par quelqu'un d'autre pendant que vous le modifiiez : "
                "rechargez la page et recommencez (rien n'a été enregistré)."
            )


def _apply(session: Session, row, values: Mapping[str, object]) -> None:
    for field, value in values.items():
        setattr(row, field, value)
    session.add(row)


# --- buyers and contractors (known by their SIRET) --------------------------------------------


_ORGS = {
    "buyer": (Buyer, BuyerRow, "Acheteur", "un acheteur"),
    "contractor": (Contractor, ContractorRow, "Titulaire", "un titulaire"),
}


def _settings(kind: str, penalty_per_hour: Decimal | None) -> dict:
    """A buyer's own settings a form sets: its penalty per missing hour (a contractor has none)."""
    return {"penalty_per_hour": penalty_per_hour} if kind == "buyer" else {}


def create_company(
    session: Session, kind: str, *, siret: str, name: str, email: str,
    penalty_per_hour: Decimal | None = None,
):  # fmt: skip
    """A buyer or a contractor (``kind``), new: its SIRET checked, and unknown yet; a buyer
    may carry its penalty per missing hour."""
    model, row_model, _label, article = _ORGS[kind]
    settings = _settings(kind, penalty_per_hour)
    row = _checked(row_model, {"siret": siret, "name": name, "email": email, **settings})
    refusal = DirectoryRefused(
        f"Le SIRET {row.siret} vient d'être enregistré pour {article} par quelqu'un d'autre : "
        "rien n'a été enregistré.",
        field="siret",
    )
    existing = session.exec(select(model).where(model.siret == row.siret)).first()
    if existing is not None:
        raise DirectoryRefused(
            f"Le SIRET {row.siret} est déjà celui de « {existing.name} » : rien n'a été enregistré.",
            field="siret",
        )
    return _inserted(
        session, model(siret=row.siret, name=row.name, email=row.email, **settings), refusal
    )


def edit_company(
    session: Session, kind: str, org_id: int, *, name: str, email: str,
    expected: Mapping[str, str] | None = None, penalty_per_hour: Decimal | None = None,
):  # fmt: skip
    """A buyer's or a contractor's name and address (its SIRET is what it is known by), and a
    buyer's penalty per missing hour (None: none)."""
    model, row_model, label, _article = _ORGS[kind]
    org = locked(session, model, [org_id]).get(org_id)
    if org is None:
        raise UnknownRecord(label, str(org_id))
    settings = _settings(kind, penalty_per_hour)
    row = _checked(row_model, {"siret": org.siret, "name": name, "email": email, **settings})
    _unchanged(org, expected, f"{label} « {org.name} »")
    _apply(session, org, {"name": row.name, "email": row.email, **settings})
    return org


# --- structures and their facilitators --------------------------------------------------------


def create_structure(session: Session, *, ref: str, name: str, kind: str, email: str) -> Structure:
    row = _checked(StructureRow, {"ref": ref, "name": name, "kind": kind, "email": email})
    refusal = DirectoryRefused(
        f"La référence « {row.ref} » est déjà celle d'une structure : rien n'a été enregistré.",
        field="ref",
    )
    if session.exec(select(Structure).where(Structure.ref == row.ref)).first() is not None:
        raise refusal
    structure = Structure(ref=row.ref, name=row.name, kind=row.kind.value, email=row.email)
    return _inserted(session, structure, refusal)


def edit_structure(
    session: Session, structure_id: int, *, name: str, kind: str, email: str,
    expected: Mapping[str, str] | None = None,
) -> Structure:  # fmt: skip
    structure = locked(session, Structure, [structure_id]).get(structure_id)
    if structure is None:
        raise UnknownRecord("Structure", str(structure_id))
    row = _checked(StructureRow, {"ref": structure.ref, "name": name, "kind": kind, "email": email})
    _unchanged(structure, expected, f"La structure « {structure.name} »")
    _apply(session, structure, {"name": row.name, "kind": row.kind.value, "email": row.email})
    return structure


def _address_taken(
    session: Session, email: str, *, but: int | None = None
) -> DirectoryRefused | None:
    query = select(Facilitator).where(func.lower(Facilitator.email) == email.lower())
    if but is not None:
        query = query.where(Facilitator.id != but)
    other = session.exec(query).first()
    if other is None:
        return None
    return DirectoryRefused(
        f"L'adresse {email} est déjà celle de {other.name} : chaque facilitateur a la sienne "
        "(rien n'a été enregistré).",
        field="email",
    )


def create_facilitator(
    session: Session, structure_id: int, *, name: str, email: str, digest: bool = True
) -> Facilitator:
    structure = locked(session, Structure, [structure_id]).get(structure_id)
    if structure is None:
        raise UnknownRecord("Structure", str(structure_id))
    row = _checked(FacilitatorRow, {"name": name, "email": email, "digest": digest})
    if not structure.active:
        raise _closed(structure)
    taken = _address_taken(session, row.email)
    if taken is not None:
        raise taken
    refusal = DirectoryRefused(
        f"L'adresse {row.email} vient d'être donnée à un autre facilitateur : rien n'a été "
        "enregistré.",
        field="email",
    )
    person = Facilitator(
        structure_id=structure.id, email=row.email, name=row.name, digest=row.digest
    )
    return _inserted(session, person, refusal)


def _closed(structure: Structure, *, field: str = "name") -> DirectoryRefused:
    return DirectoryRefused(
        f"La structure « {structure.name} » est désactivée : elle ne reçoit pas de nouveau "
        "facilitateur ; réactivez-la d'abord (rien n'a été enregistré).",
        field=field,
    )


@dataclass(frozen=True)
class Handover:
    """What a facilitator leaving (deactivated, or moved to another structure) gave back."""

    tasks: int  # open tasks it held, back to its structure, untaken
    messages: int  # e-mails to it not yet sent, withheld


def edit_facilitator(
    session: Session, facilitator_id: int, *, name: str, email: str, structure_id: int,
    digest: bool, now: datetime, expected: Mapping[str, str] | None = None,
) -> tuple[Facilitator, Handover]:  # fmt: skip
    """A facilitator's name, address, structure and digest. Moved to another structure, it gives
    its open tasks back to the one it leaves (its sessions there end: ``web.auth``)."""
    person = _locked_facilitator(session, facilitator_id)
    row = _checked(FacilitatorRow, {"name": name, "email": email, "digest": digest})
    target = session.get(Structure, structure_id)
    if target is None:
        raise FieldProblems([("structure", "choisissez une structure de l'annuaire")])
    if structure_id != person.structure_id and not target.active:
        raise _closed(target, field="structure")
    _unchanged(person, expected, f"Le compte de facilitateur de {person.name}")
    taken = _address_taken(session, row.email, but=person.id)
    if taken is not None:
        raise taken
    handover = Handover(0, 0)
    if structure_id != person.structure_id:
        handover = _hand_back(session, person, now=now, why="changé de structure")
    try:
        with session.begin_nested():
            _apply(session, person, {"name": row.name, "email": row.email,
                                     "structure_id": structure_id, "digest": row.digest})  # fmt: skip
    except IntegrityError:  # the address given to another at the same instant
        raise DirectoryRefused(
            f"L'adresse {row.email} vient d'être donnée à un autre facilitateur : rien n'a été "
            "enregistré.",
            field="email",
        ) from None
    return person, handover


def deactivate_facilitator(session: Session, facilitator_id: int, *, now: datetime) -> Handover:
    """A facilitator who leaves: it can no longer sign in (``web.auth`` asks ``active``), its open
    tasks go back to its structure untaken (so their reminders reach the structure's address),
    and the e-mails to it still waiting in the outbox are withheld."""
    person = _locked_facilitator(session, facilitator_id)
    if not person.active:
        raise DirectoryRefused(f"{person.name} ({person.email}) : compte déjà désactivé.")
    return facilitator_left(session, person, now=now)


def facilitator_left(session: Session, person: Facilitator, *, now: datetime) -> Handover:
    """``person``, locked by the caller, inactive from now on, with its hand-back: the one way a
    facilitator stops (the directory's button, its structure deactivated, a load file saying
    ``active: false``)."""
    person.active = False
    session.add(person)
    end_sessions(session, facilitator_id=person.id, now=now)  # none back on reactivation
    return _hand_back(session, person, now=now, why="désactivé")


def reactivate_facilitator(session: Session, facilitator_id: int) -> Facilitator:
    """Back in its structure: it signs in again (a new link; its old sessions stay ended)."""
    person = _locked_facilitator(session, facilitator_id)
    if person.active:
        raise DirectoryRefused(f"{person.name} ({person.email}) : compte déjà actif.")
    structure = session.get(Structure, person.structure_id)
    if structure is not None and not structure.active:
        raise DirectoryRefused(
            f"{person.name} ({person.email}) : sa structure « {structure.name} » est désactivée ; "
            "réactivez-la d'abord (rien n'a été modifié)."
        )
    person.active = True
    session.add(person)
    return person


def _locked_facilitator(session: Session, facilitator_id: int) -> Facilitator:
    person = locked(session, Facilitator, [facilitator_id]).get(facilitator_id)
    if person is None:
        raise UnknownRecord("Facilitateur", str(facilitator_id))
    return person


def _hand_back(session: Session, person: Facilitator, *, now: datetime, why: str) -> Handover:
    """Its open tasks untaken, in its (former) structure; its unsent e-mails withheld."""
    session.flush()
    released = (
        session.connection()
        .execute(
            update(Task)
            .where(Task.assignee_id == person.id, Task.status == TaskStatus.open)
            .values(assignee_id=None)
            .execution_options(synchronize_session=False)
        )
        .rowcount
    )
    return Handover(tasks=released, messages=_withhold(session, person.email, now=now, why=why))


def _withhold(session: Session, email: str, *, now: datetime, why: str) -> int:
    """The e-mails to ``email`` still waiting in the outbox (and not being sent right now) marked
    failed, with the reason, and their reminders with them; how many."""
    session.flush()
    connection = session.connection()
    unsent = (
        select(OutboxMessage.id)
        .where(func.lower(OutboxMessage.to_email) == email.lower())
        .where(OutboxMessage.status == MessageStatus.pending)
        .where((OutboxMessage.claimed_until.is_(None)) | (OutboxMessage.claimed_until <= now))
    )
    ids = list(connection.execute(unsent).scalars())
    reason = f"destinataire {why} le {now:%d/%m/%Y} : message retenu"
    if ids:
        connection.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids))
            .values(status=MessageStatus.failed, last_error=reason)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
        connection.execute(
            update(Reminder).where(Reminder.message_id.in_(ids))
            .values(status=ReminderStatus.failed, cancel_reason=reason)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    for obj in list(session.identity_map.values()):  # what the session holds is read afresh
        if isinstance(obj, Task | OutboxMessage | Reminder):
            session.expire(obj)
    return len(ids)


# --- buyers, structures and contractors deactivated -------------------------------------------


@dataclass(frozen=True)
class Withdrawal:
    """What an organisation deactivated left behind."""

    messages: int  # e-mails to its address (and its facilitators') not yet sent, withheld
    facilitators: int = 0  # a structure's facilitators deactivated with it


def _listed(names: list[str], one: str, many: str) -> str:
    """« 2 marchés non terminés (MKT-1, MKT-2) », the first ``NAMED`` only, then « et N autres »."""
    total = len(names)
    shown = ", ".join(names[:NAMED])
    rest = f" et {total - NAMED} autre{'s' if total - NAMED > 1 else ''}" if total > NAMED else ""
    return f"{total} {one if total == 1 else many} ({shown}{rest})"


def _refused_while(
    what: str, holding: list[str], advice: str, *, feminine: bool = False
) -> DirectoryRefused:
    return DirectoryRefused(
        f"{what} ne peut pas être désactivé{'e' if feminine else ''} : {' ; '.join(holding)}. "
        f"{advice} (rien n'a été modifié)."
    )


def _today(now: datetime) -> date:
    return now.astimezone(PARIS).date()


def _running_conventions(session: Session, column, org_id: int, today: date) -> list[str]:
    """The refs of the conventions of ``column == org_id`` neither draft, expired nor
    terminated (one starting later is running too: it is signed)."""
    rows = session.exec(select(Convention).where(column == org_id).order_by(Convention.ref)).all()
    return [
        c.ref
        for c in rows
        if periods.status_on(c, today) == ConventionStatus.active
        and periods.last_day_in_force(c, today) >= today
    ]


def _locked_org(session: Session, model, org_id: int, label: str):
    org = locked(session, model, [org_id]).get(org_id)
    if org is None:
        raise UnknownRecord(label, str(org_id))
    return org


def _already(org, what: str, *, active: bool, said: str) -> None:
    """Refuse to set ``active`` to what it already is: of two clicks at once, the second (which
    waited for the first's lock) is told so."""
    if org.active == active:
        raise DirectoryRefused(f"{what} « {org.name} » : déjà {said}.")


def deactivate_buyer(session: Session, buyer_id: int, *, now: datetime) -> Withdrawal:
    """A buyer that leaves: refused while a market of its is not in a final state or a
    convention of its runs (they need it); then its tokens and sign-in stop (``auth.tokens``,
    ``web.auth`` ask ``active``), its open sessions end and its unsent e-mails are withheld."""
    buyer = _locked_org(session, Buyer, buyer_id, "Acheteur")
    _already(buyer, "L'acheteur", active=False, said="désactivé")
    markets = session.exec(
        select(Market.ref).where(Market.buyer_id == buyer.id, Market.state.not_in(FINAL_STATES))
        .order_by(Market.ref)
    ).all()  # fmt: skip
    conventions = _running_conventions(session, Convention.buyer_id, buyer.id, _today(now))
    holding = []
    if markets:
        holding.append(_listed(list(markets), "marché non terminé",
                               "marchés non terminés"))  # fmt: skip
    if conventions:
        holding.append(_listed(conventions, "convention en cours",
                               "conventions en cours"))  # fmt: skip
    if holding:
        raise _refused_while(
            f"L'acheteur « {buyer.name} »", holding,
            "Clôturez, abandonnez ou déclarez non clausables ses marchés et résiliez ses "
            "conventions d'abord",
        )  # fmt: skip
    buyer.active = False
    session.add(buyer)
    end_sessions(session, org=(Role.buyer, buyer.id), now=now)  # none back on reactivation
    return Withdrawal(messages=_withhold(session, buyer.email, now=now, why="désactivé"))


def deactivate_contractor(session: Session, contractor_id: int, *, now: datetime) -> Withdrawal:
    """A contractor that leaves: refused while it holds a lot of a market not in a final state
    (its hours are still declared and reviewed); then it no longer signs in (its open sessions
    end), its tokens stop, it is no longer offered on an award (``partners.contractors``), its unsent e-mails withheld."""
    contractor = _locked_org(session, Contractor, contractor_id, "Titulaire")
    _already(contractor, "Le titulaire", active=False, said="désactivé")
    lots = session.exec(
        select(Market.ref, Lot.number).join(Market, Market.id == Lot.market_id)
        .where(Lot.contractor_id == contractor.id, Market.state.not_in(FINAL_STATES))
        .order_by(Market.ref, Lot.number)
    ).all()  # fmt: skip
    if lots:
        named = [f"{ref} lot {number}" for ref, number in lots]
        raise _refused_while(
            f"Le titulaire « {contractor.name} »",
            [_listed(named, "lot d'un marché non terminé",
                     "lots de marchés non terminés")],
            "Attendez que ces marchés soient clos",
        )  # fmt: skip
    contractor.active = False
    session.add(contractor)
    end_sessions(session, org=(Role.contractor, contractor.id), now=now)
    return Withdrawal(messages=_withhold(session, contractor.email, now=now, why="désactivé"))


def deactivate_structure(session: Session, structure_id: int, *, now: datetime) -> Withdrawal:
    """A structure that closes: refused while a convention of its runs or a task of its is open
    (markets depend on it); then its facilitators are deactivated with their hand-back, its
    tokens stop and its sessions end, and the e-mails to its address are withheld."""
    structure = _locked_org(session, Structure, structure_id, "Structure")
    _already(structure, "La structure", active=False, said="désactivée")
    conventions = _running_conventions(session, Convention.structure_id, structure.id, _today(now))
    tasks = session.exec(
        select(Task.id, Market.ref).join(Market, Market.id == Task.market_id)
        .where(Task.structure_id == structure.id, Task.status == TaskStatus.open)
        .order_by(Task.due_at, Task.id)
    ).all()  # fmt: skip
    holding = []
    if conventions:
        holding.append(_listed(conventions, "convention en cours",
                               "conventions en cours"))  # fmt: skip
    if tasks:
        named = [f"n° {task_id}, marché {ref}" for task_id, ref in tasks]
        holding.append(_listed(named, "tâche ouverte", "tâches ouvertes"))
    if holding:
        raise _refused_while(
            f"La structure « {structure.name} »", holding,
            "Résiliez ses conventions et faites ou annulez ses tâches d'abord", feminine=True,
        )  # fmt: skip
    structure.active = False
    session.add(structure)
    end_sessions(session, org=(Role.facilitator, structure.id), now=now)
    people = locked(
        session, Facilitator,
        session.exec(select(Facilitator.id).where(Facilitator.structure_id == structure.id,
                                                  Facilitator.active)).all(),
    )  # fmt: skip
    messages = _withhold(session, structure.email, now=now, why="désactivé")
    for person in people.values():
        messages += facilitator_left(session, person, now=now).messages
    return Withdrawal(messages=messages, facilitators=len(people))


_REACTIVATED = {
    "buyer": (Buyer, "Acheteur", "L'acheteur"),
    "structure": (Structure, "Structure", "La structure"),
    "contractor": (Contractor, "Titulaire", "Le titulaire"),
}


def reactivate_org(session: Session, kind: str, org_id: int):
    """A buyer, a structure or a contractor back: it signs in again with a new link, its tokens
    not revoked meanwhile work again; a structure's facilitators stay deactivated, each
    reactivated on its own (who still works there is for the operator to say)."""
    model, label, what = _REACTIVATED[kind]
    org = _locked_org(session, model, org_id, label)
    _already(org, what, active=True, said="active" if kind == "structure" else "actif")
    org.active = True
    session.add(org)
    return org
