"""No input a person can type gives a 5xx: every operation of the API and every form of the site,
driven with hostile values (control characters, lone surrogates, a ref of 100,000 characters,
numbers past 2⁶³ or written « 1e999999999 », dates in the year 99999999999999999999, digits
written as superscripts, CR-only CSV lines…), one field at a time in a request that is otherwise
valid, as each role, on both stores.

The operations are read from /openapi.json and the forms from the site's routes, so a new one
without a sample below fails the test (add its sample)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clausier.auth.models import Role

# --- hostile values --------------------------------------------------------------------------

SURROGATE = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
CONTROL = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
FIXED_TEXTS = [
    "",
    " ",
    "\r",
    "a\rb",
    "a\nb",
    "\u2028",
    "²⁰²⁶",
    "٢٠٢٦",
    "1/1/99999999999999999999",
    "99999999999999999999-01-01",
    "2026-02-30",
    "0000-00-00",
    "1e999999999",
    "-1e999999999",
    "NaN",
    "Infinity",
    "9" * 400,
    "x" * 100_000,
    "B-" + "Z" * 70_000,
    "'; DROP TABLE market; --",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://x")',
    "\ud800",
    "a\x00b",
    "%00",
    "../../etc/passwd",
]
HOSTILE_TEXT = st.one_of(
    st.text(alphabet=st.one_of(SURROGATE, CONTROL, st.characters()), min_size=1, max_size=30),
    st.sampled_from(FIXED_TEXTS),
)
FIXED_NUMBERS = [
    2**31,
    2**31 - 1,
    2**63,
    2**63 - 1,
    2**64,
    -(2**63) - 1,
    -1,
    0,
    10**400,
    1e308,
    -0.0,
    0.1,
]
HOSTILE_NUMBER = st.sampled_from(FIXED_NUMBERS)
HOSTILE = st.one_of(
    HOSTILE_TEXT, HOSTILE_NUMBER, st.none(), st.booleans(), st.just([]), st.just({}),
    st.just([None] * 3), st.just({"": None}),
)  # fmt: skip


def leaves(document: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield from leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from leaves(value, (*path, index))
    yield path


def replaced(document: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    copy = dict(document) if isinstance(document, dict) else list(document)
    copy[path[0]] = replaced(copy[path[0]], path[1:], value)
    return copy


# --- valid samples, mutated one field at a time ------------------------------------------


def market_sample(world) -> dict:
    return {
        "ref": "MKT-2027-NEUF", "title": "Réfection de la toiture", "commune": "50129",
        "cpv": "45261000", "amount": 300000, "consultation_on": "2027-03-01",
        "award_on": "2027-05-01", "execution_starts_on": "2027-06-01",
        "execution_ends_on": "2028-05-31",
        "lots": [{"number": 1, "title": "Couverture", "amount": 300000, "hours": 120}],
    }  # fmt: skip


def api_samples(world) -> dict[tuple[str, str], dict]:
    """(method, path template) → {"path": {...}, "query": {...}, "json": … or "content": …}."""
    own = world.own
    market, lot, task = own.market.ref, own.lot.id, own.task.id
    return {
        ("GET", "/api/markets"): {"query": {"state": "execution", "commune": "50129", "limit": 10, "offset": 0}},
        ("POST", "/api/markets"): {"json": market_sample(world)},
        ("GET", "/api/markets/{ref}"): {"path": {"ref": market}},
        ("POST", "/api/markets/{ref}/transitions/{trigger}"): {
            "path": {"ref": market, "trigger": "complete"},
            "json": {"data": {"reason": "motif"}, "expected_version": 1},
        },
        ("GET", "/api/tasks"): {"query": {"structure": own.structure.ref, "facilitator": own.facilitator_email,
                                          "kind": "kickoff_meeting", "market": market, "overdue": "true"}},
        ("POST", "/api/tasks/{task_id}/done"): {"path": {"task_id": task}, "json": {"comment": "fait"}},
        ("POST", "/api/tasks/{task_id}/assign"): {"path": {"task_id": task}, "json": {"to": own.facilitator_email}},
        ("POST", "/api/tasks/{task_id}/cancel"): {"path": {"task_id": task}, "json": {"reason": "plus utile"}},
        ("GET", "/api/facilitators/{email}/tasks.ics"): {"path": {"email": own.facilitator_email}},
        ("GET", "/api/coverage"): {"query": {"buyer": own.buyer.siret}},
        ("GET", "/api/health"): {},
        ("GET", "/api/buyers"): {"query": {"limit": 10}},
        ("GET", "/api/structures"): {"query": {"limit": 10}},
        ("GET", "/api/structures/{ref}/facilitators"): {"path": {"ref": own.structure.ref}},
        ("GET", "/api/contractors"): {"query": {"limit": 10}},
        ("GET", "/api/conventions"): {"query": {"limit": 10}},
        ("POST", "/api/load"): {"json": {"markets": [market_sample(world)]}},
        ("GET", "/api/beneficiaries"): {"query": {"structure": own.structure.ref}},
        ("POST", "/api/beneficiaries"): {"json": {
            "public": "deld", "sex": "F", "age_band": "26_to_49", "checked_by": own.facilitator_email,
            "checked_on": "2026-11-02", "name": "Camille Test",
        }},
        ("POST", "/api/beneficiaries/{code}/checks"): {"path": {"code": own.beneficiary}, "json": {
            "public": "qpv", "checked_by": own.facilitator_email, "checked_on": "2026-11-02",
        }},
        ("GET", "/api/lots/{lot_id}/declarations"): {"path": {"lot_id": lot}},
        ("PUT", "/api/lots/{lot_id}/declarations/{period}"): {
            "path": {"lot_id": lot, "period": "2026-10"},
            "json": {"lines": [{"beneficiary": own.beneficiary, "modality": "direct_hire", "hours": 35,
                                "contract_type": "cdi"}]},
        },
        ("POST", "/api/lots/{lot_id}/declarations.csv"): {
            "path": {"lot_id": lot}, "query": {"period": "2026-10"},
            "csv": f"beneficiaire;modalite;heures\n{own.beneficiary};direct_hire;35\n",
        },
        ("POST", "/api/declarations/review"): {"json": {"decisions": [{"line": own.line.id, "decision": "validate"}]}},
        ("GET", "/api/markets/{ref}/evaluation"): {"path": {"ref": market}},
        ("PUT", "/api/markets/{ref}/evaluation"): {"path": {"ref": market}, "json": {"summary": "Bilan", "outcomes": {}}},
        ("GET", "/api/reports"): {"query": {"year": 2026, "buyer": own.buyer.siret, "format": "json"}},
    }  # fmt: skip


def operations(world) -> list[tuple[str, str]]:
    described = world.client.get("/openapi.json").json()["paths"]
    return [(method.upper(), path) for path, ops in described.items() for method in ops]


def test_the_site_is_read_whole(world):
    assert len(forms(world)) >= 11 and len(list(site_routes(world.client.app.routes))) >= 40


def test_every_operation_of_the_api_has_a_sample(world):
    missing = set(operations(world)) - set(api_samples(world))
    assert not missing, f"add a sample for {sorted(missing)}"


def mutations(sample: dict) -> list[tuple[str, tuple]]:
    """Every place a hostile value can go: a path or query parameter, a leaf of the body."""
    places = [("path", (name,)) for name in sample.get("path", {})]
    places += [("query", (name,)) for name in sample.get("query", {})]
    if "json" in sample:
        places += [("json", path) for path in leaves(sample["json"])]
    if "csv" in sample:
        places += [("csv", ())]
    return places


URL_ROOM = 4000  # what an address carries (the client refuses 65,536 characters)


def as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def call(world, role: Role, method: str, template: str, sample: dict):
    path = with_ids(template, {n: as_text(v) for n, v in sample.get("path", {}).items()})
    query = {n: typed(as_text(v)[:URL_ROOM]) for n, v in sample.get("query", {}).items()}
    kwargs: dict[str, Any] = {"params": query}
    if "json" in sample:
        kwargs["content"] = json.dumps(
            sample["json"]
        ).encode()  # ensure_ascii: surrogates as \\ud800
        kwargs["headers"] = {"Content-Type": "application/json"}
    if "csv" in sample:
        kwargs["content"] = sample["csv"].encode("utf-8", "surrogatepass")
        kwargs["headers"] = {"Content-Type": "text/csv"}
    return world.call(role, method, path, **kwargs)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def hostile_csv(value: Any, beneficiary: str) -> str:
    text = as_text(value)
    return st.sampled_from([
        f"beneficiaire;modalite;heures\r{beneficiary};direct_hire;35\r",
        f"beneficiaire;modalite;heures\n{beneficiary};direct_hire;{text}\n",
        f"beneficiaire;modalite;heures\n{text};direct_hire;35\n",
        f"beneficiaire;modalite;heures\n{beneficiary};{text};35\n",
        f"beneficiaire;modalite;heures\n\"{'x' * 140_000}\";direct_hire;35\n",
        f"beneficiaire;modalite;heures\n{beneficiary};direct_hire;35\r\n{beneficiary}\r;x;1\n",
        text,
    ])  # fmt: skip


ROLES = st.sampled_from(list(Role))


def test_no_hostile_value_gives_a_server_error_anywhere_in_the_api(world):
    samples = api_samples(world)
    for method, template in operations(world):
        fuzz_operation(world, method, template, samples[(method, template)])


AS = {  # who may do it, so that the value reaches the code behind the access check
    "POST /api/markets": Role.buyer, "PUT /api/lots/{lot_id}/declarations/{period}": Role.contractor,
    "POST /api/lots/{lot_id}/declarations.csv": Role.contractor,
    "POST /api/declarations/review": Role.facilitator, "PUT /api/markets/{ref}/evaluation": Role.facilitator,
    "POST /api/beneficiaries": Role.facilitator, "GET /api/beneficiaries": Role.facilitator,
    "POST /api/beneficiaries/{code}/checks": Role.facilitator,
    "GET /api/lots/{lot_id}/declarations": Role.contractor,
}  # fmt: skip


SHORT_TEXTS = [
    "",
    " ",
    "\r",
    "a\nb",
    "\u2028",
    "²⁰²⁶",
    "1/1/99999999999999999999",
    "2026-02-30",
    "1e999999999",
    "NaN",
    "9" * 400,
    "x" * 5000,
    "\ud800",
    "a\x00b",
    "<b>é</b>",
]
SHAPES = [None, [], {}]
AS_NUMBERS = [2**31, 2**63, 10**400, -1, 1e308, 0.1, "1e999999999", "NaN", "²⁰²⁶", "\ud800", ""]


def values_for(sample: dict, kind: str, path: tuple) -> list:
    """The hostile values worth trying in one place: numbers where a number is, texts else."""
    if kind == "json":
        value = sample["json"]
        for step in path:
            value = value[step]
        if isinstance(value, dict | list):
            return SHAPES
        if isinstance(value, int | float) and not isinstance(value, bool):
            return AS_NUMBERS + SHAPES
        return SHORT_TEXTS + SHAPES
    return SHORT_TEXTS


def test_every_known_hostile_value_in_every_place_of_the_api(world):
    """Each value of the list above in each place, as the role that may do it: no 5xx."""
    failures = []
    for (method, template), sample in api_samples(world).items():
        role = AS.get(f"{method} {template}", Role.admin)
        for kind, path in mutations(sample):
            if kind == "csv":
                continue  # the CSV bodies are drawn by the property test
            for value in values_for(sample, kind, path):
                if kind == "json":
                    mutated = {**sample, "json": replaced(sample["json"], path, value)}
                else:
                    mutated = {**sample, kind: {**sample[kind], path[0]: value}}
                where = f"{method} {template} {kind} {path} = {value!r:.60}"
                try:
                    response = call(world, role, method, template, mutated)
                except Exception as error:  # the test client re-raises what the server raised
                    failures.append(f"{where}: {type(error).__name__} {str(error)[:120]}")
                    continue
                if response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code}")
    assert not failures, "\n".join(failures)


def fuzz_operation(world, method: str, template: str, sample: dict) -> None:
    places = mutations(sample)
    if not places:
        return

    @given(place=st.sampled_from(places), value=HOSTILE, role=ROLES, data=st.data())
    @settings(max_examples=min(15, max(8, len(places))), deadline=None, database=None,
              derandomize=True, suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(place, value, role, data):
        kind, path = place
        if kind == "csv":
            mutated = {**sample, "csv": data.draw(hostile_csv(value, world.own.beneficiary))}
        elif kind == "json":
            mutated = {**sample, "json": replaced(sample["json"], path, value)}
        else:
            mutated = {**sample, kind: {**sample[kind], path[0]: value}}
        response = call(world, role, method, template, mutated)
        assert response.status_code < 500, (
            f"{method} {template} as {role.value}, {kind} {path} = {value!r:.200}: "
            f"{response.status_code} {response.text[:300]}"
        )

    check()


# --- the site's forms --------------------------------------------------------------------

PAGE_ROLES = {Role.admin, Role.buyer, Role.facilitator, Role.contractor}


def site_routes(routes, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Every route with its whole path, through the routers FastAPI includes."""
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from site_routes(included.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "dependant"):
            yield prefix + route.path_format, route


