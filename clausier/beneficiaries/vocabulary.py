"""The closed lists of DOMAIN.md: eligible publics, sex, age bands, outcomes, contract types.

Codes are stored and exchanged (API, CSV); labels are what people read.
"""

from __future__ import annotations

PUBLICS = {
    "deld": "demandeur d'emploi de longue durée (plus de 12 mois)",
    "minima_sociaux": "allocataire de minima sociaux (RSA, ASS, AAH) ou ayant droit",
    "jeune": "jeune de moins de 26 ans sans qualification ni expérience",
    "rqth": "travailleur handicapé (RQTH)",
    "senior": "demandeur d'emploi de plus de 50 ans",
    "siae": "salarié d'une structure d'insertion (SIAE)",
    "plie": "participant du PLIE",
    "qpv": "résident d'un quartier prioritaire (QPV)",
    "other": "autre public, validé au cas par cas",
}
SEXES = {"F": "femme", "M": "homme"}
AGE_BANDS = {"under_26": "moins de 26 ans", "26_to_49": "26 à 49 ans", "50_plus": "50 ans et plus"}
CONTRACT_TYPES = {
    "cdi": "CDI",
    "cdd": "CDD",
    "apprenticeship": "contrat d'apprentissage",
    "professionalisation": "contrat de professionnalisation",
    "temporary": "intérim (mise à disposition)",
    "cddi": "CDDI (structure d'insertion)",
    "other": "autre",
}
OUTCOMES = {
    "job_6_months": "emploi de 6 mois ou plus",
    "qualifying_training": "formation qualifiante",
    "business_creation": "création d'entreprise",
    "other": "autre situation",
    "unknown": "situation inconnue",
}
POSITIVE_OUTCOMES = frozenset({"job_6_months", "qualifying_training", "business_creation"})
MODALITY_SHORT_LABELS = {
    "direct_hire": "embauche directe",
    "placement": "mise à disposition",
    "subcontracting": "sous-traitance SIAE",
    "training": "formation",
}


def choices(vocabulary: dict[str, str]) -> str:
    return ", ".join(vocabulary)
