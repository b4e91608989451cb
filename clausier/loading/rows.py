"""The shape of each record of a load file (DESIGN.md, "The load file").

Checks that need nothing but the row live here (SIRET key, dates in order, hours ≥ 0); checks
against the store or the rest of the file (known buyer, official codes) live in the loader.
"""

from __future__ import annotations

import itertools
import re
from contextlib import suppress
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StrictStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from clausier.beneficiaries.vocabulary import (
    AGE_BANDS,
    BODY_KINDS,
    CONTRACT_TYPES,
    OUTCOMES,
    PUBLICS,
    SEXES,
)
from clausier.declarations import bodies
from clausier.offers.clause import MODALITIES
from clausier.offers.instruments import INSTRUMENT_CODES
from clausier.partners.models import StructureKind
from clausier.partnerships.models import Renewal, Service
from clausier.validation.identifiers import (
    BENEFICIARY_CODE_PATTERN,
    COMMUNE_PATTERN,
    CPV_PATTERN,
    EMAIL_PATTERN,
    REF_PATTERN,
    SIRET_PATTERN,
    TERRITORY_PATTERN,
    siret_problem,
)
from clausier.validation.numbers import (
    AMOUNT,
    HOURLY_COST,
    INSERTION_RATE,
    INVOICE_AMOUNT,
    LOT_HOURS,
    MONTH_HOURS,
    PENALTY_PER_HOUR,
    QPV_TARGET,
)
from clausier.validation.texts import REASON_MIN, Label, LongText, OptionalLabel, reason_required
from workflow.lifecycle import STATE_NAMES


def _siret(value: str) -> str:
    problem = siret_problem(value)
    if problem:
        raise ValueError(f"SIRET « {value} » invalide : {problem}")
    return value.replace(" ", "")


def _cpv(value: str) -> str:
    if not re.fullmatch(CPV_PATTERN, value):
        raise ValueError(f"code CPV « {value} » invalide : attendu 8 chiffres (ex. 45454000)")
    return value


def _ref(value: str) -> str:
    if not re.fullmatch(REF_PATTERN, value):
        raise ValueError(
            f"référence « {value} » invalide : lettres, chiffres, « - », « _ », « . » ou « / », "
            "64 caractères au plus"
        )
    return value


def _text(pattern: str, description: str) -> WithJsonSchema:
    """What the API's description says of a code the validator checks (or the store knows)."""
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


# the shape only: a SIRET's key (Luhn), a commune or territory of the official table are checked
# by the validator or against the store, beyond what a pattern says
Siret = Annotated[StrictStr, AfterValidator(_siret),
                  _text(SIRET_PATTERN, "SIRET : 14 chiffres, clé de Luhn comprise")]  # fmt: skip
Modality = Literal[MODALITIES]  # type: ignore[valid-type]
BodyKind = Literal[tuple(BODY_KINDS)]  # type: ignore[valid-type]
Ref = Annotated[StrictStr, AfterValidator(_ref), _text(REF_PATTERN, "Référence")]
Commune = Annotated[StrictStr, _text(COMMUNE_PATTERN, "Code INSEE d'une commune")]
Territory = Annotated[
    StrictStr, _text(TERRITORY_PATTERN, "Code INSEE d'une commune, SIREN d'un EPCI ou département")
]
Cpv = Annotated[StrictStr, AfterValidator(_cpv), _text(CPV_PATTERN, "Code CPV, ex. 45454000")]
Email = Annotated[EmailStr, WithJsonSchema(
    {"type": "string", "format": "email", "pattern": EMAIL_PATTERN, "description": "Adresse e-mail"}
)]  # fmt: skip
Text = Label
Amount = AMOUNT.checked()
HourlyCost = HOURLY_COST.checked()
InsertionRate = INSERTION_RATE.checked()
QpvTarget = QPV_TARGET.checked()
PenaltyPerHour = PENALTY_PER_HOUR.checked()
InstrumentCode = Literal[INSTRUMENT_CODES]  # type: ignore[valid-type]
MonthHours = MONTH_HOURS.checked()
InvoiceAmount = INVOICE_AMOUNT.checked()
LotHours = LOT_HOURS.checked_int()
# a convention's dates: beyond, its periods (counted by years) would overflow a date
CONVENTION_YEARS = range(2000, 2100)
# what the description says of them: a date of the years 2000 to 2099
ConventionDay = Annotated[
    date, WithJsonSchema({"type": "string", "format": "date", "pattern": r"^20[0-9]{2}-"})
]


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class BuyerRow(Row):
    siret: Siret
    name: Text
    email: Email
    hourly_cost: HourlyCost | None = None
    insertion_rate: InsertionRate | None = None
    penalty_per_hour: PenaltyPerHour | None = None  # € per missing insertion hour
    active: bool | None = None  # the directory's deactivation; absent: as it is (new: active)


