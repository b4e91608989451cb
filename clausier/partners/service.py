"""The directory's writes: buyers, structures and their facilitators, contractors, created and
edited by an operator (the pages of ``/annuaire``), checked as a load file's rows are
(``loading.rows``: the same SIRET key, addresses and names), and a facilitator deactivated.

An edit carries the values its form was filled from: a row changed by someone else meanwhile is
refused rather than overwritten (the rows have no version). Two creations of the same SIRET,
reference or address at once keep one row; the other is told in words (the unique index decides,
as a savepoint's failure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from clausier.db.locks import locked
from clausier.errors import InvalidInput, Refused, UnknownRecord
from clausier.loading.rows import BuyerRow, ContractorRow, FacilitatorRow, Row, StructureRow
from clausier.partners.models import Buyer, Contractor, Facilitator, Structure
from clausier.tasks.models import Task, TaskStatus
from clausier.validation.identifiers import siret_problem
from clausier.validation.messages import french_message
from notifications.models import MessageStatus, OutboxMessage, Reminder, ReminderStatus

FIELD_LABELS = {
    "siret": "SIRET",
    "ref": "référence",
    "name": "nom",
    "kind": "type",
    "email": "adresse e-mail",
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


def create_company(session: Session, kind: str, *, siret: str, name: str, email: str):
    """A buyer or a contractor (``kind``), new: its SIRET checked, and unknown yet."""
    model, row_model, _label, article = _ORGS[kind]
    row = _checked(row_model, {"siret": siret, "name": name, "email": email})
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
    return _inserted(session, model(siret=row.siret, name=row.name, email=row.email), refusal)


def edit_company(
    session: Session, kind: str, org_id: int, *, name: str, email: str,
    expected: Mapping[str, str] | None = None,
):  # fmt: skip
    """A buyer's or a contractor's name and address (its SIRET is what it is known by)."""
    model, row_model, label, _article = _ORGS[kind]
    org = locked(session, model, [org_id]).get(org_id)
    if org is None:
        raise UnknownRecord(label, str(org_id))
    row = _checked(row_model, {"siret": org.siret, "name": name, "email": email})
    _unchanged(org, expected, f"{label} « {org.name} »")
    _apply(session, org, {"name": row.name, "email": row.email})
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
    if session.get(Structure, structure_id) is None:
        raise FieldProblems([("structure", "choisissez une structure de l'annuaire")])
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
    person.active = False
    session.add(person)
    return _hand_back(session, person, now=now, why="désactivé")


def reactivate_facilitator(session: Session, facilitator_id: int) -> Facilitator:
    """Back in its structure: it signs in again (a new link; its old sessions stay ended)."""
    person = _locked_facilitator(session, facilitator_id)
    if person.active:
        raise DirectoryRefused(f"{person.name} ({person.email}) : compte déjà actif.")
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
    connection = session.connection()
    released = connection.execute(
        update(Task)
        .where(Task.assignee_id == person.id, Task.status == TaskStatus.open)
        .values(assignee_id=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    unsent = (
        select(OutboxMessage.id)
        .where(func.lower(OutboxMessage.to_email) == person.email.lower())
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
    return Handover(tasks=released, messages=len(ids))