def forms(world) -> list[tuple[str, list[str]]]:
    """Every form the site receives (POST routes outside /api), with its fields."""
    found = []
    for path, route in site_routes(world.client.app.routes):
        if "POST" in (getattr(route, "methods", None) or ()) and not path.startswith("/api"):
            fields = [p.alias for p in route.dependant.body_params]
            found.append((path, fields))
    return found


def sign_in(client, token: str) -> str:
    form = client.get("/connexion").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    client.post("/connexion/jeton", data={"token": token, "csrf": csrf})
    page = client.get("/marches").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    return found.group(1) if found else ""


def valid_forms(world) -> dict[str, dict[str, str]]:
    """A form each page could send, field by field (the signing-out form is left out: it would
    end the session the sweep runs in)."""
    own = world.own
    return {
        "/connexion/lien": {"email": own.facilitator_email},
        "/connexion/jeton": {"token": "faux-jeton"},
        "/connexion/{secret}": {},
        "/taches/{task_id}/fait": {},
        "/taches/{task_id}/prendre": {},
        "/lots/{lot_id}/declarations/{period}": {
            "beneficiary-1": own.beneficiary, "modality-1": "direct_hire", "hours-1": "35",
            "contract_type-1": "cdi", "action": "enregistrer",
        },
        "/controle/lignes/{line_id}": {"decision": "rejeter", "reason": "heures en double"},
        "/controle/releves/{statement_id}": {"ligne": str(own.line.id)},
        "/beneficiaires": {
            "public": "deld", "sex": "F", "age_band": "26_to_49",
            "checked_by": own.facilitator_email, "checked_on": "2026-11-02", "name": "Camille",
        },
        "/beneficiaires/{code}/verifications": {
            "public": "qpv", "checked_by": own.facilitator_email, "checked_on": "2026-11-02",
        },
        "/marches/{ref}/evaluation": {"bilan": "Bilan de la clause", f"sortie-{own.beneficiary}": "durable_employment"},
        **{path: {"ref": "MKT-2027-HOSTILE", "buyer": own.buyer.siret, "title": "Voirie",
                  "commune": "Cherbourg", "cpv": "45233140", "amount": "1 000",
                  "consultation_on": "2027-03-01", "version": str(own.market.version),
                  "lot_1_number": "1", "lot_1_title": "Chaussée", "lot_1_amount": "1000",
                  "action": "enregistrer"}
           for path in ("/marches/nouveau", "/marches/{ref}/modifier")},
        "/marches/import": {},  # its file: tests/web/test_market_forms.py
        "/taches/{task_id}/confier": {"a": own.facilitator_email},
        "/taches/{task_id}/annuler": {"motif": "plus utile"},
        "/marches/{ref}/arbitrage": {"structure": own.structure.ref, "version": str(own.market.version)},
        # close: its bilan read and checked, then refused in execution (the market stays as it is)
        "/marches/{ref}/declencher/{trigger}": {"version": str(own.market.version), "bilan": "Bilan du marché",
                                                "motif": "motif", "titulaire-1": own.contractor.siret},
        "/marches/{ref}/offre": {"version": str(own.market.version), "taux-1": "7", "part-1": "40",
                                 "cout-1": "30", "heures-1": "", "motif-1": "",
                                 "modalites-1": "direct_hire", "clause-1": "", "action": "recalculer"},
        "/conventions/nouvelle": {"ref": "CONV-2027-HOSTILE", "acheteur": own.buyer.siret,
                                  "structure": own.structure.ref, "debut": "2027-01-01",
                                  "fin": "2027-12-31", "renouvellement": "explicit",
                                  "territoire": "50129", "service": "advise",
                                  "taux": "7", "cout": "30"},
        "/conventions/{ref}/renouveler": {"renouvellements": "0"},
        "/conventions/{ref}/resilier": {"le": "31/12/2027"},
        "/annuaire/structures": {"ref": "mde-hostile", "name": "PLIE hostile", "kind": "plie",
                                 "email": "clauses@plie-hostile.fr"},
        "/annuaire/structures/{structure_id}": {"name": "Maison renommée", "kind": "maison_emploi",
                                                "email": "clauses@renommee.fr", "avant_name": "x"},
        "/annuaire/structures/{structure_id}/facilitateurs": {"name": "Nouvelle Personne",
                                                              "email": "nouvelle@hostile.fr", "digest": "oui"},
        "/annuaire/facilitateurs/{facilitator_id}": {"name": "Facilitateur renommé", "email": "renomme@hostile.fr",
                                                     "structure": str(own.structure.id), "digest": "oui",
                                                     "avant_structure_id": str(own.structure.id)},
        "/annuaire/facilitateurs/{facilitator_id}/desactiver": {},
        "/annuaire/facilitateurs/{facilitator_id}/reactiver": {},
        "/annuaire/structures/{structure_id}/desactiver": {},
        "/annuaire/structures/{structure_id}/reactiver": {},
        "/annuaire/{path}/{org_id}/desactiver": {},
        "/annuaire/{path}/{org_id}/reactiver": {},
        "/annuaire/{path}": {"siret": "73282932000074", "name": "Titulaire hostile", "email": "contact@hostile.fr"},
        "/annuaire/{path}/{org_id}": {"name": "Titulaire renommé", "email": "contact@renomme.fr",
                                      "avant_name": "x"},
        "/acces": {"role": "buyer", "org": own.buyer.siret, "expires": "31/12/2099"},
        "/acces/{token_id}/revoquer": {},
    }  # fmt: skip


