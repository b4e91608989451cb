"""Every endpoint × every role × own and another organisation's data.

The matrix is read from the application's routes: an endpoint added without its line here (and
so without its scope decided) fails ``test_every_endpoint_is_in_the_matrix``.
"""

from __future__ import annotations

import pytest

from clausier.auth.models import Role
from tests.api.conftest import Side

A, B, F, C = Role.admin, Role.buyer, Role.facilitator, Role.contractor


def market_url(side: Side) -> str:
    return f"/api/markets/{side.market.ref}"


# (method, path) → (how to call it for a side, {role: (status for own data, status for the other's)})
MATRIX = {
    ("GET", "/api/health"): (lambda s: ("/api/health", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (200, 200)}),
    ("GET", "/api/markets"): (lambda s: (f"/api/markets?commune={s.market.commune_code}", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (200, 200)}),
    ("POST", "/api/markets"): (
        lambda s: ("/api/markets", {"json": {"ref": f"NEW-{s.buyer.siret[-4:]}", "buyer": s.buyer.siret, "title": "Voirie",
                                             "commune": s.market.commune_code, "cpv": "45233140", "amount": 100000}}),
        {A: (201, 201), B: (201, 201), F: (403, 403), C: (403, 403)},
    ),
    ("GET", "/api/markets/{ref}"): (lambda s: (market_url(s), {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (200, 404)}),
    ("POST", "/api/markets/{ref}/transitions/{trigger}"): (
        lambda s: (f"{market_url(s)}/transitions/publish", {"json": {}}),
        {A: (409, 409), B: (409, 404), F: (403, 404), C: (403, 404)},
    ),
    ("GET", "/api/tasks"): (lambda s: (f"/api/tasks?market={s.market.ref}", {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (403, 403)}),
    ("POST", "/api/tasks/{task_id}/done"): (lambda s: (f"/api/tasks/{s.task.id}/done", {"json": {}}), {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)}),
    ("POST", "/api/tasks/{task_id}/assign"): (
        lambda s: (f"/api/tasks/{s.task.id}/assign", {"json": {"to": s.facilitator_email}}),
        {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)},
    ),
    ("POST", "/api/tasks/{task_id}/cancel"): (
        lambda s: (f"/api/tasks/{s.task.id}/cancel", {"json": {"reason": "fait hors outil"}}),
        {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)},
    ),
    ("GET", "/api/facilitators/{email}/tasks.ics"): (
        lambda s: (f"/api/facilitators/{s.facilitator_email}/tasks.ics", {}), {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)},
    ),
    ("GET", "/api/buyers"): (lambda s: ("/api/buyers", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (200, 200)}),
    ("GET", "/api/structures"): (lambda s: ("/api/structures", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (200, 200)}),
    ("GET", "/api/structures/{ref}/facilitators"): (
        lambda s: (f"/api/structures/{s.structure.ref}/facilitators", {}), {A: (200, 200), B: (404, 404), F: (200, 404), C: (404, 404)},
    ),
    ("GET", "/api/contractors"): (lambda s: ("/api/contractors", {}), {A: (200, 200), B: (403, 403), F: (403, 403), C: (200, 200)}),
    ("GET", "/api/conventions"): (lambda s: ("/api/conventions", {}), {A: (200, 200), B: (200, 200), F: (200, 200), C: (403, 403)}),
    ("POST", "/api/load"): (lambda s: ("/api/load", {"json": {}}), {A: (201, 201), B: (403, 403), F: (403, 403), C: (403, 403)}),
    ("GET", "/api/coverage"): (lambda s: ("/api/coverage", {}), {A: (200, 200), B: (200, 200), F: (403, 403), C: (403, 403)}),
    # reports: a buyer reads its own, a facilitator the buyers its structure works with (others are not found)
    ("GET", "/api/reports"): (lambda s: (f"/api/reports?buyer={s.buyer.siret}&year=2026", {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (403, 403)}),
    # beneficiaries and declarations: names stay with the structure, lots with their contractor
    ("GET", "/api/beneficiaries"): (
        lambda s: (f"/api/beneficiaries?structure={s.structure.ref}", {}), {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)},
    ),
    ("POST", "/api/beneficiaries"): (
        lambda s: ("/api/beneficiaries", {"json": {"public": "deld", "sex": "F", "age_band": "under_26", "checked_by": s.facilitator_email,
                                                   "checked_on": "2026-11-02", "structure": s.structure.ref}}),
        {A: (201, 201), B: (403, 403), F: (201, 404), C: (403, 403)},
    ),
    # a renewed check of a person: the structure's facilitators (another's person is not found)
    ("POST", "/api/beneficiaries/{code}/checks"): (
        lambda s: (f"/api/beneficiaries/{s.beneficiary}/checks?structure={s.structure.ref}",
                   {"json": {"public": "qpv", "checked_by": s.facilitator_email, "checked_on": "2026-11-02"}}),
        {A: (201, 201), B: (403, 403), F: (201, 404), C: (403, 403)},
    ),
    ("GET", "/api/lots/{lot_id}/declarations"): (
        lambda s: (f"/api/lots/{s.lot.id}/declarations", {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (200, 404)},
    ),
    ("PUT", "/api/lots/{lot_id}/declarations/{period}"): (
        lambda s: (f"/api/lots/{s.lot.id}/declarations/2026-10", {"json": {"lines": [{"beneficiary": s.beneficiary, "modality": "direct_hire", "hours": 35}]}}),
        {A: (200, 200), B: (403, 403), F: (403, 403), C: (200, 404)},
    ),
    ("POST", "/api/lots/{lot_id}/declarations.csv"): (
        lambda s: (f"/api/lots/{s.lot.id}/declarations.csv?period=2026-10",
                   {"content": f"beneficiaire;modalite;heures\n{s.beneficiary};direct_hire;35\n", "headers": {"Content-Type": "text/csv"}}),
        {A: (200, 200), B: (403, 403), F: (403, 403), C: (200, 404)},
    ),
    ("POST", "/api/declarations/review"): (
        lambda s: ("/api/declarations/review", {"json": {"decisions": [{"line": s.line.id, "decision": "validate"}]}}),
        {A: (200, 200), B: (403, 403), F: (200, 404), C: (403, 403)},
    ),
    ("GET", "/api/markets/{ref}/evaluation"): (
        lambda s: (f"{market_url(s)}/evaluation", {}), {A: (200, 200), B: (200, 404), F: (200, 404), C: (403, 403)},
    ),
    ("PUT", "/api/markets/{ref}/evaluation"): (
        lambda s: (f"{market_url(s)}/evaluation", {"json": {"summary": "Bilan : en cours"}}),
        {A: (409, 409), B: (403, 403), F: (409, 404), C: (403, 403)},
    ),
}  # fmt: skip