class FacilitatorRow(Row):
    email: Email
    name: Text
    active: bool = True
    digest: bool = True  # one e-mail a day gathering the reminders


class StructureRow(Row):
    ref: Ref
    name: Text
    kind: StructureKind
    email: Email
    active: bool | None = None  # the directory's deactivation; absent: as it is (new: active)
    facilitators: list[FacilitatorRow] = Field(default_factory=list)


class ContractorRow(Row):
    siret: Siret
    name: Text
    email: Email
    active: bool | None = None  # the directory's deactivation; absent: as it is (new: active)


class ConventionRow(Row):
    # a cap on renewals is a tacit convention's (the validator below says it in words)
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"renewal": {"const": "explicit"}}, "required": ["renewal"]},
        "then": {"properties": {"renewal_until": {"type": "null"}}},
    })  # fmt: skip

    ref: Ref
    buyer: Siret
    structure: Ref
    starts_on: ConventionDay
    ends_on: ConventionDay
    renewal: Renewal
    renewal_until: ConventionDay | None = None  # tacit: the last day its renewals may reach
    territories: list[Territory] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    hourly_cost: HourlyCost | None = None
    insertion_rate: InsertionRate | None = None
    penalty_per_hour: PenaltyPerHour | None = None  # € per missing hour, over the buyer's
    draft: bool = False

    @field_validator("starts_on", "ends_on", "renewal_until")
    @classmethod
    def _within_years(cls, day: date | None) -> date | None:
        if day is not None and day.year not in CONVENTION_YEARS:
            raise ValueError(
                f"attendu : une date entre {CONVENTION_YEARS.start} et {CONVENTION_YEARS.stop - 1}"
            )
        return day

    @model_validator(mode="after")
    def _dates_in_order(self) -> ConventionRow:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on : la fin de la convention précède son début")
        if self.renewal_until is not None and self.renewal != Renewal.tacit:
            raise ValueError(
                "renewal_until : seule une reconduction tacite a une limite ; une convention à "
                "reconduction expresse prend fin à chaque échéance, sauf renouvellement"
            )
        if self.renewal_until is not None and self.renewal_until < self.ends_on:
            raise ValueError(
                "renewal_until : la limite des reconductions précède la fin de la première période"
            )
        return self


class LotRow(Row):
    number: Annotated[int, Field(ge=1, le=999)]
    title: Text
    cpv: Cpv | None = None  # a market split by trade: the lot's own; absent: the market's
    amount: Amount
    hours: LotHours | None = None
    clause_text: LongText | None = None
    contractor: Siret | None = None
    modalities: list[Modality] | None = None
    # the clause's legal instrument (``offers.instruments``); absent: a condition of execution
    instrument: InstrumentCode = "execution_condition"


