"""Coverage: buyers and facilitators read it (each its own: a buyer its markets, a facilitator its
structure's territory); only a buyer settles an ambiguous market. The world's markets are covered
by one structure each: settling one is refused in words (409), another buyer's is not found."""

from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def _settlement(side):
    data = {"structure": side.structure.ref, "version": str(side.market.version)}
    return f"/marches/{side.market.ref}/arbitrage", {"data": data}


ENTRIES = {
    ("GET", "/couverture"): (lambda s: ("/couverture", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)}),
    ("GET", "/marches/{ref}/arbitrage"): (
        lambda s: (f"/marches/{s.market.ref}/arbitrage", {}), {A: (200, 200), B: (200, 404), F: (403, 403), C: (403, 403)},
    ),
    ("POST", "/marches/{ref}/arbitrage"): (_settlement, {A: (409, 409), B: (409, 404), F: (403, 403), C: (403, 403)}),
}  # fmt: skip
