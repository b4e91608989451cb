"""A structure's register of beneficiaries, kept by its facilitators: each person gets a
pseudonymous code, all a contractor ever reads; the name appears only to the facilitators of the
structure that registered the person."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from clausier import clock
from clausier.auth.policy import Action, may
from clausier.auth.tokens import Principal
from clausier.beneficiaries import service as beneficiaries
from clausier.beneficiaries.vocabulary import AGE_BANDS, PUBLICS, SEXES
from clausier.config import get_settings
from clausier.errors import ClausierError, NotFound
from clausier.partners.models import Facilitator, Structure
from clausier.web.common import (
    SessionDep,
    WebDep,
    blank_fields,
    check_csrf,
    name_for,
    principal_of,
    render,
    reserved_page,
)
from clausier.web.models import WebSession

router = APIRouter(include_in_schema=False)

_REGISTRATION_FIELDS = {
    "public": "public éligible",
    "public_reason": "motif du public",
    "sex": "sexe",
    "age_band": "tranche d'âge",
    "checked_by": "éligibilité vérifiée par",
    "checked_on": "éligibilité vérifiée le",
    "name": "nom",
}
_FACILITATORS_ONLY = (
    "Les bénéficiaires sont enregistrés et consultés par les facilitateurs de leur structure."
)
_REQUIRED = {
    "public": "choisissez le public éligible",
    "sex": "choisissez le sexe",
    "age_band": "choisissez la tranche d'âge",
    "checked_by": "choisissez qui a vérifié l'éligibilité",
}
_FIELD_IDS = {"sex": f"sex-{next(iter(SEXES))}", "age_band": f"age_band-{next(iter(AGE_BANDS))}"}


def _structure_of(session: Session, principal: Principal) -> Structure | None:
    return session.get(Structure, principal.org_id) if may(principal, Action.keep_people) else None


def _beneficiaries_page(
    request: Request,
    web: WebSession,
    session: Session,
    structure: Structure,
    *,
    values: dict | None = None,
    problems: list[tuple[str, str]] = (),
    issued: str | None = None,
    status: int = 200,
    checked: dict | None = None,
) -> Response:
    principal = principal_of(web)
    listed = beneficiaries.listing(session, structure.id)
    checks = beneficiaries.criteria_of(session, [person.id for person, _email in listed])
    settings = get_settings().eligibility
    people = [
        {
            "code": person.code,
            "name": name_for(person, principal),
            "criteria": [
                {"public": PUBLICS.get(row.public, row.public), "reason": row.reason,
                 "checked_by": email, "checked_on": row.checked_on, "valid_until": until,
                 "lapsed": until < clock.today()}
                for row, email, until in beneficiaries.current_criteria(
                    checks.get(person.id, []), settings
                )
            ],
            "sex": SEXES.get(person.sex, person.sex),
            "age_band": AGE_BANDS.get(person.age_band, person.age_band),
            "purged": person.purged_at is not None,
        }
        for person, _email in listed
    ]  # fmt: skip
    colleagues = session.exec(
        select(Facilitator)
        .where(Facilitator.structure_id == structure.id, Facilitator.active)
        .order_by(Facilitator.name)
    ).all()
    me = (web.person_email or "").lower()
    if values is None:  # the signed-in facilitator checked it, today
        mine = me in {person.email.lower() for person in colleagues}
        values = {"checked_by": me if mine else "", "checked_on": clock.today().isoformat()}
    errors = [
        {
            "anchor": _FIELD_IDS.get(field, field),
            "field": _REGISTRATION_FIELDS.get(field, field),
            "message": message,
        }
        for field, message in problems
    ]
    return render(
        request, "beneficiaires.html", web, status=status, structure=structure, people=people,
        colleagues=colleagues, values=values, errors=errors,
        field_errors={field: message for field, message in reversed(problems)}, issued=issued,
        publics=PUBLICS, sexes=SEXES, age_bands=AGE_BANDS, checked=checked,
        today_iso=clock.today().isoformat(),
    )  # fmt: skip


@router.get("/beneficiaires")
def beneficiaries_page(
    request: Request,
    web: WebDep,
    session: SessionDep,
    nouveau: str | None = None,
    verifie: str | None = None,
) -> Response:
    structure = _structure_of(session, principal_of(web))
    if structure is None:
        return reserved_page(request, web, _FACILITATORS_ONLY)
    issued = None
    if nouveau:
        try:
            issued = beneficiaries.by_code(session, nouveau, structure_id=structure.id).code
        except NotFound:
            issued = None
    checked = {"code": verifie.strip().upper()[:12], "done": True} if verifie else None
    return _beneficiaries_page(request, web, session, structure, issued=issued, checked=checked)


def _day(raw: str) -> date | None:
    """ISO (a date field) or JJ/MM/AAAA (typed by hand)."""
    for parse in (date.fromisoformat, lambda text: date(*map(int, reversed(text.split("/"))))):
        try:
            return parse(raw.strip())
        except (TypeError, ValueError, OverflowError):  # 1/1/99999999999999999999 too
            continue
    return None


@dataclass
class _RegistrationForm:
    """The registration form's fields as typed, a blank one when left out; the page shows them
    back as they were when refused."""

    public: Annotated[list[str] | None, Form()] = None
    pass_iae: Annotated[str, Form()] = ""
    public_reason: Annotated[str, Form()] = ""
    sex: Annotated[str, Form()] = ""
    age_band: Annotated[str, Form()] = ""
    checked_by: Annotated[str, Form()] = ""
    checked_on: Annotated[str, Form()] = ""
    name: Annotated[str, Form()] = ""


@router.post("/beneficiaires")
def register_beneficiary(
    request: Request,
    web: WebDep,
    session: SessionDep,
    form: Annotated[_RegistrationForm, Depends()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(web, csrf)
    structure = _structure_of(session, principal_of(web))
    if structure is None:
        return reserved_page(request, web, _FACILITATORS_ONLY)
    values = asdict(form) | {"public": form.public or []}
    problems = blank_fields(values | {"public": " ".join(values["public"])}, _REQUIRED)
    day = _day(form.checked_on)
    if day is None:
        problems.append(("checked_on", "date de vérification invalide : attendu JJ/MM/AAAA"))
    registration = beneficiaries.Registration(
        publics=tuple(form.public or ()), sex=form.sex, age_band=form.age_band,
        checked_by=form.checked_by.strip(), checked_on=day or clock.today(),
        public_reason=form.public_reason or None, name=form.name or None,
        pass_iae=bool(form.pass_iae),
    )  # fmt: skip
    blank = {field for field, _message in problems}
    problems += [
        (field, message)
        for field, message in beneficiaries.problems_of(registration, today=clock.today())
        if field not in blank
    ]
    if problems:
        return _beneficiaries_page(request, web, session, structure, values=values,
                                   problems=problems, status=422)  # fmt: skip
    try:
        person = beneficiaries.register(
            session, structure, registration, today=clock.today(), now=clock.now()
        )
    except ClausierError as error:
        session.rollback()
        return _beneficiaries_page(request, web, session, structure, values=values,
                                   problems=[("checked_by", str(error))], status=422)  # fmt: skip
    session.commit()
    return RedirectResponse(f"/beneficiaires?nouveau={person.code}", status_code=303)


@dataclass
class _CheckForm:
    """A new check of a person's criterion: renewed, or one more."""

    public: Annotated[str, Form()] = ""
    checked_by: Annotated[str, Form()] = ""
    checked_on: Annotated[str, Form()] = ""
    reason: Annotated[str, Form()] = ""
    pass_iae: Annotated[str, Form()] = ""


