"""Registering beneficiaries, and who may read what of them.

The product issues the pseudonymous code; the facilitator states the eligible publics (one or
several criteria), who checked the eligibility and when, sex and age band; a later check of a
criterion is recorded by ``record_check`` (``eligibility`` weighs the dates). A name is optional and stays with the
facilitators of the registering structure (``visible_name``).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlmodel import Session, select

from clausier.beneficiaries import eligibility
from clausier.beneficiaries.models import Beneficiary, BeneficiaryCriterion
from clausier.beneficiaries.vocabulary import AGE_BANDS, PUBLICS, SEXES, choices
from clausier.config import EligibilitySettings
from clausier.db.locks import locked
from clausier.errors import InvalidInput, UnknownRecord
from clausier.formatting import fr_date
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
    """A person and the criteria a facilitator checked: ``publics``, on ``checked_on``."""

    publics: tuple[str, ...]
    sex: str
    age_band: str
    checked_by: str  # the e-mail of the facilitator who checked the eligibility
    checked_on: date
    public_reason: str | None = None  # why, for the public « other »
    name: str | None = None
    pass_iae: bool = False  # the ``siae`` criterion was checked on a PASS IAE


@dataclass(frozen=True)
class Check:
    """A check of one criterion of a person already registered (a renewed check, or one more
    criterion): its validity starts again from ``checked_on``."""

    public: str
    checked_by: str
    checked_on: date
    reason: str | None = None
    pass_iae: bool = False


def _public_problems(
    publics, reason: str | None, pass_iae: bool, age_band: str, checked_on: date, today: date
) -> list[tuple[str, str]]:
    problems = []
    if not publics:
        problems.append(("public", "indiquez au moins un public éligible"))
    for public in publics:
        if public not in PUBLICS:
            problems.append(
                ("public", f"public « {public} » inconnu (attendu : {choices(PUBLICS)})")
            )
    if "other" in publics and len((reason or "").strip()) < 3:
        problems.append(
            ("public_reason", "un public « other » est validé au cas par cas : indiquez le motif")
        )
    if pass_iae and "siae" not in publics:
        problems.append(("pass_iae", "un PASS IAE ne vaut que pour le public « siae »"))
    disagreement = eligibility.age_band_problem(publics, age_band)
    if disagreement:
        problems.append(("age_band", disagreement))
    if checked_on > today:
        problems.append(
            ("checked_on", "la date de vérification de l'éligibilité est dans le futur")
        )
    problem = one_line_problem(reason)
    if problem:
        problems.append(("public_reason", problem))
    return problems


def problems_of(reg: Registration, *, today: date) -> list[tuple[str, str]]:
    """(field, message) for each problem of a registration, in French."""
    problems = _public_problems(
        reg.publics, reg.public_reason, reg.pass_iae, reg.age_band, reg.checked_on, today
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
    if reg.name is not None and len(reg.name) > 120:
        problems.append(("name", "120 caractères au plus"))
    problem = one_line_problem(reg.name)
    if problem:
        problems.append(("name", problem))
    return problems  # fmt: skip


def _refuse(problems: list[tuple[str, str]], what: str = "Bénéficiaire non enregistré") -> None:
    if problems:
        detail = " ; ".join(f"« {field} » : {message}" for field, message in problems)
        raise BeneficiaryRefused(f"{what} : {detail}.")


def register(
    session: Session, structure: Structure, reg: Registration, *, today: date, now: datetime
) -> Beneficiary:
    publics = tuple(dict.fromkeys(reg.publics))  # each criterion once, in the order given
    reg = replace(reg, publics=publics)
    problems = problems_of(reg, today=today)
    checker = _checker(session, structure, reg.checked_by, problems)
    _refuse(problems)
    row = Beneficiary(
        code=_free_code(session), structure_id=structure.id, checked_by_id=checker.id,
        sex=reg.sex, age_band=reg.age_band, name=(reg.name or "").strip() or None, created_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    for public in publics:
        session.add(BeneficiaryCriterion(
            beneficiary_id=row.id, public=public, checked_by_id=checker.id,
            checked_on=reg.checked_on, created_at=now,
            reason=(reg.public_reason or "").strip() or None if public == "other" else None,
            pass_iae=reg.pass_iae and public == "siae",
        ))  # fmt: skip
    session.flush()
    return row


def record_check(
    session: Session,
    structure: Structure,
    person: Beneficiary,
    check: Check,
    *,
    today: date,
    now: datetime,
) -> BeneficiaryCriterion:
    """A facilitator records a new check of a person's criterion (renewed, or one more): the
    months from its date count again, for its validity. The caller commits."""
    locked(session, Beneficiary, [person.id])  # two checks of one person take turns
    problems = _public_problems(
        (check.public,), check.reason, check.pass_iae, person.age_band, check.checked_on, today
    )
    checker = _checker(session, structure, check.checked_by, problems)
    if (
        not problems
        and session.exec(
            select(BeneficiaryCriterion.id).where(
                BeneficiaryCriterion.beneficiary_id == person.id,
                BeneficiaryCriterion.public == check.public,
                BeneficiaryCriterion.checked_on == check.checked_on,
            )
        ).first()
    ):
        problems.append(("checked_on", (
            f"la vérification du {fr_date(check.checked_on)} de ce public est déjà enregistrée "
            f"pour {person.code}"
        )))  # fmt: skip
    _refuse(problems, "Vérification non enregistrée")
    row = BeneficiaryCriterion(
        beneficiary_id=person.id, public=check.public, checked_by_id=checker.id,
        checked_on=check.checked_on, created_at=now,
        reason=(check.reason or "").strip() or None if check.public == "other" else None,
        pass_iae=check.pass_iae and check.public == "siae",
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


def criteria_of(
    session: Session, beneficiary_ids
) -> dict[int, list[tuple[BeneficiaryCriterion, str]]]:
    """Every check of each person with its checker's e-mail, the earliest first."""
    found: dict[int, list[tuple[BeneficiaryCriterion, str]]] = {}
    ids = sorted(set(beneficiary_ids))
    if not ids:
        return found
    rows = session.exec(
        select(BeneficiaryCriterion, Facilitator.email)
        .join(Facilitator, Facilitator.id == BeneficiaryCriterion.checked_by_id)
        .where(BeneficiaryCriterion.beneficiary_id.in_(ids))
        .order_by(BeneficiaryCriterion.checked_on, BeneficiaryCriterion.id)
    ).all()
    for row, email in rows:
        found.setdefault(row.beneficiary_id, []).append((row, email))
    return found


