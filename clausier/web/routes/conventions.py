"""Partnership conventions: the list within the caller's reach, a buyer's new convention
(territories picked by name), renewing and terminating one; and the notice of those to renew
that the home pages show."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from clausier import clock
from clausier.auth.policy import Action, may, require_to
from clausier.auth.scope import buyer_condition, convention_condition
from clausier.auth.tokens import Principal
from clausier.errors import InvalidInput, Refused, UnknownRecord
from clausier.http.session import SessionDep
from clausier.http.status import status_for
from clausier.markets.models import Market
from clausier.partners.models import Buyer, Structure
from clausier.partnerships import periods
from clausier.partnerships import service as conventions
from clausier.partnerships.models import (
    CONVENTION_STATUS_LABELS,
    SERVICE_LABELS,
    TERRITORY_KIND_LABELS,
    Convention,
    ConventionService,
    ConventionStatus,
    ConventionTerritory,
    Renewal,
    Service,
)
from clausier.partnerships.read import Convention as ConventionDocument
from clausier.referential import search
from clausier.referential.models import Commune
from clausier.referential.service import TerritoryIndex, territory_problem
from clausier.validation.identifiers import territory_kind_of
from clausier.validation.numbers import HOURLY_COST, INSERTION_RATE, PENALTY_PER_HOUR
from clausier.web.common import (
    FormDep,
    WebDep,
    actor_of,
    check_csrf,
    form_text,
    principal_of,
    render,
)
from clausier.web.models import WebSession

router = APIRouter(include_in_schema=False)

YEARS_SAID = f"entre {conventions.YEARS.start} et {conventions.YEARS.stop - 1}"
TERRITORY_FIELDS = 6  # a form without script: enough for an EPCI and a few communes
RENEWAL_LABELS = {Renewal.tacit: "tacite", Renewal.explicit: "expresse"}
DONE = {
    "creee": "Convention enregistrée.",
    "renouvelee": "Convention renouvelée.",
    "resiliee": "Convention résiliée.",
}
# the form's fields: their label in the error summary, and the domain's (load file's) name
LABELS = {
    "ref": "référence", "acheteur": "acheteur", "structure": "structure", "debut": "début",
    "fin": "fin", "renouvellement": "reconduction", "limite": "limite des reconductions",
    "territoires": "territoires",
    "services": "services", "taux": "taux d'insertion", "cout": "coût horaire moyen",
    "penalite": "pénalité par heure manquante",
}  # fmt: skip
FROM_DOMAIN = {
    "ref": "ref", "buyer": "acheteur", "structure": "structure", "starts_on": "debut",
    "ends_on": "fin", "renewal": "renouvellement", "renewal_until": "limite",
    "territories": "territoires",
    "services": "services", "insertion_rate": "taux", "hourly_cost": "cout",
    "penalty_per_hour": "penalite",
}  # fmt: skip


# --- reading ------------------------------------------------------------------------------------


def _visible(session: Session, principal: Principal, ref: str) -> Convention:
    """The convention by its ref within the caller's reach: out of it, not found."""
    convention = session.exec(
        select(Convention).where(Convention.ref == ref, convention_condition(principal))
    ).first()
    if convention is None:
        raise UnknownRecord("Convention", ref)
    return convention


@dataclass
class ConventionView:
    """A convention as its pages show it: the document the API lists (``GET /api/conventions``,
    the same builder and model), and beside it what the pages add: the parties' names, the
    territories and services in words, its renewals and figures (``row``), what may be done."""

    document: ConventionDocument
    row: Convention
    buyer: str
    structure: str
    territories: list[dict]
    services: list[str]
    to_renew: bool
    renewable: bool
    next_end: date | None
    terminable: bool

    @property
    def status_label(self) -> str:
        return CONVENTION_STATUS_LABELS[self.document.status]

    @property
    def renewal_label(self) -> str:
        return RENEWAL_LABELS[self.document.renewal]


