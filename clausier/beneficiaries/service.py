"""Registering beneficiaries, and who may read what of them.

The product issues the pseudonymous code; the facilitator states the eligible public, who
checked the eligibility and when, sex and age band. A name is optional and stays with the
facilitators of the registering structure (``visible_name``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, select

from clausier.beneficiaries.models import Beneficiary
from clausier.beneficiaries.vocabulary import AGE_BANDS, PUBLICS, SEXES, choices
from clausier.errors import InvalidInput, UnknownRecord
from clausier.partners.models import Facilitator, Structure
from clausier.tasks.service import facilitator_by_email
from clausier.validation.texts import one_line_problem

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U to misread


class BeneficiaryRefused(InvalidInput):
    """Bénéficiaire refusé."""


def new_code() -> str:
    return "B-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class Registration:
    public: str
    sex: str
    age_band: str
    checked_by: str  # the e-mail of the facilitator who checked the eligibility
    checked_on: date
    public_reason: str | None = None
    name: str | None = None


def problems_of(reg: Registration, *, today: date) -> list[tuple[str, str]]:
    """(field, message) for each problem of a registration, in French."""
    problems = []
    if reg.public not in PUBLICS:
        problems.append(
            ("public", f"public « {reg.public} » inconnu (attendu : {choices(PUBLICS)})")
        )
    elif reg.public == "other" and len((reg.public_reason or "").strip()) < 3:
        problems.append(
            ("public_reason", "un public « other » est validé au cas par cas : indiquez le motif")
        )
    if reg.sex not in SEXES:
        problems.append(("sex", f"sexe « {reg.sex} » inconnu (attendu : F ou M)"))
    if reg.age_band not in AGE_BANDS:
        problems.append(
            (
                "age_band",
                f"tranche d'âge « {reg.age_band} » inconnue (attendu : {choices(AGE_BANDS)})",
            )
        )
    if reg.checked_on > today:
        problems.append(
            ("checked_on", "la date de vérification de l'éligibilité est dans le futur")
        )
    if reg.name is not None and len(reg.name) > 120:
        problems.append(("name", "120 caractères au plus"))
    for field in ("name", "public_reason"):
        problem = one_line_problem(getattr(reg, field))
        if problem:
            problems.append((field, problem))
    return problems  # fmt: skip


def register(
    session: Session, structure: Structure, reg: Registration, *, today: date, now: datetime
) -> Beneficiary:
    problems = problems_of(reg, today=today)
    checker = _checker(session, structure, reg.checked_by, problems)
    if problems:
        detail = " ; ".join(f"« {field} » : {message}" for field, message in problems)
        raise BeneficiaryRefused(f"Bénéficiaire non enregistré : {detail}.")
    row = Beneficiary(
        code=_free_code(session), structure_id=structure.id, public=reg.public,
        public_reason=(reg.public_reason or "").strip() or None, checked_by_id=checker.id,
        checked_on=reg.checked_on, sex=reg.sex, age_band=reg.age_band,
        name=(reg.name or "").strip() or None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def _checker(
    session: Session, structure: Structure, email: str, problems: list[tuple[str, str]]
) -> Facilitator | None:
    try:
        person = facilitator_by_email(session, email)
    except UnknownRecord:
        person = None
    if person is None or person.structure_id != structure.id:
        problems.append(
            ("checked_by", f"« {email} » n'est pas un facilitateur de {structure.name}")
        )
        return None
    return person


def _free_code(session: Session) -> str:
    while True:
        code = new_code()
        if session.exec(select(Beneficiary.id).where(Beneficiary.code == code)).first() is None:
            return code


def by_code(session: Session, code: str, *, structure_id: int | None = None) -> Beneficiary:
    """A beneficiary by code; outside ``structure_id`` it does not exist (no existence leak)."""
    query = select(Beneficiary).where(Beneficiary.code == code.strip().upper())
    if structure_id is not None:
        query = query.where(Beneficiary.structure_id == structure_id)
    row = session.exec(query).first()
    if row is None:
        raise UnknownRecord("Bénéficiaire", code)
    return row


def visible_name(beneficiary: Beneficiary, *, role: str, org_id: int | None) -> str | None:
    """The name, for the facilitators of the structure that registered the person only."""
    if role == "facilitator" and org_id == beneficiary.structure_id:
        return beneficiary.name
    return None


def as_dict(beneficiary: Beneficiary, *, checker_email: str | None, name: str | None) -> dict:
    return {
        "code": beneficiary.code,
        "public": beneficiary.public,
        "public_label": PUBLICS.get(beneficiary.public, beneficiary.public),
        "public_reason": beneficiary.public_reason if name is not None else None,
        "checked_by": checker_email,
        "checked_on": beneficiary.checked_on.isoformat(),
        "sex": beneficiary.sex,
        "age_band": beneficiary.age_band,
        "age_band_label": AGE_BANDS.get(beneficiary.age_band, beneficiary.age_band),
        "name": name,
        "purged": beneficiary.purged_at is not None,
    }


def listing(session: Session, structure_id: int) -> list[tuple[Beneficiary, str]]:
    return list(
        session.exec(
            select(Beneficiary, Facilitator.email)
            .join(Facilitator, Facilitator.id == Beneficiary.checked_by_id)
            .where(Beneficiary.structure_id == structure_id)
            .order_by(Beneficiary.created_at.desc(), Beneficiary.id.desc())
        ).all()
    )
