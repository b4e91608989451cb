from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def _new(side):
    """A new convention for the side's buyer (a buyer signs for itself whatever it sends)."""
    return ("/conventions/nouvelle", {"data": {
        "ref": f"CONV-MATRICE-{side.buyer.siret[-5:]}", "acheteur": side.buyer.siret,
        "structure": side.structure.ref, "debut": "2027-01-01", "fin": "2027-12-31",
        "renouvellement": "explicit", "territoire": ["Calvados (département 14)", ""],
        "service": ["follow", "control"], "taux": "5", "cout": "30",
    }})  # fmt: skip


ENTRIES = {
    ("GET", "/conventions"): (lambda s: ("/conventions", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)}),
    ("GET", "/conventions/nouvelle"): (lambda s: ("/conventions/nouvelle", {}), {A: (200, 200), B: (200, 200), F: (403, 403), C: (403, 403)}),
    ("POST", "/conventions/nouvelle"): (_new, {A: (303, 303), B: (303, 303), F: (403, 403), C: (403, 403)}),
    ("GET", "/conventions/{ref}"): (
        lambda s: (f"/conventions/{s.convention.ref}", {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (403, 403)},
    ),
    # the world's conventions renew tacitly: nothing to renew (said on the page, 409)
    ("POST", "/conventions/{ref}/renouveler"): (
        lambda s: (f"/conventions/{s.convention.ref}/renouveler", {"data": {"renouvellements": "0"}}),
        {A: (409, 409), B: (409, 404), F: (403, 403), C: (403, 403)},
    ),
    ("POST", "/conventions/{ref}/resilier"): (
        lambda s: (f"/conventions/{s.convention.ref}/resilier", {"data": {"le": "2026-12-01"}}),
        {A: (303, 303), B: (303, 404), F: (403, 403), C: (403, 403)},
    ),
}  # fmt: skip
