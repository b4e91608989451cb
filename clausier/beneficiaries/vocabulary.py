"""The closed lists of DOMAIN.md: eligible publics, sex, age bands, outcomes, contract types,
modalities and the kinds of body they go through.

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
# The IAE's words for where a person stands six months after (communauté de l'inclusion): the
# first three are its *sorties dynamiques*, the positive ones; ``unknown`` is an answer (the
# facilitator tried and could not learn it), and what a person without an outcome counts as.
OUTCOMES = {
    "durable_employment": "emploi durable",
    "transition_employment": "emploi de transition",
    "positive_exit": "sortie positive",
    "other": "autre",
    "unknown": "inconnu",
}
OUTCOME_HINTS = {
    "durable_employment": "CDI, CDD ou intérim de 6 mois ou plus, fonction publique, "
    "création d'entreprise",
    "transition_employment": "CDD ou intérim de moins de 6 mois, contrat aidé",
    "positive_exit": "formation qualifiante, embauche par une autre SIAE",
    "other": "aucune des situations précédentes",
    "unknown": "la situation n'a pas pu être connue",
}
POSITIVE_OUTCOMES = frozenset({"durable_employment", "transition_employment", "positive_exit"})
# The codes before migration 0014, and what each became (``job_6_months`` and a business
# creation are durable employment; a qualifying training is a positive exit).
FORMER_OUTCOMES = {
    "job_6_months": "durable_employment",
    "qualifying_training": "positive_exit",
    "business_creation": "durable_employment",
}
MODALITY_SHORT_LABELS = {
    "direct_hire": "embauche directe",
    "placement": "mise à disposition",
    "subcontracting": "sous-traitance",
    "co_contracting": "cotraitance",
    "training": "formation",
}
# The body a placement, a subcontract or a co-contract goes through (DOMAIN.md, « Modalities of
# execution »), by its kind; which kinds each modality takes; which are integration structures
# (the SIAE — EI, ACI, ETTI, AI — and the GEIQ), whose share of the hours the reports give.
BODY_KINDS = {
    "etti": "entreprise de travail temporaire d'insertion (ETTI)",
    "ai": "association intermédiaire (AI)",
    "geiq": "groupement d'employeurs pour l'insertion et la qualification (GEIQ)",
    "temp_agency": "entreprise de travail temporaire",
    "ei": "entreprise d'insertion (EI)",
    "aci": "atelier et chantier d'insertion (ACI)",
    "ea": "entreprise adaptée (EA)",
    "esat": "établissement et service d'aide par le travail (ESAT)",
}
BODY_KIND_SHORT_LABELS = {
    "etti": "ETTI",
    "ai": "AI",
    "geiq": "GEIQ",
    "temp_agency": "intérim",
    "ei": "EI",
    "aci": "ACI",
    "ea": "EA",
    "esat": "ESAT",
}
PLACEMENT_KINDS = ("etti", "ai", "geiq", "temp_agency")
CONTRACTING_KINDS = ("ei", "aci", "ea", "esat")
KINDS_BY_MODALITY = {
    "placement": PLACEMENT_KINDS,
    "subcontracting": CONTRACTING_KINDS,
    "co_contracting": CONTRACTING_KINDS,
}
INTEGRATION_KINDS = frozenset({"ei", "aci", "etti", "ai", "geiq"})


def choices(vocabulary: dict[str, str]) -> str:
    return ", ".join(vocabulary)
