"""The HTTP status of each kind of domain error: one table, which the API's JSON answers and the
pages' message pages both read."""

from __future__ import annotations

from clausier.errors import (
    ClausierError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    NotFound,
    Refused,
    TooManyAttempts,
    VersionConflict,
)

HTTP_STATUS: dict[type[ClausierError], int] = {
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    VersionConflict: 409,
    Refused: 409,
    InvalidInput: 422,
    TooManyAttempts: 429,
}


def status_for(error: ClausierError) -> int:
    for klass in type(error).__mro__:
        if klass in HTTP_STATUS:
            return HTTP_STATUS[klass]
    return 500


def under_api(path: str) -> bool:
    """Whether an address is the API's (JSON answers) rather than a page's."""
    return path == "/api" or path.startswith("/api/")
