"""The texts people type, bounded once: a name or a title is one line of at most 300 characters,
a longer text (a clause, a summary, a reason) keeps its line breaks but no other control
character, and neither is endless. The patterns go into the OpenAPI schema, so that it says what
is refused; ``messages`` words them in French."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import StringConstraints

ONE_LINE = r"^[^\x00-\x1f\x7f]*$"  # no control character: no line break, no tab, no NUL
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # line breaks and tabs, no other control
# a character that stripping keeps: neither Unicode's White_Space, which pydantic and str.strip()
# remove, nor a control; spelt out, since a pattern's \s is not the same set everywhere (U+0085)
SHOWN = r"[^\x00-\x20\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
# ONE_LINE, and not blank: pydantic strips a label before it looks (so its minimum length says
# it), but the description's pattern reads the text as sent
LABEL = rf"^[^\x00-\x1f\x7f]*{SHOWN}[^\x00-\x1f\x7f]*$"

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=LABEL)
]
OptionalLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300, pattern=ONE_LINE)
]
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=LINES)]

PATTERN_MESSAGES = {
    ONE_LINE: "une seule ligne de texte, sans caractère de contrôle (retour à la ligne, tabulation)",
    LABEL: "une seule ligne de texte, sans caractère de contrôle (retour à la ligne, tabulation)",
    LINES: "caractère de contrôle interdit (seuls les retours à la ligne et les tabulations passent)",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line_problem(text: str | None) -> str | None:
    """For a text typed in a form, checked by a service rather than a model."""
    return PATTERN_MESSAGES[ONE_LINE] if text and _CONTROL.search(text) else None


REASON_MIN = 3  # a reason (of a rejection, of a public « other »), its ends trimmed
# from its first non-space character to its last, REASON_MIN characters at least
REASON = rf"{SHOWN}[\s\S]{{{REASON_MIN - 2},}}{SHOWN}"


def reason_required(field: str, *, when: tuple[str, str]) -> dict:
    """A rule between two fields, as a JSON schema says it: when ``when`` (a field and its value)
    holds, ``field`` gives a reason. The models' validators or the services check it."""
    key, value = when
    return {
        "if": {"properties": {key: {"const": value}}, "required": [key]},
        "then": {"required": [field], "properties": {field: {"type": "string", "pattern": REASON}}},
    }
