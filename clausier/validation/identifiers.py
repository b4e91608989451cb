"""SIRET and INSEE code checks, and the shape of the identifiers people type, as patterns: the
checks use them, and so does the API's description (written with [0-9], which means the ASCII
digits in JSON Schema as in Python, where ``\\d`` would take any script's digits)."""

from __future__ import annotations

import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES

from clausier.errors import InvalidSiret

LA_POSTE_SIREN = "356000000"  # many of its establishments are numbered outside the Luhn rule

SIRET_PATTERN = r"^ *(?:[0-9] *){14}$"  # 14 digits, spaces anywhere (« 123 456 789 00012 »)
REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"
CPV_PATTERN = r"^[0-9]{8}(-[0-9])?$"
BENEFICIARY_CODE_PATTERN = r"^B-[0-9A-HJKMNP-TV-Z]{8}$"  # Crockford's letters: no I, L, O, U
COMMUNE_PATTERN = r"^([0-9]{5}|2[AB][0-9]{3})$"
EPCI_PATTERN = r"^[0-9]{9}$"
DEPARTEMENT_PATTERN = r"^([0-9]{2}|2[AB]|97[0-9])$"
TERRITORY_PATTERN = "|".join((COMMUNE_PATTERN, EPCI_PATTERN, DEPARTEMENT_PATTERN))


def _any_case(name: str) -> str:
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)


# what an e-mail address's format leaves unsaid: the domains kept for special uses (.test,
# .local, .onion…), which email-validator (so pydantic's EmailStr) refuses, whatever their case
EMAIL_PATTERN = (
    rf"^(?![\s\S]*[@.]({'|'.join(_any_case(name) for name in SPECIAL_USE_DOMAIN_NAMES)})$)"
)


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def siret_problem(value: object) -> str | None:
    """Why ``value`` is not a SIRET, in French, or None when it is one."""
    if not isinstance(value, str):
        return "attendu : 14 chiffres entre guillemets"
    compact = value.replace(" ", "")
    if not re.fullmatch(SIRET_PATTERN, value):
        if len(compact) == 14:  # digits of another script (٠١٢…), a tab, a letter
            return "attendu : 14 chiffres de 0 à 9"
        return f"attendu : 14 chiffres, reçu {len(compact)} caractère(s)"
    if compact.startswith(LA_POSTE_SIREN) and not luhn_ok(compact):
        if sum(int(c) for c in compact) % 5 != 0:
            return "clé de contrôle incorrecte (règle La Poste)"
        return None
    if not luhn_ok(compact):
        return "clé de contrôle incorrecte (algorithme de Luhn) : vérifiez les chiffres"
    return None


def check_siret(value: object) -> str:
    """The SIRET without spaces; ``InvalidSiret`` with the reason otherwise."""
    problem = siret_problem(value)
    if problem:
        raise InvalidSiret(value, problem)
    return str(value).replace(" ", "")


COMMUNE_CODE = re.compile(COMMUNE_PATTERN)
EPCI_CODE = re.compile(EPCI_PATTERN)
DEPARTEMENT_CODE = re.compile(DEPARTEMENT_PATTERN)


def territory_kind_of(code: str) -> str | None:
    """'commune', 'epci' or 'departement' from the shape of an INSEE code, None if none fits."""
    if COMMUNE_CODE.match(code):
        return "commune"
    if EPCI_CODE.match(code):
        return "epci"
    if DEPARTEMENT_CODE.match(code):
        return "departement"
    return None
