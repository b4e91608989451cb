"""The insertion offer's page: the buyer and the structure that follows the market read it (an
operator too), the contractor reads the clause in the tender documents; only that structure's
facilitators send its form, and the world's markets are in execution: their offer is frozen."""

from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def _save(side):
    return (
        f"/marches/{side.market.ref}/offre",
        {"data": {"version": str(side.market.version), "action": "enregistrer", "taux-1": "6"}},
    )


ENTRIES = {
    ("GET", "/marches/{ref}/offre"): (
        lambda s: (f"/marches/{s.market.ref}/offre", {}),
        {A: (200, 200), B: (200, 404), F: (200, 404), C: (403, 404)},
    ),
    ("POST", "/marches/{ref}/offre"): (_save, {A: (403, 403), B: (403, 404), F: (409, 404), C: (403, 404)}),
}  # fmt: skip
