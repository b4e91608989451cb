"""SIRET and INSEE code checks."""

from __future__ import annotations

import re

from clausier.errors import InvalidSiret

LA_POSTE_SIREN = "356000000"  # many of its establishments are numbered outside the Luhn rule


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
    if not re.fullmatch(r"\d{14}", compact):
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


COMMUNE_CODE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
EPCI_CODE = re.compile(r"^\d{9}$")
DEPARTEMENT_CODE = re.compile(r"^(\d{2}|2[AB]|97\d)$")


def territory_kind_of(code: str) -> str | None:
    """'commune', 'epci' or 'departement' from the shape of an INSEE code, None if none fits."""
    if COMMUNE_CODE.match(code):
        return "commune"
    if EPCI_CODE.match(code):
        return "epci"
    if DEPARTEMENT_CODE.match(code):
        return "departement"
    return None