def _described(
    session: Session, rows: list[Convention], request: Request, principal
) -> list[ConventionView]:
    """What the list and the detail show of each convention, in words."""
    today, ids = clock.today(), [c.id for c in rows]
    buyers = {
        b.id: b for b in session.exec(select(Buyer).where(Buyer.id.in_({c.buyer_id for c in rows})))
    }
    structures = {s.id: s for s in session.exec(select(Structure).where(Structure.id.in_({c.structure_id for c in rows})))}  # fmt: skip
    territories: dict[int, list] = {i: [] for i in ids}
    for row in session.exec(
        select(ConventionTerritory)
        .where(ConventionTerritory.convention_id.in_(ids))
        .order_by(ConventionTerritory.kind, ConventionTerritory.code)
    ):
        known = search.territory(session, row.kind, row.code)
        territories[row.convention_id].append(
            {
                "label": known.name if known else row.code,
                "kind": TERRITORY_KIND_LABELS[row.kind],
                "code": row.code,
            }
        )
    services: dict[int, set] = {i: set() for i in ids}
    for row in session.exec(
        select(ConventionService).where(ConventionService.convention_id.in_(ids))
    ):
        services[row.convention_id].add(row.service)
    rules = request.app.state.settings.reminders
    recipient = conventions.recipient_for(principal.role)
    described = []
    for c in rows:
        document = ConventionDocument.model_validate(periods.convention_document(c, today))
        renewable = (
            document.renewal == Renewal.explicit and document.status == ConventionStatus.active
        )
        described.append(ConventionView(
            document=document,
            row=c,
            buyer=buyers[c.buyer_id].name,
            structure=structures[c.structure_id].name,
            territories=territories[c.id],
            services=[SERVICE_LABELS[s] for s in Service if s.value in services[c.id]],
            to_renew=conventions.to_renew(c, today=today, rules=rules, recipient=recipient),
            renewable=renewable,
            next_end=periods.end_of_period(c, c.renewals + 1) if renewable else None,
            terminable=c.terminated_on is None and document.status != ConventionStatus.expired,
        ))  # fmt: skip
    return described


def to_renew_notice(request: Request, session: Session, web: WebSession) -> list[dict]:
    """The conventions to renew within the caller's reach, for a home page's notice (none for
    a person who reads no conventions)."""
    principal = principal_of(web)
    if not may(principal, Action.read_conventions):
        return []
    today = clock.today()
    rows = conventions.conventions_to_renew(
        session, today=today, rules=request.app.state.settings.reminders,
        recipient=conventions.recipient_for(principal.role), within=convention_condition(principal),
    )  # fmt: skip
    names = dict(session.exec(select(Structure.id, Structure.name)).all()) if rows else {}
    return [
        {"ref": c.ref, "structure": names.get(c.structure_id, ""), "ends_on": periods.final_end(c, today)}
        for c in rows
    ]  # fmt: skip


@router.get("/conventions")
def listing(request: Request, web: WebDep, session: SessionDep) -> Response:
    principal = principal_of(web)
    require_to(principal, Action.read_conventions)
    rows = session.exec(
        select(Convention).where(convention_condition(principal)).order_by(Convention.ref)
    ).all()
    return render(
        request, "conventions.html", web, rows=_described(session, list(rows), request, principal)
    )


# --- a new convention ---------------------------------------------------------------------------


def _day(raw: str, *, any_year: bool = False) -> date | None:
    """ISO (a date field) or JJ/MM/AAAA (typed by hand), within the years a convention spans
    (``conventions.YEARS``: periods counted from year 1 or to 9999 would overflow), unless
    ``any_year``: a new convention's dates, whose years the convention's rule checks."""
    text = raw.strip()
    try:
        if re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", text):
            day, month, year = map(int, text.split("/"))
            found = date(year, month, day)
        else:
            found = date.fromisoformat(text)
    except ValueError:
        return None
    return found if any_year or found.year in conventions.YEARS else None


def _buyers_for(session: Session, principal: Principal) -> list[Buyer]:
    """Whom the caller may sign a convention for: a buyer itself, an operator any buyer."""
    return list(session.exec(select(Buyer).where(buyer_condition(principal)).order_by(Buyer.name)))


def _group(field: str) -> str:
    """The field a problem is about: each territory's input is one of the territories."""
    return "territoires" if field.startswith("territoire-") else field


def _label(field: str) -> str:
    if field.startswith("territoire-"):
        return f"territoire {field.removeprefix('territoire-')}"
    return LABELS.get(field, field)


