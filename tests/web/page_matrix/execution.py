"""Declarations, their review, the beneficiaries and the reports."""

from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor
OWN_ONLY = {A: (200, 200), B: (200, 404), F: (200, 404), C: (200, 404)}
FACILITATORS = {A: (200, 200), B: (403, 403), F: (200, 200), C: (403, 403)}


def _registration(side):
    return (
        "/beneficiaires",
        {
            "data": {
                "public": "deld",
                "sex": "F",
                "age_band": "under_26",
                "checked_by": side.facilitator_email,
                "checked_on": "2026-11-02",
            }
        },
    )


ENTRIES = {
    ("GET", "/lots"): (lambda s: ("/lots", {}), {A: (403, 403), B: (403, 403), F: (403, 403), C: (200, 200)}),
    ("GET", "/lots/{lot_id}/declarations"): (lambda s: (f"/lots/{s.lot.id}/declarations", {}), OWN_ONLY),
    ("GET", "/lots/{lot_id}/declarations/{period}"): (lambda s: (f"/lots/{s.lot.id}/declarations/2026-09", {}), OWN_ONLY),
    ("POST", "/lots/{lot_id}/declarations/{period}"): (
        lambda s: (f"/lots/{s.lot.id}/declarations/2026-10", {"data": {"action": "rien"}}),
        {A: (303, 303), B: (403, 404), F: (403, 404), C: (303, 404)},
    ),
    ("GET", "/controle"): (lambda s: ("/controle", {}), FACILITATORS),
    ("POST", "/controle/lignes/{line_id}"): (
        lambda s: (f"/controle/lignes/{s.line.id}", {"data": {"decision": "valider"}}),
        {A: (303, 303), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
    ("POST", "/controle/releves/{statement_id}"): (
        lambda s: (f"/controle/releves/{s.line.statement_id}", {"data": {"ligne": [str(s.line.id)]}}),
        {A: (303, 303), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
    # names stay with the structure's facilitators: not even an operator
    ("GET", "/beneficiaires"): (lambda s: ("/beneficiaires", {}), {A: (403, 403), B: (403, 403), F: (200, 200), C: (403, 403)}),
    # checked by one of its own facilitators, or by another structure's (unknown to it)
    ("POST", "/beneficiaires"): (_registration, {A: (403, 403), B: (403, 403), F: (303, 422), C: (403, 403)}),
    # a renewed check: the structure's facilitators, of its own people only
    ("POST", "/beneficiaires/{code}/verifications"): (
        lambda s: (f"/beneficiaires/{s.beneficiary}/verifications",
                   {"data": {"public": "qpv", "checked_by": s.facilitator_email, "checked_on": "2026-11-02"}}),
        {A: (403, 403), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
    ("GET", "/rapports"): (lambda s: ("/rapports", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)}),
    ("GET", "/rapports/telecharger"): (
        lambda s: ("/rapports/telecharger?format=csv", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)},
    ),
}  # fmt: skip
