"""What the server refuses before any route reads a request: a body over its address's limit, a
NUL anywhere. Each channel says it in its own shape (the API's JSON, a page of the site)."""

from __future__ import annotations

from starlette.exceptions import HTTPException

NUL_MESSAGE = "Données invalides : le caractère nul (U+0000) n'est accepté dans aucun champ."


class NulCharacter(HTTPException):
    """A NUL in the address or the body: no text the store keeps may hold one (PostgreSQL
    refuses it), so it is refused before any route reads it (``clausier.http.limits``)."""

    def __init__(self) -> None:
        super().__init__(422, detail=NUL_MESSAGE)


class BodyTooLarge(HTTPException):
    """More bytes than the address takes (``limits`` in config.yaml): ``message`` says how many
    it takes. The connection is closed after the answer, so the rest is never read."""

    def __init__(self, limit: int, message: str) -> None:
        super().__init__(413, detail=message, headers={"Connection": "close"})
        self.limit, self.message = limit, message