def _form_page(
    request: Request, web: WebSession, session: Session, values: dict,
    problems: list[tuple[str, str]] = (), status: int = 200,
) -> Response:  # fmt: skip
    principal = principal_of(web)
    buyers = _buyers_for(session, principal)
    ids = [b.id for b in buyers]
    # the communes offered: those of the départements of the buyers' markets and conventions
    places = set(session.exec(
        select(Commune.departement_code).join(Market, Market.commune_code == Commune.code)
        .where(Market.buyer_id.in_(ids)).distinct()
    ).all()) | set(session.exec(
        select(Commune.departement_code)
        .join(ConventionTerritory, ConventionTerritory.code == Commune.code)
        .join(Convention, Convention.id == ConventionTerritory.convention_id)
        .where(Convention.buyer_id.in_(ids), ConventionTerritory.kind == "commune").distinct()
    ).all()) | set(session.exec(
        select(ConventionTerritory.code)
        .join(Convention, Convention.id == ConventionTerritory.convention_id)
        .where(Convention.buyer_id.in_(ids), ConventionTerritory.kind == "departement")
    ).all())  # fmt: skip
    errors = [{"anchor": field, "field": _label(field), "message": message}
              for field, message in problems]  # fmt: skip
    return render(
        request, "convention_form.html", web, status=status, values=values, errors=errors,
        field_errors={field: message for field, message in reversed(problems)},
        buyers=buyers, structures=session.exec(select(Structure).order_by(Structure.name)).all(),
        suggestions=search.suggestions(session, places), services=SERVICE_LABELS,
        renewals=RENEWAL_LABELS, territory_fields=range(1, TERRITORY_FIELDS + 1),
    )  # fmt: skip


@router.get("/conventions/nouvelle")
def new_convention(request: Request, web: WebDep, session: SessionDep) -> Response:
    require_to(principal_of(web), Action.write_conventions)
    today = clock.today()
    values = {
        "ref": conventions.next_ref(session, today.year),
        "debut": today.isoformat(),
        "fin": date(today.year, 12, 31).isoformat(),
        "renouvellement": Renewal.explicit.value,
        "services": [s.value for s in Service],
        "territoires": [""] * TERRITORY_FIELDS,
    }
    return _form_page(request, web, session, values)