@router.post("/beneficiaires/{code}/verifications")
def record_check(
    request: Request,
    web: WebDep,
    session: SessionDep,
    code: str,
    form: Annotated[_CheckForm, Depends()],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    check_csrf(web, csrf)
    structure = _structure_of(session, principal_of(web))
    if structure is None:
        return reserved_page(request, web, _FACILITATORS_ONLY)
    person = beneficiaries.by_code(session, code, structure_id=structure.id)  # else not found
    day = _day(form.checked_on)
    try:
        if day is None:
            raise beneficiaries.BeneficiaryRefused(
                "Vérification non enregistrée : date de vérification invalide, attendu JJ/MM/AAAA."
            )
        beneficiaries.record_check(
            session, structure, person,
            beneficiaries.Check(public=form.public, checked_by=form.checked_by.strip(),
                                checked_on=day, reason=form.reason or None,
                                pass_iae=bool(form.pass_iae)),
            today=clock.today(), now=clock.now(),
        )  # fmt: skip
    except ClausierError as error:
        session.rollback()
        return _beneficiaries_page(
            request, web, session, structure, status=422,
            checked={"code": person.code, "error": str(error)},
        )  # fmt: skip
    session.commit()
    return RedirectResponse(f"/beneficiaires?verifie={person.code}#{person.code}", status_code=303)
