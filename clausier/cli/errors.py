"""Domain errors mapped once to exit codes (DESIGN.md: 0 done, 1 refused, 2 bad input)."""

from __future__ import annotations

from clausier.errors import ClausierError, InvalidInput, NotFound, Refused

EXIT_CODES: dict[type[ClausierError], int] = {
    Refused: 1,
    InvalidInput: 2,
    NotFound: 2,
}


def exit_code_for(error: ClausierError) -> int:
    for klass in type(error).__mro__:
        if klass in EXIT_CODES:
            return EXIT_CODES[klass]
    return 1
