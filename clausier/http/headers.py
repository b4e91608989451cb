"""What every answer of the site carries, whichever route wrote it: the security headers, and
cookies marked ``Secure`` when the site is served over https.

``create_app`` installs this middleware behind uvicorn's ``ProxyHeadersMiddleware``, which
believes ``X-Forwarded-Proto`` and ``X-Forwarded-For`` from ``web.trusted_proxies`` only: so
``clausier serve``, the tests' in-thread uvicorn and any other server behave the same, provided
the server does not rewrite them itself (``clausier serve`` turns uvicorn's own rewriting off).
The client it finds is ``clausier.http.client.client_address``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# no inline script or style, nothing from elsewhere, never in a frame
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000"
# a sign-in link carries its secret in the path: its page tells nobody where it was
SECRET_PATHS = ("/connexion/",)


class SecurityHeaders:
    """The headers of every answer (pages, API, static files), and ``Secure`` on every cookie
    when the site is served over https: ``https_site`` (``web.base_url`` is https) or the
    request's scheme, which only a trusted proxy may have changed. HSTS goes with an answer to
    a request that came over https only (RFC 6797 § 7.2). A header a route set itself is kept."""

    def __init__(self, app: ASGIApp, *, https_site: bool) -> None:
        self.app, self.https_site = app, https_site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = scope.get("scheme") == "https"
        secure = self.https_site or over_https
        path = scope.get("path", "")
        referrer = b"no-referrer" if path.startswith(SECRET_PATHS) else b"same-origin"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, _secure(value) if secure and name == b"set-cookie" else value)
                    for name, value in message.get("headers", [])
                ]
                present = {name.lower() for name, _ in headers}
                wanted = [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", referrer),
                ]
                if over_https:
                    wanted.append((b"strict-transport-security", HSTS.encode()))
                headers += [(name, value) for name, value in wanted if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(cookie: bytes) -> bytes:
    attributes = {part.strip().lower() for part in cookie.split(b";")[1:]}
    return cookie if b"secure" in attributes else cookie + b"; Secure"
