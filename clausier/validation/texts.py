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

Label = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300, pattern=ONE_LINE)
]
OptionalLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300, pattern=ONE_LINE)
]
LongText = Annotated[str, StringConstraints(max_length=20_000, pattern=LINES)]

PATTERN_MESSAGES = {
    ONE_LINE: "une seule ligne de texte, sans caractère de contrôle (retour à la ligne, tabulation)",
    LINES: "caractère de contrôle interdit (seuls les retours à la ligne et les tabulations passent)",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def one_line_problem(text: str | None) -> str | None:
    """For a text typed in a form, checked by a service rather than a model."""
    return PATTERN_MESSAGES[ONE_LINE] if text and _CONTROL.search(text) else None
