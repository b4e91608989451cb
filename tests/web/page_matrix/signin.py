"""Signing in is open to everyone; a signed-in person posting a sign-in form sends that page's
own token (``PRE_SESSION``), as a browser does."""

from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor
PRE_SESSION = "<the sign-in page's token>"
ALL = lambda status: {role: (status, status) for role in (A, B, F, C)}  # noqa: E731

ENTRIES = {
    ("GET", "/"): (lambda s: ("/", {}), ALL(303)),
    ("GET", "/connexion"): (lambda s: ("/connexion", {}), ALL(200)),
    ("POST", "/connexion/lien"): (
        lambda s: ("/connexion/lien", {"data": {"csrf": PRE_SESSION, "email": s.facilitator_email}}), ALL(303),
    ),
    ("POST", "/connexion/jeton"): (lambda s: ("/connexion/jeton", {"data": {"csrf": PRE_SESSION, "token": "clz_faux"}}), ALL(401)),
    ("GET", "/connexion/{secret}"): (lambda s: ("/connexion/inconnu", {}), ALL(400)),
    ("POST", "/connexion/{secret}"): (lambda s: ("/connexion/inconnu", {"data": {"csrf": PRE_SESSION}}), ALL(400)),
    ("POST", "/deconnexion"): (lambda s: ("/deconnexion", {}), ALL(303)),
}  # fmt: skip