def current_criteria(
    checks: list[tuple[BeneficiaryCriterion, str]], settings: EligibilitySettings
) -> list[tuple[BeneficiaryCriterion, str, date]]:
    """Each public of a person once, by its latest check, with the day that check holds until."""
    latest: dict[str, tuple[BeneficiaryCriterion, str]] = {}
    for row, email in checks:  # the earliest first: the latest wins
        latest[row.public] = (row, email)
    order = {public: rank for rank, public in enumerate(PUBLICS)}
    return [
        (row, email, eligibility.valid_until(_rule_check(row), settings))
        for row, email in sorted(latest.values(), key=lambda item: order.get(item[0].public, 99))
    ]


def _rule_check(row: BeneficiaryCriterion) -> eligibility.Check:
    return eligibility.Check(row.public, row.checked_on, row.pass_iae)


def as_dict(
    beneficiary: Beneficiary,
    *,
    checker_email: str | None,
    name: str | None,
    checks: list[tuple[BeneficiaryCriterion, str]],
    settings: EligibilitySettings,
    today: date,
) -> dict:
    """``public``, ``checked_on`` and ``checked_by`` are those of the check made first (at
    registration); ``criteria`` gives each public once, by its latest check and its validity."""
    criteria = current_criteria(checks, settings)
    first = checks[0][0] if checks else None
    shown_reason = name is not None  # the facilitators of the structure only
    return {
        "code": beneficiary.code,
        "public": first.public if first else None,
        "public_label": PUBLICS.get(first.public, first.public) if first else None,
        "public_reason": next(
            (row.reason for row, _email, _until in criteria if row.reason), None
        ) if shown_reason else None,
        "checked_by": checker_email,
        "checked_on": first.checked_on.isoformat() if first else None,
        "publics": [row.public for row, _email, _until in criteria],
        "criteria": [
            {
                "public": row.public,
                "public_label": PUBLICS.get(row.public, row.public),
                "reason": row.reason if shown_reason else None,
                "pass_iae": row.pass_iae,
                "checked_by": email,
                "checked_on": row.checked_on.isoformat(),
                "valid_until": until.isoformat(),
                "valid": row.checked_on <= today <= until,
            }
            for row, email, until in criteria
        ],
        "sex": beneficiary.sex,
        "age_band": beneficiary.age_band,
        "age_band_label": AGE_BANDS.get(beneficiary.age_band, beneficiary.age_band),
        "name": name,
        "purged": beneficiary.purged_at is not None,
    }  # fmt: skip


def listing(session: Session, structure_id: int) -> list[tuple[Beneficiary, str]]:
    return list(
        session.exec(
            select(Beneficiary, Facilitator.email)
            .join(Facilitator, Facilitator.id == Beneficiary.checked_by_id)
            .where(Beneficiary.structure_id == structure_id)
            .order_by(Beneficiary.created_at.desc(), Beneficiary.id.desc())
        ).all()
    )


def documents(
    session: Session,
    people: list[tuple[Beneficiary, str]],
    *,
    role: str,
    org_id: int | None,
    settings: EligibilitySettings,
    today: date,
) -> list[dict]:
    """``as_dict`` of each (person, registering facilitator's e-mail), their checks in one query."""
    checks = criteria_of(session, [person.id for person, _email in people])
    return [
        as_dict(person, checker_email=email, checks=checks.get(person.id, []),
                name=visible_name(person, role=role, org_id=org_id), settings=settings, today=today)
        for person, email in people
    ]  # fmt: skip


def publics_of(session: Session, beneficiary_ids) -> dict[int, list[str]]:
    """Each person's criteria (every public checked, once), in the vocabulary's order."""
    ids = sorted({i for i in beneficiary_ids if i is not None})
    found: dict[int, set[str]] = {}
    if ids:
        rows = session.exec(
            select(BeneficiaryCriterion.beneficiary_id, BeneficiaryCriterion.public)
            .where(BeneficiaryCriterion.beneficiary_id.in_(ids))
            .distinct()
        ).all()
        for person_id, public in rows:
            found.setdefault(person_id, set()).add(public)
    order = list(PUBLICS)
    return {
        person_id: sorted(publics, key=lambda p: order.index(p) if p in order else 99)
        for person_id, publics in found.items()
    }


def publics_label(publics: list[str]) -> str:
    """« allocataire de minima sociaux (RSA, ASS, AAH) ou ayant droit ; résident d'un QPV »."""
    return " ; ".join(PUBLICS.get(public, public) for public in publics) or "—"
