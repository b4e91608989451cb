"""French wording of pydantic's validation errors.

Pydantic speaks English; our users read French. Only the error *types* are translated, using the
context pydantic gives, so a new constraint still gets a readable (if English) message.
"""

from __future__ import annotations

from typing import Any

from pydantic_core import ErrorDetails

_BY_TYPE: dict[str, str] = {
    "missing": "obligatoire, absent",
    "extra_forbidden": "clé inconnue",
    "string_type": "attendu : un texte (mettez les codes et SIRET entre guillemets)",
    "int_type": "attendu : un nombre entier",
    "int_parsing": "attendu : un nombre entier",
    "int_from_float": "attendu : un nombre entier, sans décimales",
    "float_type": "attendu : un nombre",
    "float_parsing": "attendu : un nombre",
    "decimal_type": "attendu : un nombre",
    "decimal_parsing": "attendu : un nombre",
    "bool_type": "attendu : true ou false",
    "bool_parsing": "attendu : true ou false",
    "date_type": "attendu : une date AAAA-MM-JJ",
    "date_parsing": "attendu : une date AAAA-MM-JJ",
    "date_from_datetime_parsing": "attendu : une date AAAA-MM-JJ",
    "date_from_datetime_inexact": "attendu : une date AAAA-MM-JJ, sans heure",
    "time_type": "attendu : une heure HH:MM",
    "time_parsing": "attendu : une heure HH:MM (00:00 à 23:59)",
    "list_type": "attendu : une liste",
    "tuple_type": "attendu : une liste",
    "dict_type": "attendu : un ensemble de clés",
    "model_type": "attendu : un ensemble de clés",
    "model_attributes_type": "attendu : un ensemble de clés",
    "url_parsing": "attendu : une adresse (URL)",
}


def french_message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = error.get("ctx") or {}
    if kind in _BY_TYPE:
        return _BY_TYPE[kind]
    if kind == "greater_than_equal":
        return f"attendu : une valeur supérieure ou égale à {ctx.get('ge')}"
    if kind == "greater_than":
        return f"attendu : une valeur strictement supérieure à {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"attendu : une valeur inférieure ou égale à {ctx.get('le')}"
    if kind == "less_than":
        return f"attendu : une valeur strictement inférieure à {ctx.get('lt')}"
    if kind in ("literal_error", "enum"):
        return f"attendu : une de ces valeurs : {_choices(ctx.get('expected'))}"
    if kind == "string_too_short":
        return (
            "ne doit pas être vide"
            if ctx.get("min_length") == 1
            else (f"attendu : au moins {ctx.get('min_length')} caractères")
        )
    if kind == "string_too_long":
        return f"attendu : au plus {ctx.get('max_length')} caractères"
    if kind == "string_pattern_mismatch":
        from clausier.validation.texts import PATTERN_MESSAGES

        known = PATTERN_MESSAGES.get(ctx.get("pattern", ""))
        return known or f"format inattendu (motif {ctx.get('pattern')})"
    if kind == "too_short":
        count = ctx.get("min_length")
        return f"attendu : au moins {count} élément{'s' if count != 1 else ''}"
    if kind == "value_error":
        # our own validators raise ValueError with a French message
        reason = ctx.get("error")
        if reason:
            return str(reason)
        if "email" in error["msg"]:  # email-validator's reason is English
            return "attendu : une adresse e-mail valide, par exemple nom@exemple.fr"
        return error["msg"]
    if kind == "assertion_error":
        return error["msg"].removeprefix("Assertion failed, ")
    if kind == "json_invalid":
        where = f" (ligne {ctx['line']}, colonne {ctx['column']})" if "line" in ctx else ""
        return f"corps de requête illisible : JSON invalide{where}"
    return error["msg"]


def _choices(expected: object) -> str:
    """Pydantic lists the choices as « 'a', 'b' or 'c' »."""
    text = str(expected)
    head, _, last = text.rpartition(" or ")
    return f"{head} ou {last}" if head else text


def json_position(document: str, position: int) -> tuple[int, int]:
    """Line and column (from 1) of a character offset, as ``json.JSONDecodeError`` counts them."""
    line = document.count("\n", 0, position) + 1
    return line, position - document.rfind("\n", 0, position)


def dotted(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)
