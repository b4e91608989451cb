"""Beneficiaries, monthly hours declarations, their review, and the evaluation, over HTTP.

Who does what: the facilitators of the structure following a market register beneficiaries,
review lines and record the evaluation; the contractor holding a lot declares its hours; the
buyer reads. A name is returned only to the facilitators of the registering structure; a
contractor reads its workers' codes, modalities and hours, never their criteria, sex or age band
(``auth.policy``'s ``read_eligibility``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from clausier import clock
from clausier.api.deps import BodyFileDep, PrincipalDep, RowId, SessionDep, SettingsDep
from clausier.api.errors import DOCUMENTED
from clausier.auth.models import Role
from clausier.auth.policy import Action, may
from clausier.auth.scope import lot_in_scope, require, sees_other_lots, visible_market
from clausier.auth.tokens import Principal
from clausier.beneficiaries import outcomes, service
from clausier.beneficiaries.read import Beneficiaries, Beneficiary, Evaluation
from clausier.beneficiaries.vocabulary import BODY_KINDS, CONTRACT_TYPES, OUTCOMES, PUBLICS
from clausier.declarations import csv_upload, views
from clausier.declarations.bodies import InvoiceRef
from clausier.declarations.read import Declared, DeclaredMonths, LotDeclarations, Reviewed
from clausier.declarations.service import Decision, LineInput, declare, declare_months, review
from clausier.errors import InvalidInput, UnknownRecord
from clausier.offers.clause import MODALITIES
from clausier.partners.lookup import structure_named
from clausier.partners.models import Facilitator, Structure
from clausier.validation.identifiers import BENEFICIARY_CODE_PATTERN, SIRET_PATTERN
from clausier.validation.numbers import INVOICE_AMOUNT, MONTH_HOURS
from clausier.validation.texts import LongText, OptionalLabel, reason_required

router = APIRouter(prefix="/api", tags=["déclarations d'heures"], responses=DOCUMENTED)

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
Period = Annotated[str, Path(pattern=PERIOD, description="Le mois, AAAA-MM", examples=["2027-03"])]


def _actor(principal: Principal) -> str:
    return f"{principal.role.value}:{principal.label}"


def _one_of(vocabulary) -> dict:
    """The description's list of the codes a service checks a field against."""
    return {"type": "string", "enum": list(vocabulary)}


# the services check the codes and the hours (of a form and a CSV file too), the schema says them
Public = Annotated[str, WithJsonSchema(_one_of(PUBLICS))]
Modality = Annotated[str, WithJsonSchema(_one_of(MODALITIES))]
ContractType = Annotated[str, WithJsonSchema(_one_of(CONTRACT_TYPES))]
BeneficiaryCode = Annotated[str, WithJsonSchema({"type": "string", "pattern": BENEFICIARY_CODE_PATTERN})]  # fmt: skip
MonthHours = MONTH_HOURS.described()
BodyKind = Annotated[str, WithJsonSchema(_one_of(BODY_KINDS))]
BodySiret = Annotated[
    str, WithJsonSchema({"type": "string", "pattern": SIRET_PATTERN, "maxLength": 20})
]
InvoiceAmount = INVOICE_AMOUNT.described()


class NewBeneficiary(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=reason_required("public_reason", when=("public", "other"))
    )
    public: Public | None = Field(
        default=None,
        description="Public éligible : deld, minima_sociaux, jeune, rqth, senior, siae, plie, qpv, other (un seul critère ; « publics » pour plusieurs)",
    )  # fmt: skip
    publics: list[Public] = Field(
        default_factory=list, max_length=9,
        description="Les critères d'éligibilité de la personne, vérifiés le même jour (un allocataire du RSA résidant en QPV : [minima_sociaux, qpv])",
    )  # fmt: skip
    pass_iae: bool = Field(default=False, description="Le public « siae » est vérifié sur un PASS IAE (valable plus longtemps qu'un diagnostic)")  # fmt: skip
    public_reason: OptionalLabel | None = Field(
        default=None, description="Motif, pour un public « other »"
    )
    sex: Literal["F", "M"]
    age_band: Literal["under_26", "26_to_49", "50_plus"]
    checked_by: str = Field(description="E-mail du facilitateur qui a vérifié l'éligibilité")
    checked_on: date = Field(description="Date de la vérification")
    name: str | None = Field(
        default=None,
        max_length=120,
        description="Nom (facultatif ; visible des seuls facilitateurs de la structure)",
    )
    structure: str | None = Field(default=None, description="Structure (réservé à l'administration)")  # fmt: skip