@router.post("/conventions/nouvelle")
def create_convention(
    request: Request, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    require_to(principal, Action.write_conventions)
    values = {key: form_text(form.get(key)) for key in ("ref", "acheteur", "structure", "debut", "fin",
                                                        "renouvellement", "limite", "taux", "cout",
                                                        "penalite")}  # fmt: skip
    typed = [form_text(v) for v in form.getlist("territoire")][:TERRITORY_FIELDS]
    values["territoires"] = typed + [""] * (TERRITORY_FIELDS - len(typed))
    values["services"] = [form_text(v) for v in form.getlist("service")]
    problems: list[tuple[str, str]] = []
    buyers = {b.siret: b for b in _buyers_for(session, principal)}
    buyer = buyers.get(values["acheteur"]) or (
        next(iter(buyers.values())) if len(buyers) == 1 else None
    )
    if buyer is None:
        problems.append(("acheteur", "choisissez l'acheteur qui signe la convention"))
    if not values["structure"]:
        problems.append(("structure", "choisissez la structure partenaire"))
    days = {}
    for field, word in (("debut", "début"), ("fin", "fin")):
        days[field] = _day(values[field], any_year=True) if values[field] else None
        if not values[field]:
            problems.append((field, f"indiquez la date de {word}"))
        elif days[field] is None:
            problems.append((field, f"date de {word} invalide : attendu JJ/MM/AAAA"))
    # a tacit convention's cap, optional (left empty: it renews on)
    days["limite"] = _day(values["limite"], any_year=True) if values["limite"] else None
    if values["limite"] and days["limite"] is None:
        problems.append(("limite", "date limite invalide : attendu JJ/MM/AAAA"))
    codes = []
    for number, text in enumerate(values["territoires"], start=1):
        if text:
            try:
                codes.append(search.named(session, text).code)
            except InvalidInput as error:
                # a code typed is refused in the words a load file's or an API body's gets
                code = text.strip().upper()
                coded = territory_kind_of(code) and territory_problem(TerritoryIndex(session), code)
                problems.append((f"territoire-{number}", coded or str(error)))
    if not any(values["territoires"]):
        problems.append(("territoire-1", "indiquez au moins un territoire couvert"))
    if values["renouvellement"] not in RENEWAL_LABELS:
        problems.append(("renouvellement", "choisissez une reconduction tacite ou expresse"))
    if not values["services"]:
        problems.append(("services", "cochez au moins un service rendu par la structure"))
    elif not set(values["services"]) <= set(SERVICE_LABELS):
        problems.append(("services", "cochez les services parmi ceux de la liste"))
    rate = cost = None  # the rules of a load file's and an API body's figures
    for field, rule, in_percent in (("taux", INSERTION_RATE, True), ("cout", HOURLY_COST, False)):
        if values[field]:
            try:
                value = rule.read(values[field], in_percent=in_percent)
            except ValueError as error:
                problems.append((field, f"« {values[field]} » : {error}"))
            else:
                rate, cost = (value, cost) if field == "taux" else (rate, value)
    penalty = None  # the rule of a load file's and an API body's penalty
    if values["penalite"]:
        try:
            penalty = PENALTY_PER_HOUR.read(values["penalite"])
        except ValueError as error:
            problems.append(("penalite", f"« {values['penalite']} » : {error}"))
    raw = {
        "ref": values["ref"], "buyer": buyer.siret if buyer else "", "structure": values["structure"],
        "starts_on": days["debut"], "ends_on": days["fin"], "renewal": values["renouvellement"],
        "renewal_until": days["limite"],
        "territories": codes, "services": values["services"],
        "insertion_rate": rate, "hourly_cost": cost, "penalty_per_hour": penalty,
    }  # fmt: skip
    wrong = {_group(field) for field, _message in problems}  # said once, by the page
    _row, found = conventions.convention_problems(session, raw)
    for field, message in found:
        mine = FROM_DOMAIN.get(field, "ref")
        if mine not in wrong:
            problems.append(("territoire-1" if mine == "territoires" else mine, message))
    if not problems:
        try:
            conventions.create(session, raw, today=clock.today(), actor=actor_of(web))
        except (Refused, InvalidInput) as error:
            session.rollback()
            problems.append(("ref", str(error)))
    if problems:
        session.rollback()
        return _form_page(request, web, session, values, problems, status=422)
    session.commit()
    return RedirectResponse(f"/conventions/{values['ref']}?fait=creee", status_code=303)


# --- one convention -----------------------------------------------------------------------------


def _detail_page(
    request: Request, web: WebSession, session: Session, ref: str, *,
    done: str | None = None, refusal: str | None = None, status: int = 200,
) -> Response:  # fmt: skip
    principal = principal_of(web)
    convention = _visible(session, principal, ref)
    (shown,) = _described(session, [convention], request, principal)
    return render(
        request, "convention.html", web, status=status, c=shown, done=DONE.get(done or ""),
        refusal=refusal, today=clock.today().isoformat(),
    )  # fmt: skip


@router.get("/conventions/{ref:ref}")
def convention(
    request: Request, ref: str, web: WebDep, session: SessionDep, fait: str | None = None
) -> Response:
    require_to(principal_of(web), Action.read_conventions)
    return _detail_page(request, web, session, ref, done=fait)


def _change(
    request: Request, web: WebSession, session: Session, ref: str, form, change
) -> Response:
    """A renewal or a termination of a convention within reach; a refusal is said on its page,
    nothing written."""
    check_csrf(web, form_text(form.get("csrf")))
    principal = principal_of(web)
    require_to(principal, Action.write_conventions)
    _visible(session, principal, ref)
    try:
        done = change()
    except (Refused, InvalidInput) as error:
        session.rollback()
        return _detail_page(
            request, web, session, ref, refusal=str(error), status=status_for(error)
        )
    session.commit()
    return RedirectResponse(f"/conventions/{ref}?fait={done}", status_code=303)


@router.post("/conventions/{ref:ref}/renouveler")
def renew(request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep) -> Response:
    seen = form_text(form.get("renouvellements"))

    def change() -> str:
        conventions.renew(
            session, ref, today=clock.today(), actor=actor_of(web),
            expected_renewals=int(seen) if seen.isascii() and seen.isdigit() and len(seen) < 6 else None,
        )  # fmt: skip
        return "renouvelee"

    return _change(request, web, session, ref, form, change)


@router.post("/conventions/{ref:ref}/resilier")
def terminate(
    request: Request, ref: str, web: WebDep, session: SessionDep, form: FormDep
) -> Response:
    typed = form_text(form.get("le"))

    def change() -> str:
        on = _day(typed) if typed else None
        if on is None:
            raise InvalidInput(
                f"Date de résiliation invalide : attendu JJ/MM/AAAA, {YEARS_SAID}." if typed
                else "Indiquez la date à compter de laquelle la convention est résiliée."
            )  # fmt: skip
        conventions.terminate(session, ref, on=on, today=clock.today(), actor=actor_of(web))
        return "resiliee"

    return _change(request, web, session, ref, form, change)