def api_routes(app) -> set[tuple[str, str]]:
    """Every endpoint the application publishes (its OpenAPI description lists them all)."""
    return {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }


def test_every_endpoint_is_in_the_matrix(world):
    assert api_routes(world.client.app) == set(MATRIX)


READS = sorted(endpoint for endpoint in MATRIX if endpoint[0] == "GET")
WRITES = sorted(endpoint for endpoint in MATRIX if endpoint[0] != "GET")


@pytest.mark.parametrize("endpoint", READS, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_role_reads_its_own_data_and_nothing_else(world, endpoint):
    for role in (A, B, F, C):  # a read changes nothing: one world serves the four roles
        _reaches_own_data_only(world, endpoint, role)


@pytest.mark.parametrize("role", [A, B, F, C], ids=lambda r: r.value)
@pytest.mark.parametrize("endpoint", WRITES, ids=lambda e: f"{e[0]} {e[1]}")
def test_each_role_writes_its_own_data_and_nothing_else(world, endpoint, role):
    _reaches_own_data_only(world, endpoint, role)  # a fresh world each: writes change it


# the upsert by ref, on a ref that exists: one's own market (in execution: only an admin
# corrects it), another buyer's (not found, as on a read)
UPSERT_EXISTING = {A: (201, 201), B: (409, 404), F: (403, 403), C: (403, 403)}


def test_a_write_to_another_buyers_market_is_not_found(world):
    for role in (B, F, C, A):  # the refused first: one world serves the four roles
        for side, status in zip((world.own, world.other), UPSERT_EXISTING[role], strict=True):
            body = {"ref": side.market.ref, "buyer": side.buyer.siret, "title": f"Repris {role}",
                    "commune": side.market.commune_code, "cpv": "45233140", "amount": 1}  # fmt: skip
            response = world.call(role, "POST", "/api/markets", json=body)
            assert response.status_code == status, (role, side is world.own, response.text)
            if status in (403, 404, 409):
                assert world.call(A, "GET", market_url(side)).json()["title"] != body["title"]


def _reaches_own_data_only(world, endpoint, role) -> None:
    route, expected = MATRIX[endpoint]
    for side, status in zip((world.own, world.other), expected[role], strict=True):
        url, kwargs = route(side)
        response = world.call(role, endpoint[0], url, **kwargs)
        assert response.status_code == status, (endpoint, role, side is world.own, response.text)
        if status in (403, 404, 401):
            assert set(response.json()["error"]) >= {"type", "message"}


@pytest.mark.parametrize("role", [B, F, C], ids=lambda r: r.value)
def test_lists_never_show_another_organisations_rows(world, role):
    other = world.other
    bodies = [
        world.call(role, "GET", "/api/markets").json(),
        world.call(role, "GET", "/api/buyers").json(),
        world.call(role, "GET", "/api/structures").json(),
    ]
    text = repr(bodies)
    for secret in (other.market.ref, other.buyer.siret, other.structure.ref):
        assert secret not in text
    assert world.own.market.ref in repr(bodies[0])
    tasks = world.call(role, "GET", "/api/tasks")
    if tasks.status_code == 200:
        assert {item["market"] for item in tasks.json()["items"]} <= {world.own.market.ref}


def test_a_contractor_sees_only_its_own_lots_and_no_other_contractor(world, store, clock):
    from sqlmodel import select

    from clausier.markets.models import Lot

    with store.session() as session:
        lot = session.exec(
            select(Lot).where(Lot.market_id == world.own.market.id, Lot.number == 2)
        ).one()
        lot.contractor_id = world.other.contractor.id
        session.add(lot)
        session.commit()
    body = world.call(C, "GET", market_url(world.own)).json()
    assert [lot["number"] for lot in body["lots"]] == [1]
    assert world.other.contractor.siret not in repr(body)


def test_no_token_or_a_bad_one_is_401(world):
    assert world.call(None, "GET", "/api/markets").status_code == 401
    response = world.client.get("/api/markets", headers={"Authorization": "Bearer clz_faux"})
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Jeton inconnu, expiré ou révoqué."


@pytest.mark.parametrize("role", [A, B, F, C], ids=lambda r: r.value)
def test_a_beneficiarys_name_reaches_only_the_facilitators_of_their_structure(world, role):
    """Every endpoint that speaks of beneficiaries, for every role: the name is read by the
    facilitators of the registering structure and nobody else (not even an operator)."""
    own, other = world.own, world.other
    urls = [
        f"/api/beneficiaries?structure={own.structure.ref}",
        f"/api/lots/{own.lot.id}/declarations",
        f"/api/lots/{other.lot.id}/declarations",
        market_url(own),
        f"{market_url(own)}/evaluation",
        f"/api/reports?buyer={own.buyer.siret}&year=2026",
        f"/api/reports?buyer={own.buyer.siret}&year=2026&format=csv",
    ]
    texts = [world.call(role, "GET", url).text for url in urls]
    seen = "Personne a" in texts[0] + texts[1]
    assert seen == (role == F), (role, texts[:2])
    assert "Personne a" not in "".join(texts[2:])
    assert "Personne b" not in "".join(texts)


def _oracle_cases(world, role: Role) -> list[tuple[str, str, str, str]]:
    """(url with {key}, a key of one's own, the other organisation's, one nobody has): every
    filter and path that names a market, a structure, a buyer or a person."""
    own, other = world.own, world.other
    market = (own.market.ref, other.market.ref, "MKT-2099-001")
    structure = (own.structure.ref, other.structure.ref, "mde-z")
    person = (own.facilitator_email, other.facilitator_email, "f0@mde-z.example")
    buyer = (own.buyer.siret, other.buyer.siret, "21000000000099")
    cases = [
        ("/api/tasks?market={key}", *market),
        ("/api/tasks?structure={key}", *structure),
        ("/api/tasks?facilitator={key}", *person),
        ("/api/reports?year=2026&market={key}", *market),
        ("/api/reports?year=2026&structure={key}", *structure),
        ("/api/reports?year=2026&buyer={key}", *buyer),
        ("/api/markets/{key}", *market),
        ("/api/markets/{key}/evaluation", *market),
    ]
    if role == F:
        cases += [
            ("/api/beneficiaries?structure={key}", *structure),
            ("/api/structures/{key}/facilitators", *structure),
            ("/api/facilitators/{key}/tasks.ics", *person),
        ]
    return cases


def test_what_is_out_of_reach_answers_as_what_does_not_exist(world):
    """No existence oracle: another organisation's market, structure, buyer or facilitator is
    answered exactly as a key nobody has (404, the same message), and no « Vouliez-vous dire »
    names what is out of reach; one's own still answers. (Reads: one world serves both roles.)"""
    other = world.other
    secrets = (other.market.ref, other.structure.ref, other.buyer.siret, other.buyer.name,
               other.facilitator_email)  # fmt: skip
    cases = [(role, *case) for role in (B, F) for case in _oracle_cases(world, role)]
    for role, url, own_key, other_key, unknown in cases:
        mine = world.call(role, "GET", url.format(key=own_key))
        assert mine.status_code == 200, (role, url, mine.text)
        theirs = world.call(role, "GET", url.format(key=other_key))
        nobodys = world.call(role, "GET", url.format(key=unknown))
        assert (theirs.status_code, nobodys.status_code) == (404, 404), (role, url, theirs.text)
        told_theirs = theirs.json()["error"]["message"].replace(other_key, "…")
        told_nobodys = nobodys.json()["error"]["message"].replace(unknown, "…")
        assert told_theirs == told_nobodys, (role, url)
        assert not [secret for secret in secrets if secret in told_nobodys], (role, told_nobodys)