def test_every_form_of_the_site_has_a_sample(world):
    missing = {path for path, _ in forms(world)} - set(valid_forms(world)) - {"/deconnexion"}
    assert not missing, f"add a sample form for {sorted(missing)}"


def with_ids(template: str, ids: dict[str, str]) -> str:
    url = template
    for name, value in ids.items():
        url = url.replace("{" + name + "}", _quote(value[:URL_ROOM]) or "%20")
    return url


def typed(value: str) -> str:
    """What a browser can send of a text: no lone surrogate survives UTF-8."""
    return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


@pytest.mark.parametrize("role", sorted(PAGE_ROLES, key=lambda r: r.value))
def test_every_known_hostile_value_in_every_form_and_address_of_the_site(world, role):
    """Each value of the short list in each field of each form the role may send (the others
    left valid), and in each part of each page's address: no 5xx, as each role. A page or form
    the policy refuses to the role (403 on its own data, ``tests/web/page_matrix``) is refused
    before its query or fields are read: its address is swept, its query and fields are left
    to the roles that may open or send it (and to the random values below, for every role)."""
    from fastapi.testclient import TestClient

    from tests.web.page_matrix import MATRIX

    failures = []
    with TestClient(world.client.app, raise_server_exceptions=False) as client:
        csrf = sign_in(client, world.tokens[role])
        for path, sample in valid_forms(world).items():
            names, ids = re.findall(r"\{(\w+)\}", path), ids_for(world, path)
            fields = [] if _refused(MATRIX, "POST", path, role) else list(sample)
            tries = [({**sample, field: value}, ids) for field in fields for value in SHORT_TEXTS]
            tries += [(sample, {**ids, name: value}) for name in names for value in SHORT_TEXTS]
            for data, where in tries:
                sent = {k: typed(v) for k, v in data.items()} | {"csrf": csrf}
                response = client.post(with_ids(path, where), data=sent, follow_redirects=False)
                if response.status_code >= 500:
                    failures.append(f"POST {path} {data!r:.150} {where!r:.100}")
        for path, params in pages(world):
            names, ids = re.findall(r"\{(\w+)\}", path), ids_for(world, path)
            params = [] if _refused(MATRIX, "GET", path, role) else params
            tries = [({p: value}, ids) for p in params for value in SHORT_TEXTS]
            tries += [({}, {**ids, name: value}) for name in names for value in SHORT_TEXTS]
            for query, where in tries:
                response = client.get(with_ids(path, where), follow_redirects=False,
                                      params={k: typed(v)[:URL_ROOM] for k, v in query.items()})  # fmt: skip
                if response.status_code >= 500:
                    failures.append(f"GET {path} {query!r:.150} {where!r:.100}")
        assert not failures, "\n".join(failures)
        for path, fields in forms(world):  # then values drawn at random, in every field
            if path != "/deconnexion":
                fuzz_form(world, client, role, csrf, path, fields)
        for path, names in pages(world):
            fuzz_page(client, role, path, names)