class NewCheck(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=reason_required("reason", when=("public", "other"))
    )
    public: Public = Field(description="Le public vérifié")
    checked_by: str = Field(description="E-mail du facilitateur qui a vérifié l'éligibilité")
    checked_on: date = Field(description="Date de la vérification")
    reason: OptionalLabel | None = Field(default=None, description="Motif, pour un public « other »")  # fmt: skip
    pass_iae: bool = Field(default=False, description="Le public « siae » est vérifié sur un PASS IAE")  # fmt: skip


class LineBody(BaseModel):
    """A person's hours under a modality; or a subcontract (or co-contract) counted by its
    invoice: ``invoice_ref`` and ``invoice_amount`` instead of ``beneficiary`` and ``hours``,
    converted at the hourly cost of the market's convention (else the buyer's, else the
    default). A placement, a subcontract or a co-contract names its body (SIRET and kind)."""

    model_config = ConfigDict(extra="forbid")
    beneficiary: BeneficiaryCode | None = Field(default=None, max_length=20, description="Code du bénéficiaire, B-XXXXXXXX (absent pour une ligne de facture)")  # fmt: skip
    modality: Modality = Field(
        max_length=20,
        description="direct_hire, placement, subcontracting, co_contracting ou training",
    )
    hours: MonthHours | None = Field(default=None, description="Heures du mois (deux décimales au plus ; absentes pour une ligne de facture)")  # fmt: skip
    contract_type: ContractType | None = Field(default=None, max_length=20)  # fmt: skip
    body_siret: BodySiret | None = Field(default=None, max_length=20, description="SIRET de l'organisme (mise à disposition, sous-traitance, cotraitance)")  # fmt: skip
    body_kind: BodyKind | None = Field(default=None, max_length=12, description="Type d'organisme : etti, ai, geiq, temp_agency (mise à disposition) ; ei, aci, ea, esat (sous-traitance, cotraitance)")  # fmt: skip
    invoice_ref: InvoiceRef | None = Field(default=None, description="Référence de la facture (sous-traitance ou cotraitance comptée par facture)")  # fmt: skip
    invoice_amount: InvoiceAmount | None = Field(default=None, description="Montant HT de la facture, en euros")  # fmt: skip


class StatementBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[LineBody] = Field(default_factory=list, max_length=500, description="Vide : personne n'a travaillé ce mois-ci")  # fmt: skip


class DecisionBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra=reason_required("reason", when=("decision", "reject"))
    )
    line: int = Field(ge=1, le=2_147_483_647, description="Numéro de la ligne")
    decision: Literal["validate", "reject"]
    reason: LongText | None = Field(
        default=None, max_length=500, description="Obligatoire pour un rejet"
    )


class ReviewBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decisions: list[DecisionBody] = Field(min_length=1, max_length=500)


# the beneficiaries' codes and their outcomes, which the service checks
Outcomes = Annotated[dict[str, str], WithJsonSchema({
    "type": "object", "propertyNames": {"pattern": BENEFICIARY_CODE_PATTERN},
    "additionalProperties": _one_of(OUTCOMES),
})]  # fmt: skip


class EvaluationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    summary: LongText | None = Field(default=None, description="Le bilan de la clause")
    outcomes: Outcomes = Field(default_factory=dict, description=f"Sortie à six mois par code : {', '.join(OUTCOMES)}")  # fmt: skip
    early_reason: LongText | None = Field(
        default=None, max_length=500,
        description="Obligatoire pour une sortie enregistrée avant six mois après la fin d'exécution : pourquoi déjà",
    )  # fmt: skip


def _own_structure(session, principal: Principal, requested: str | None) -> Structure:
    if principal.role == Role.admin:
        if not requested:
            raise InvalidInput("« structure » est obligatoire pour l'administration.")
        return structure_named(session, requested)
    own = session.get(Structure, principal.org_id)
    if requested and requested not in (own.ref, own.name):
        raise UnknownRecord("Structure", requested)  # another structure's people do not exist
    return own