class MarketRow(Row):
    ref: Ref
    buyer: Siret
    title: Text
    commune: Commune
    cpv: Cpv
    amount: Amount
    consultation_on: date | None = None
    award_on: date | None = None
    execution_starts_on: date | None = None
    execution_ends_on: date | None = None
    state: Literal[STATE_NAMES] | None = None  # type: ignore[valid-type]
    # urban renewal (ANRU / NPNRU): the share of insertion hours reserved to QPV residents
    qpv_target: QpvTarget | None = None
    lots: list[LotRow] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> MarketRow:
        chain = [
            ("consultation_on", self.consultation_on),
            ("award_on", self.award_on),
            ("execution_starts_on", self.execution_starts_on),
            ("execution_ends_on", self.execution_ends_on),
        ]
        known = [(name, day) for name, day in chain if day is not None]
        for (first, a), (second, b) in itertools.pairwise(known):
            if b < a:
                raise ValueError(f"{second} ({b:%d/%m/%Y}) précède {first} ({a:%d/%m/%Y})")
        numbers = [lot.number for lot in self.lots]
        duplicates = sorted({n for n in numbers if numbers.count(n) > 1})
        if duplicates:
            raise ValueError(f"lots : numéro(s) en double : {', '.join(map(str, duplicates))}")
        return self


def _beneficiary_code(value: str) -> str:
    if not re.fullmatch(BENEFICIARY_CODE_PATTERN, value):
        raise ValueError(
            f"code « {value} » invalide : B- suivi de 8 caractères (chiffres et lettres sauf I, L, O, U)"
        )
    return value