def _refused(matrix: dict, method: str, path: str, role: Role) -> bool:
    """The policy refuses ``role`` this page or form on its own data (403)."""
    entry = matrix.get((method, path))
    return entry is not None and entry[1][role][0] == 403


def pages(world) -> list[tuple[str, list[str]]]:
    found = []
    for path, route in site_routes(world.client.app.routes):
        if "GET" in (getattr(route, "methods", None) or ()) and not path.startswith(
            ("/api", "/openapi", "/docs", "/redoc", "/static")
        ):
            found.append((path, [p.alias for p in route.dependant.query_params]))
    return found


def valid_ids(world) -> dict[str, str]:
    own = world.own
    return {"lot_id": str(own.lot.id), "period": "2026-10", "ref": own.market.ref,
            "task_id": str(own.task.id), "line_id": str(own.line.id),
            "statement_id": str(own.line.statement_id), "secret": "lien-inconnu",
            "id": str(own.lot.id), "structure_id": str(own.structure.id),
            "facilitator_id": str(own.facilitator_id), "path": "titulaires",
            "org_id": str(own.contractor.id), "trigger": "close", "code": own.beneficiary,
            "token_id": str(_token_id(world, Role.contractor))}  # fmt: skip


def _token_id(world, role: Role) -> int:
    """A token to revoke that is not the sweeping session's own (the contractor's but for the
    contractor's sweep, where revoking is refused before it is read)."""
    from sqlmodel import Session, select

    from clausier.auth.models import ApiToken

    with Session(world.client.app.state.engine) as session:
        return session.exec(select(ApiToken.id).where(ApiToken.role == role.value)).first()


