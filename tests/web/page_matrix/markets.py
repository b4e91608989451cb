from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor
OWN_ONLY = {A: (200, 200), B: (200, 404), F: (200, 404), C: (200, 404)}

ENTRIES = {
    ("GET", "/marches"): (lambda s: ("/marches", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (200, 200)}),
    ("GET", "/marches/{ref}"): (lambda s: (f"/marches/{s.market.ref}", {}), OWN_ONLY),
    # the market is in execution: nobody evaluates it yet; another's is not found
    ("POST", "/marches/{ref}/evaluation"): (
        lambda s: (f"/marches/{s.market.ref}/evaluation", {"data": {"bilan": "Bilan du marché"}}),
        {A: (403, 403), B: (403, 404), F: (403, 404), C: (403, 404)},
    ),
    # the market is in execution, not yet over: the guard refuses « complete » to whoever may fire it
    ("POST", "/marches/{ref}/declencher/{trigger}"): (
        lambda s: (f"/marches/{s.market.ref}/declencher/complete", {"data": {"version": str(s.market.version)}}),
        {A: (409, 409), B: (409, 404), F: (409, 404), C: (403, 404)},
    ),
}  # fmt: skip
