"""Who is on the other end of a request, for the sign-in limits."""

from __future__ import annotations

from starlette.requests import Request


def client_address(request: Request) -> str:
    """The peer address of the connection, or, when that peer is one of ``web.trusted_proxies``,
    the client it names in ``X-Forwarded-For``: ``create_app``'s ``ProxyHeadersMiddleware`` has
    already put it in ``request.client``. Nobody else's ``X-Forwarded-For`` is believed."""
    return request.client.host if request.client else "unknown"
