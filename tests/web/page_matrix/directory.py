"""The directory and the API tokens: the operator's pages only; every other role is refused
(403) whoever's organisation the page names."""

from clausier.auth.models import Role
from tests import factories as make

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor
ADMIN = lambda status: {A: (status, status), B: (403, 403), F: (403, 403), C: (403, 403)}  # noqa: E731
UNKNOWN_TOKEN = 2_000_000_000


def _company(s, kind: str):
    return {"data": {"siret": make.siret(), "name": f"Nouveau {kind} {s.structure.ref}",
                     "email": f"contact@nouveau-{s.structure.ref}.fr"}}  # fmt: skip


ENTRIES = {
    ("GET", "/annuaire"): (lambda s: ("/annuaire", {}), ADMIN(200)),
    ("GET", "/annuaire/{path}/nouveau"): (lambda s: ("/annuaire/titulaires/nouveau", {}), ADMIN(200)),
    ("POST", "/annuaire/{path}"): (lambda s: ("/annuaire/acheteurs", _company(s, "acheteur")), ADMIN(303)),
    ("GET", "/annuaire/{path}/{org_id}"): (lambda s: (f"/annuaire/acheteurs/{s.buyer.id}", {}), ADMIN(200)),
    ("POST", "/annuaire/{path}/{org_id}"): (
        lambda s: (f"/annuaire/titulaires/{s.contractor.id}",
                   {"data": {"name": "Titulaire renommé", "email": "contact@renomme.fr"}}),
        ADMIN(303),
    ),
    ("GET", "/annuaire/structures/nouveau"): (lambda s: ("/annuaire/structures/nouveau", {}), ADMIN(200)),
    ("POST", "/annuaire/structures"): (
        lambda s: ("/annuaire/structures", {"data": {"ref": f"{s.structure.ref}-bis", "name": "PLIE bis",
                                                     "kind": "plie", "email": "clauses@plie-bis.fr"}}),
        ADMIN(303),
    ),
    ("GET", "/annuaire/structures/{structure_id}"): (lambda s: (f"/annuaire/structures/{s.structure.id}", {}), ADMIN(200)),
    ("POST", "/annuaire/structures/{structure_id}"): (
        lambda s: (f"/annuaire/structures/{s.structure.id}",
                   {"data": {"name": "Maison de l'emploi renommée", "kind": "maison_emploi",
                             "email": "clauses@renommee.fr"}}),
        ADMIN(303),
    ),
    ("POST", "/annuaire/structures/{structure_id}/facilitateurs"): (
        lambda s: (f"/annuaire/structures/{s.structure.id}/facilitateurs",
                   {"data": {"name": "Nouvelle Personne", "email": f"nouvelle@{s.structure.ref}.fr"}}),
        ADMIN(303),
    ),
    ("GET", "/annuaire/facilitateurs/{facilitator_id}"): (
        lambda s: (f"/annuaire/facilitateurs/{s.facilitator_id}", {}), ADMIN(200),
    ),
    ("POST", "/annuaire/facilitateurs/{facilitator_id}"): (
        lambda s: (f"/annuaire/facilitateurs/{s.facilitator_id}",
                   {"data": {"name": "Facilitateur renommé", "email": f"renomme@{s.structure.ref}.fr",
                             "structure": str(s.structure.id)}}),
        ADMIN(303),
    ),
    ("POST", "/annuaire/facilitateurs/{facilitator_id}/desactiver"): (
        lambda s: (f"/annuaire/facilitateurs/{s.facilitator_id}/desactiver", {}), ADMIN(303),
    ),
    # the world's facilitators are active: reactivating one is refused, in words
    ("POST", "/annuaire/facilitateurs/{facilitator_id}/reactiver"): (
        lambda s: (f"/annuaire/facilitateurs/{s.facilitator_id}/reactiver", {}), ADMIN(409),
    ),
    # the world's organisations are in use (a market in execution, a convention running, open
    # tasks) and active: deactivating or reactivating one is refused, in words, on its page
    ("POST", "/annuaire/{path}/{org_id}/desactiver"): (
        lambda s: (f"/annuaire/acheteurs/{s.buyer.id}/desactiver", {}), ADMIN(409),
    ),
    ("POST", "/annuaire/{path}/{org_id}/reactiver"): (
        lambda s: (f"/annuaire/titulaires/{s.contractor.id}/reactiver", {}), ADMIN(409),
    ),
    ("POST", "/annuaire/structures/{structure_id}/desactiver"): (
        lambda s: (f"/annuaire/structures/{s.structure.id}/desactiver", {}), ADMIN(409),
    ),
    ("POST", "/annuaire/structures/{structure_id}/reactiver"): (
        lambda s: (f"/annuaire/structures/{s.structure.id}/reactiver", {}), ADMIN(409),
    ),
    ("GET", "/acces"): (lambda s: ("/acces", {}), ADMIN(200)),
    ("POST", "/acces"): (
        lambda s: ("/acces", {"data": {"role": "buyer", "org": s.buyer.siret}}), ADMIN(201),
    ),
    # a token the world does not have: not found (revoking a real one: test_directory_pages)
    ("POST", "/acces/{token_id}/revoquer"): (lambda s: (f"/acces/{UNKNOWN_TOKEN}/revoquer", {}), ADMIN(404)),
}  # fmt: skip