@router.get(
    "/beneficiaries",
    summary="Les bénéficiaires suivis par sa structure",
    response_model=Beneficiaries,
)
def list_beneficiaries(
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    structure: str | None = None,
) -> dict:
    require(principal, Role.facilitator)
    own = _own_structure(session, principal, structure)
    items = service.documents(
        session, service.listing(session, own.id), role=principal.role.value,
        org_id=principal.org_id, settings=settings.eligibility, today=clock.today(),
    )  # fmt: skip
    return {"items": items, "total": len(items)}


def _document(session, principal: Principal, person, settings) -> dict:
    registered_by = session.get(Facilitator, person.checked_by_id)
    return service.documents(
        session, [(person, registered_by.email)], role=principal.role.value,
        org_id=principal.org_id, settings=settings.eligibility, today=clock.today(),
    )[0]  # fmt: skip


@router.post(
    "/beneficiaries",
    status_code=201,
    summary="Enregistrer un bénéficiaire (code pseudonyme délivré)",
    response_model=Beneficiary,
)
def create_beneficiary(
    body: NewBeneficiary, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict:
    require(principal, Role.facilitator)
    own = _own_structure(session, principal, body.structure)
    registration = service.Registration(
        publics=tuple(([body.public] if body.public else []) + list(body.publics)),
        sex=body.sex,
        age_band=body.age_band,
        checked_by=body.checked_by,
        checked_on=body.checked_on,
        public_reason=body.public_reason,
        name=body.name,
        pass_iae=body.pass_iae,
    )
    person = service.register(session, own, registration, today=clock.today(), now=clock.now())
    session.commit()
    return _document(session, principal, person, settings)


@router.post(
    "/beneficiaries/{code}/checks",
    status_code=201,
    summary="Enregistrer une nouvelle vérification d'un critère d'éligibilité (renouvelée, ou un critère de plus)",
    response_model=Beneficiary,
)  # fmt: skip
def record_check(
    code: Annotated[str, Path(max_length=20, description="Code du bénéficiaire, B-XXXXXXXX")],
    body: NewCheck,
    session: SessionDep,
    principal: PrincipalDep,
    settings: SettingsDep,
    structure: str | None = None,
) -> dict:
    require(principal, Role.facilitator)
    own = _own_structure(session, principal, structure)
    person = service.by_code(session, code, structure_id=own.id)
    check = service.Check(
        public=body.public, checked_by=body.checked_by, checked_on=body.checked_on,
        reason=body.reason, pass_iae=body.pass_iae,
    )  # fmt: skip
    service.record_check(session, own, person, check, today=clock.today(), now=clock.now())
    session.commit()
    return _document(session, principal, person, settings)


@router.get(
    "/lots/{lot_id}/declarations",
    summary="Les relevés mensuels d'un lot et leur contrôle",
    response_model=LotDeclarations,
)
def lot_declarations(lot_id: RowId, session: SessionDep, principal: PrincipalDep) -> dict:
    lot, market = lot_in_scope(session, principal, lot_id)
    statements = views.lot_statements(
        session, lot, role=principal.role.value, org_id=principal.org_id,
        eligibility=may(principal, Action.read_eligibility),
    )  # fmt: skip
    return {"market": market.ref, "lot": lot.number, "hours": lot.hours,
            "hours_validated": str(lot.hours_validated), "statements": statements}  # fmt: skip


def _declared(session, principal, lot, market, result, statements=None) -> dict:
    """``statements``: the months declared, read once for several."""
    if statements is None:
        statements = views.lot_statements(
            session, lot, role=principal.role.value, org_id=principal.org_id,
            only=(result.statement.period,), eligibility=may(principal, Action.read_eligibility),
        )  # fmt: skip
    return {
        "market": market.ref, "lot": lot.number, "period": result.statement.period,
        "added": result.added, "changed": result.changed, "unchanged": result.unchanged,
        "withdrawn": result.withdrawn, "amendments": result.statement.amendments,
        "statement": next(s for s in statements if s["period"] == result.statement.period),
    }  # fmt: skip


@router.put(
    "/lots/{lot_id}/declarations/{period}",
    summary="Déclarer (ou corriger) les heures d'un mois",
    response_model=Declared,
)
def put_declaration(
    lot_id: RowId, period: Period, body: StatementBody, session: SessionDep,
    principal: PrincipalDep, settings: SettingsDep,
) -> dict:  # fmt: skip
    require(principal, Role.contractor)
    lot, market = lot_in_scope(session, principal, lot_id)
    lines = [LineInput(line.beneficiary, line.modality, line.hours, line.contract_type, rank,
                       body_siret=line.body_siret, body_kind=line.body_kind,
                       invoice_ref=line.invoice_ref, invoice_amount=line.invoice_amount)
             for rank, line in enumerate(body.lines, start=1)]  # fmt: skip
    result = declare(
        session, lot=lot, period=period, lines=lines, actor=_actor(principal), settings=settings,
        today=clock.today(), now=clock.now(), show_other_lots=sees_other_lots(principal),
    )  # fmt: skip
    session.commit()
    return _declared(session, principal, lot, market, result)


@router.post(
    "/lots/{lot_id}/declarations.csv",
    summary="Déclarer des mois d'heures par un fichier CSV (tout ou rien)",
    description="Le fichier est lu au fil de l'envoi : limits.statement_csv_bytes au plus "
    "(413 au-delà) et limits.statement_lines lignes par mois.",
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    response_model=DeclaredMonths,
)
def post_declarations_csv(
    lot_id: RowId, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
    body: BodyFileDep, period: Annotated[str | None, Query(json_schema_extra={"pattern": PERIOD})] = None,
) -> dict:  # fmt: skip
    require(principal, Role.contractor)
    lot, market = lot_in_scope(session, principal, lot_id)
    months = csv_upload.by_period(body, source="fichier CSV", period=period,
                                  max_lines=settings.limits.statement_lines)  # fmt: skip
    results = declare_months(
        session, lot=lot, months=months, source="fichier CSV", actor=_actor(principal),
        settings=settings, today=clock.today(), now=clock.now(),
        show_other_lots=sees_other_lots(principal),
    )  # fmt: skip
    session.commit()
    statements = views.lot_statements(
        session, lot, role=principal.role.value, org_id=principal.org_id, only=months,
        eligibility=may(principal, Action.read_eligibility),
    )  # fmt: skip
    return {"market": market.ref, "lot": lot.number,
            "months": [_declared(session, principal, lot, market, r, statements) for r in results]}  # fmt: skip


@router.post(
    "/declarations/review",
    summary="Valider ou rejeter (avec le motif) des lignes déclarées",
    response_model=Reviewed,
)
def post_review(
    body: ReviewBody, session: SessionDep, principal: PrincipalDep, settings: SettingsDep
) -> dict:
    require(principal, Role.facilitator)
    decisions = [Decision(d.line, d.decision == "validate", d.reason) for d in body.decisions]
    lines = review(
        session,
        decisions,
        actor=_actor(principal),
        settings=settings,
        today=clock.today(),
        now=clock.now(),
        structure_id=None if principal.role == Role.admin else principal.org_id,
    )
    session.commit()
    return {"items": [{"id": line.id, "status": line.status, "reason": line.review_reason}
                      for line in lines]}  # fmt: skip


def _evaluation(session, market) -> dict:
    standing = outcomes.standing(session, market)
    return {
        "market": market.ref, "state": market.state, "summary": market.evaluation,
        "evaluated_at": market.evaluated_at.isoformat() if market.evaluated_at else None,
        "outcomes": [
            {"beneficiary": code, "outcome": outcome,
             "outcome_label": OUTCOMES[outcome] if outcome else None}
            for code, outcome in standing.people
        ],
        "missing": standing.missing,
    }  # fmt: skip


@router.get(
    "/markets/{ref:ref}/evaluation",
    summary="L'évaluation : bilan et sorties à six mois",
    response_model=Evaluation,
)
def get_evaluation(ref: str, session: SessionDep, principal: PrincipalDep) -> dict:
    require(principal, Role.buyer, Role.facilitator)
    return _evaluation(session, visible_market(session, principal, ref))


@router.put(
    "/markets/{ref:ref}/evaluation",
    summary="Enregistrer le bilan et les sorties à six mois",
    response_model=Evaluation,
)
def put_evaluation(
    ref: str, body: EvaluationBody, session: SessionDep, principal: PrincipalDep
) -> dict:
    require(principal, Role.facilitator)
    market = visible_market(session, principal, ref)
    outcomes.record(session, market, summary=body.summary, outcomes=body.outcomes,
                    actor=_actor(principal), now=clock.now(),
                    early_reason=body.early_reason)  # fmt: skip
    session.commit()
    return _evaluation(session, market)