def ids_for(world, path: str) -> dict[str, str]:
    """The ids of a page's address: a convention's pages name a convention by ``ref``."""
    ids = valid_ids(world)
    return ids | {"ref": world.own.convention.ref} if path.startswith("/conventions/") else ids


# forms that read their fields themselves (rows, one outcome per person), as their pages name them
READ_BY_THE_PAGE = {
    "/lots/{lot_id}/declarations/{period}": ["beneficiary-1", "modality-1", "hours-1",
                                             "contract_type-1", "action", "remove-2"],
    "/marches/{ref}/evaluation": ["bilan", "sortie-B-AAAAAAAA", "sortie-"],
    "/beneficiaires": ["public", "public_reason", "pass_iae", "sex", "age_band", "checked_by",
                       "checked_on", "name"],
    "/beneficiaires/{code}/verifications": ["public", "reason", "pass_iae", "checked_by",
                                            "checked_on"],
    **{path: ["ref", "buyer", "title", "commune", "cpv", "amount", "consultation_on", "award_on",
              "version", "action", "lot_1_number", "lot_1_title", "lot_1_amount", "lot_2_remove"]
       for path in ("/marches/nouveau", "/marches/{ref}/modifier")},
    "/marches/import": ["fichier"],
    "/marches/{ref}/arbitrage": ["structure", "version"],
    "/marches/{ref}/declencher/{trigger}": ["version", "motif", "infructueuse", "bilan", "titulaire-1",
                                            "nouveau-siret-1", "nouveau-nom-1", "nouveau-email-1"],
    "/marches/{ref}/offre": ["version", "action", *(f"{name}-1" for name in (
        "taux", "part", "cout", "heures", "motif", "modalites", "clause", "modele", "base"))],
    "/conventions/nouvelle": ["ref", "acheteur", "structure", "debut", "fin", "renouvellement",
                              "territoire", "service", "taux", "cout"],
    "/conventions/{ref}/renouveler": ["renouvellements"],
    "/conventions/{ref}/resilier": ["le"],
    "/annuaire/structures": ["ref", "name", "kind", "email"],
    "/annuaire/structures/{structure_id}": ["name", "kind", "email", "avant_name", "avant_kind",
                                            "avant_email"],
    "/annuaire/structures/{structure_id}/facilitateurs": ["name", "email", "digest"],
    "/annuaire/facilitateurs/{facilitator_id}": ["name", "email", "structure", "digest", "avant_name",
                                                 "avant_email", "avant_structure_id", "avant_digest"],
    "/annuaire/{path}": ["siret", "name", "email"],
    "/annuaire/{path}/{org_id}": ["name", "email", "avant_name", "avant_email"],
    "/acces": ["role", "org", "expires"],
}  # fmt: skip


