from clausier.auth.models import Role

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor

ENTRIES = {
    ("GET", "/taches"): (lambda s: ("/taches", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)}),
    ("POST", "/taches/{task_id}/fait"): (
        lambda s: (f"/taches/{s.task.id}/fait", {}), {A: (303, 303), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
    # a token names no person: taking a task needs one (an operator is nobody's colleague)
    ("POST", "/taches/{task_id}/prendre"): (
        lambda s: (f"/taches/{s.task.id}/prendre", {}), {A: (409, 409), B: (403, 403), F: (409, 404), C: (403, 403)},
    ),
    ("POST", "/taches/{task_id}/confier"): (
        lambda s: (f"/taches/{s.task.id}/confier", {"data": {"a": s.facilitator_email}}),
        {A: (303, 303), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
    ("POST", "/taches/{task_id}/annuler"): (
        lambda s: (f"/taches/{s.task.id}/annuler", {"data": {"motif": "fait hors outil"}}),
        {A: (303, 303), B: (403, 403), F: (303, 404), C: (403, 403)},
    ),
}  # fmt: skip
