"""The body a line goes through, and the invoice a subcontract may be counted by (DOMAIN.md,
« Modalities of execution »).

- A placement (ETTI, AI, GEIQ, temp agency), a subcontract or a co-contract (EI, ACI, EA, ESAT)
  names its body: its SIRET (the product's SIRET rule, Luhn key included) and its kind, which
  must be one its modality takes. A direct hire or a training names none.
- A subcontract or a co-contract may be counted by its invoice instead of a person: a
  reference (one line per invoice and month) and an amount excl. VAT, whose hours are
  ``amount ÷ hourly cost`` (the market's convention's, else the buyer's, else config.yaml's:
  ``offers.service.defaults``), rounded half up to the hundredth: 10,000 € at 30 €/h is
  333.33 h. The person's monthly maximum does not apply to it (no person), the lot's amount
  bounds it.

Every entry point (API, CSV, form, load file) checks a line with these functions, in the same
French words.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import StringConstraints

from clausier.beneficiaries.vocabulary import (
    BODY_KIND_SHORT_LABELS,
    BODY_KINDS,
    KINDS_BY_MODALITY,
    MODALITY_SHORT_LABELS,
)
from clausier.formatting import fr_number
from clausier.validation.identifiers import siret_problem
from clausier.validation.numbers import INVOICE_AMOUNT, MONTH_HOURS, typed_number
from clausier.validation.texts import LABEL

INVOICE_MODALITIES = ("subcontracting", "co_contracting")
INVOICE_REF_MAX = 64
# an invoice's reference as the API and the load file take it: one line, not blank
InvoiceRef = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=INVOICE_REF_MAX, pattern=LABEL
    ),
]
CENT = Decimal("0.01")
# an invoice's hours fit a line's (``DeclarationLine.hours``: 7 digits, 2 of them decimals)
MAX_INVOICE_HOURS = Decimal("99999.99")

Problems = list[tuple[str, str]]  # (field, French message)


def expected_kinds(modality: str) -> str:
    return ", ".join(
        f"{code} ({BODY_KIND_SHORT_LABELS[code]})" for code in KINDS_BY_MODALITY[modality]
    )


def _what(modality: str) -> str:
    return f"une ligne « {MODALITY_SHORT_LABELS.get(modality, modality)} »"


def body_problems(modality: str | None, siret: str | None, kind: str | None) -> Problems:
    """Why the body named on a line of ``modality`` is wrong (missing where the modality goes
    through one, named where it goes through none, a SIRET whose key is wrong, a kind the
    modality does not take)."""
    siret, kind = (siret or "").strip() or None, (kind or "").strip() or None
    kinds = KINDS_BY_MODALITY.get(modality or "")
    if kinds is None:
        if (siret or kind) and modality in MODALITY_SHORT_LABELS:
            return [("body_siret" if siret else "body_kind",
                     f"{_what(modality)} ne passe par aucun organisme : laissez le SIRET et le "
                     "type d'organisme vides")]  # fmt: skip
        return []
    problems: Problems = []
    if siret is None:
        problems.append(("body_siret", f"{_what(modality)} nomme son organisme : SIRET de l'organisme manquant"))  # fmt: skip
    elif problem := siret_problem(siret):
        problems.append(("body_siret", f"SIRET de l'organisme « {siret} » : {problem}"))
    if kind is None:
        problems.append(("body_kind", f"{_what(modality)} nomme son organisme : type d'organisme manquant (attendu : {expected_kinds(modality)})"))  # fmt: skip
    elif kind not in BODY_KINDS:
        problems.append(("body_kind", f"type d'organisme « {kind} » inconnu (attendu : {expected_kinds(modality)})"))  # fmt: skip
    elif kind not in kinds:
        problems.append(("body_kind", f"{_what(modality)} ne passe pas par une {BODY_KIND_SHORT_LABELS[kind]} : {BODY_KINDS[kind]} (attendu : {expected_kinds(modality)})"))  # fmt: skip
    return problems


def is_invoice(invoice_ref: str | None, invoice_amount) -> bool:
    """The line names an invoice (its reference or its amount)."""
    return bool((invoice_ref or "").strip()) or bool(str(invoice_amount or "").strip())


def invoice_problems(
    *,
    modality: str | None,
    beneficiary: str | None,
    hours,
    invoice_ref: str | None,
    invoice_amount,
    lot_amount: Decimal | None,
) -> tuple[Problems, Decimal | None]:
    """The problems of an invoice line, and its amount when it is right."""
    problems: Problems = []
    if modality not in INVOICE_MODALITIES and modality in MODALITY_SHORT_LABELS:
        problems.append(("invoice_ref", f"{_what(modality)} ne se compte pas par facture : seules une sous-traitance et une cotraitance le peuvent"))  # fmt: skip
    if (beneficiary or "").strip():
        problems.append(("beneficiary", "une ligne de facture ne nomme pas de bénéficiaire : une ligne pour la facture, une par personne sinon"))  # fmt: skip
    if str(hours if hours is not None else "").strip():
        problems.append(("hours", "les heures d'une facture se calculent (montant HT ÷ coût horaire) : laissez-les vides"))  # fmt: skip
    ref = (invoice_ref or "").strip()
    if not ref:
        problems.append(("invoice_ref", "référence de la facture manquante"))
    elif len(ref) > INVOICE_REF_MAX or not ref.isprintable():
        problems.append(("invoice_ref", f"référence de facture invalide : {INVOICE_REF_MAX} caractères imprimables au plus"))  # fmt: skip
    amount = _amount(invoice_amount, problems)
    if amount is not None and lot_amount and amount > lot_amount:
        problems.append(("invoice_amount", f"{fr_number(amount, 2)} € : au-delà du montant du lot ({fr_number(lot_amount, 2)} € HT), un montant invraisemblable"))  # fmt: skip
        amount = None
    return problems, (amount if not problems else None)


def _amount(raw, problems: Problems) -> Decimal | None:
    if raw is None or not str(raw).strip():
        problems.append(("invoice_amount", "montant HT de la facture manquant"))
        return None
    value = raw if isinstance(raw, Decimal) else typed_number(str(raw), units=("€",))
    problem = (
        INVOICE_AMOUNT.problem(value) if value is not None else "attendu : un montant en euros"
    )
    if problem:
        problems.append(("invoice_amount", f"montant « {raw} » : {problem}"))
        return None
    return value


def invoice_hours(amount: Decimal, hourly_cost: Decimal) -> Decimal:
    """``amount ÷ hourly cost``, rounded half up to the hundredth (10,000 € at 30 €/h: 333.33)."""
    return (Decimal(amount) / Decimal(hourly_cost)).quantize(CENT, rounding=ROUND_HALF_UP)


def cost_source_words(source: str) -> str:
    """Where an hourly cost comes from, in words (config.yaml is the site's default setting)."""
    if source.startswith("config.yaml"):
        return "réglage par défaut de Clausier"
    return source


def cost_words(value: Decimal, source: str) -> str:
    """« 30 € de l'heure (convention CONV-2027-014) »."""
    return f"{fr_number(value)} € de l'heure ({cost_source_words(source)})"


def hours_problem(hours: Decimal) -> str | None:
    """An invoice whose hours would not fit a line: more than any month could hold."""
    if hours > MAX_INVOICE_HOURS:
        return (
            f"{fr_number(hours, 2)} h pour un mois : au-delà de {fr_number(MAX_INVOICE_HOURS, 2)} h, "
            "un montant invraisemblable"
        )
    if hours <= 0:
        return MONTH_HOURS.problem(hours)
    return None