def fuzz_form(world, client, role: Role, csrf: str, path: str, fields: list[str]) -> None:
    names = [f for f in fields if f != "csrf"] + READ_BY_THE_PAGE.get(path, [])
    ids = re.findall(r"\{(\w+)\}", path)

    @given(
        values=st.fixed_dictionaries({n: HOSTILE_TEXT for n in names}),
        ids=st.fixed_dictionaries(
            {n: st.one_of(st.just(ids_for(world, path)[n]), HOSTILE_TEXT) for n in ids}
        ),
    )
    @settings(max_examples=12, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(values, ids):
        url = with_ids(path, ids)
        data = {k: typed(v) for k, v in values.items()} | {"csrf": csrf}
        response = client.post(url, data=data, follow_redirects=False)
        assert response.status_code < 500, (
            f"POST {path} as {role.value}: {values!r:.300} → {response.status_code} "
            f"{response.text[:300]}"
        )

    check()


def fuzz_page(client, role: Role, path: str, names: list[str]) -> None:
    ids = re.findall(r"\{(\w+)\}", path)
    if not names and not ids:
        return

    @given(
        query=st.fixed_dictionaries({n: HOSTILE_TEXT for n in names}),
        ids=st.fixed_dictionaries({n: HOSTILE_TEXT for n in ids}),
    )
    @settings(max_examples=8, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def check(query, ids):
        url = with_ids(path, ids)
        params = {k: typed(v[:URL_ROOM]) for k, v in query.items()}
        response = client.get(url, params=params, follow_redirects=False)
        assert response.status_code < 500, (
            f"GET {path} as {role.value}: {query!r:.200} {ids!r:.200} → "
            f"{response.status_code} {response.text[:300]}"
        )

    check()