BeneficiaryCode = Annotated[
    StrictStr, AfterValidator(_beneficiary_code),
    _text(BENEFICIARY_CODE_PATTERN, "Code pseudonyme du bénéficiaire"),
]  # fmt: skip
Period = Annotated[StrictStr, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


PublicCode = Literal[tuple(PUBLICS)]  # type: ignore[valid-type]


class CriterionRow(Row):
    """One more check of a criterion of a person, on its own date."""

    model_config = ConfigDict(json_schema_extra=reason_required("reason", when=("public", "other")))

    public: PublicCode
    checked_on: date
    checked_by: Email | None = None  # absent: the person's ``checked_by``
    reason: OptionalLabel | None = None
    pass_iae: bool = False


class BeneficiaryRow(Row):
    """A person already followed (history from a spreadsheet): pseudonymous, the name optional."""

    model_config = ConfigDict(
        json_schema_extra=reason_required("public_reason", when=("public", "other"))
    )

    code: BeneficiaryCode
    structure: Ref
    # one criterion, or several checked the same day (an RSA recipient living in a QPV)
    public: PublicCode | list[PublicCode]
    public_reason: OptionalLabel | None = None
    pass_iae: bool = False  # the ``siae`` criterion was checked on a PASS IAE
    sex: Literal[tuple(SEXES)]  # type: ignore[valid-type]
    age_band: Literal[tuple(AGE_BANDS)]  # type: ignore[valid-type]
    checked_by: Email
    checked_on: date
    # further checks, each on its own date (a renewed check, a criterion checked later)
    criteria: list[CriterionRow] = Field(default_factory=list)
    name: OptionalLabel | None = None

    @property
    def publics(self) -> list[str]:
        if isinstance(self.public, str):
            return [self.public]
        return list(dict.fromkeys(p for p in self.public or () if p is not None))

    def checks(self) -> list[CriterionRow]:
        """Every check of the row: its publics on ``checked_on``, then ``criteria`` (a field
        that could not be read stays None, ``readable``)."""
        return [
            CriterionRow.model_construct(
                public=public, checked_on=self.checked_on, checked_by=self.checked_by,
                reason=self.public_reason if public == "other" else None,
                pass_iae=bool(self.pass_iae) and public == "siae",
            )
            for public in self.publics
        ] + [check for check in self.criteria or () if check is not None]  # fmt: skip


class DeclarationLineRow(Row):
    model_config = ConfigDict(
        json_schema_extra=reason_required("review_reason", when=("status", "rejected"))
    )
    # a person's hours; or a subcontract counted by its invoice (``declarations.bodies``):
    # ``invoice_ref`` and ``invoice_amount`` instead of ``beneficiary`` and ``hours``
    beneficiary: BeneficiaryCode | None = None
    modality: Modality
    hours: MonthHours | None = None
    contract_type: Literal[tuple(CONTRACT_TYPES)] | None = None  # type: ignore[valid-type]
    body_siret: Siret | None = None  # a placement's, a subcontract's or a co-contract's body
    body_kind: BodyKind | None = None
    invoice_ref: bodies.InvoiceRef | None = None
    invoice_amount: InvoiceAmount | None = None
    status: Literal["submitted", "validated", "rejected"] = "submitted"
    review_reason: LongText | None = None

    @model_validator(mode="after")
    def _rejection_says_why(self) -> DeclarationLineRow:
        if self.status == "rejected" and len((self.review_reason or "").strip()) < REASON_MIN:
            raise ValueError("une ligne rejetée indique son motif (review_reason)")
        problems = bodies.body_problems(self.modality, self.body_siret, self.body_kind)
        if bodies.is_invoice(self.invoice_ref, self.invoice_amount):
            problems += bodies.invoice_problems(
                modality=self.modality, beneficiary=self.beneficiary, hours=self.hours,
                invoice_ref=self.invoice_ref, invoice_amount=self.invoice_amount, lot_amount=None,
            )[0]  # fmt: skip
        else:
            missing = {
                "beneficiary": "bénéficiaire manquant (une sous-traitance comptée par facture "
                "donne invoice_ref et invoice_amount à la place du bénéficiaire et des heures)",
                "hours": "nombre d'heures manquant",
            }
            problems += [(name, message) for name, message in missing.items()
                         if getattr(self, name) is None]  # fmt: skip
        if problems:
            raise ValueError(" ; ".join(f"{field} : {message}" for field, message in problems))
        return self


class DeclarationRow(Row):
    """A month of a lot, as the contractor declared it and the facilitator reviewed it."""

    market: Ref
    lot: Annotated[int, Field(ge=1, le=999)]
    period: Period
    lines: list[DeclarationLineRow] = Field(default_factory=list)


class OutcomeRow(Row):
    """Where a beneficiary stood six months after the end of a market."""

    market: Ref
    beneficiary: BeneficiaryCode
    outcome: Literal[tuple(OUTCOMES)]  # type: ignore[valid-type]
    # why it is known before six months after the end of execution (then required to close)
    early_reason: LongText | None = None


class LoadFile(Row):
    buyers: list[BuyerRow] = Field(default_factory=list)
    structures: list[StructureRow] = Field(default_factory=list)
    contractors: list[ContractorRow] = Field(default_factory=list)
    conventions: list[ConventionRow] = Field(default_factory=list)
    markets: list[MarketRow] = Field(default_factory=list)
    beneficiaries: list[BeneficiaryRow] = Field(default_factory=list)
    declarations: list[DeclarationRow] = Field(default_factory=list)
    outcomes: list[OutcomeRow] = Field(default_factory=list)


# --- records as far as they can be read -------------------------------------------------


R = TypeVar("R", bound=Row)


def readable(model: type[R], raw: Any) -> R:
    """The record with every field that passes its own checks, the others ``None``.

    A record wrong in one field is still checked against the store on the others (its buyer,
    its commune…), so that a file shows all its problems in one run. Only for those checks: a
    record built here is never written.
    """
    if isinstance(raw, dict):
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            wrong = {error["loc"][0] for error in exc.errors() if error["loc"]}
    else:
        raw, wrong = {}, set()
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name not in raw:
            continue
        rows = _rows_of(info.annotation)
        if rows is not None and isinstance(raw[name], list):
            values[name] = [readable(rows, item) for item in raw[name]]
        elif name not in wrong:
            with suppress(ValidationError):  # valid only with the rest of the record: unread
                values[name] = _field(model, name).validate_python(raw[name])
    unread = {
        name: None
        for name, info in model.model_fields.items()
        if name not in values and info.is_required()
    }
    return model.model_construct(set(values), **values, **unread)


def _rows_of(annotation: Any) -> type[Row] | None:
    """The record type of a list of records (a market's lots, a structure's facilitators)."""
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, Row):
            return item
    return None


@cache
def _field(model: type[Row], name: str) -> TypeAdapter:
    return TypeAdapter(model.model_fields[name].rebuild_annotation(), config=model.model_config)
