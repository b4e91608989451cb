"""schemathesis against /openapi.json with a valid token: no 500, answers match the schema, and
schema-valid data is accepted.

The schemathesis pytest plugin does not load under this pytest; its strategies are driven with
hypothesis directly, one operation after another, with every check on.

The description says what the API refuses (``clausier.api.description``): no NUL in any text,
key or address; the patterns of a SIRET, a ref, a CPV, a commune or territory code, a
beneficiary's code, a month; one-line labels that are not blank; lengths, bounds, decimal places
and digits of amounts and hours; the lists of codes (publics, modalities, contract types,
outcomes, triggers); a reason with a rejection or a public « other »; unknown keys refused; a
market and a load described by the loader's own models, an e-mail address outside the domains
kept for special uses. What a JSON schema cannot say is refused 422 in French, and allowed on
these operations only (``CANNOT_SAY``, as schemathesis' expected statuses of
positive_data_acceptance), each for these reasons only (``refused_for_what_cannot_be_said``):

- POST /api/markets, POST /api/load: a SIRET's key (Luhn's sum, La Poste's exception), which
  no pattern of a reasonable size says; a buyer, contractor, structure, market, lot or
  beneficiary the store (or the rest of the file) does not hold, a commune or territory absent
  from the official geographic code, a facilitator of another structure, a person followed by
  another, an organisation deactivated (given a market, a lot or a facilitator) or that cannot
  be (what still needs it): what the store holds; dates in order, a key given twice in a file,
  a lot number twice in a market, too many hours for a person in a month: JSON Schema compares no two values; an
  offer frozen since publication: the stored market's state.
- POST /api/markets/{ref}/transitions/{trigger}: the data must fit the trigger the address
  names (the schema says every trigger's data, but cannot tie the body to a path parameter).
- GET and POST /api/beneficiaries, POST /api/beneficiaries/{code}/checks: ``structure`` is
  required of an administrator only (the schema is the same for every role); the facilitator
  who checked eligibility must belong to that structure (the store), the check cannot be dated
  after today (the clock), a public implies its age band and a PASS IAE its public (two
  values compared), and one check is recorded once (the store).
- PUT /api/lots/{lot_id}/declarations/{period}: a beneficiary the lot's structure follows, a
  month within the market's execution and begun, a modality the lot's clause allows, one line
  per person and modality, the monthly maximum across lots: the store, the clock, and
  comparisons between items.
- POST /api/lots/{lot_id}/declarations.csv: the same, and the file's own columns and lines (a
  CSV file is one text to a JSON schema).
- GET /api/reports: one scope, and one only, among four query parameters (the schema describes
  each parameter alone); a territory absent from the official geographic code.
"""

from __future__ import annotations

import re
from datetime import date

import schemathesis
from hypothesis import HealthCheck, given, settings

from clausier.auth.models import Role
from clausier.beneficiaries.read import Beneficiaries, Evaluation
from clausier.declarations.read import LotDeclarations
from clausier.documents import Page
from clausier.markets.read import MarketStatus, MarketSummary
from clausier.partnerships.read import Coverage
from clausier.reports.read import Report
from clausier.tasks.read import Task

_MARKET = (
    r"clé de contrôle incorrecte",  # a SIRET's key
    r"^(acheteur|titulaire) inconnu",  # not in the store
    r"^commune inconnue",  # not in the official geographic code
    r" précède ",  # dates in order
    r"numéro\(s\) en double",  # lot numbers, unique in a market
    r"offre d'insertion figée",  # the stored market's state
)
# a line's body and invoice (``declarations.bodies``): which of a person or an invoice, which
# kinds a modality takes, a SIRET's key, the lot's amount, one line per invoice
_BODIES = (
    r"nomme son organisme|ne passe (par aucun organisme|pas par une)|clé de contrôle incorrecte",
    r"bénéficiaire manquant|code du bénéficiaire manquant|nombre d'heures manquant",
    r"ne se compte pas par facture|ne nomme pas de bénéficiaire|laissez-les vides",
    r"référence de la facture manquante|montant HT de la facture manquant",
    r"au-delà du montant du lot|montant invraisemblable|une ligne par facture",
)
_DECLARED = (
    *_BODIES,
    r"inconnu de la structure qui suit ce marché",
    r"est hors de la période d'exécution|n'a pas commencé",
    r"la clause du lot n'autorise pas",
    r"est déjà déclaré\(e\) plus haut",
    r"maximum plausible",
)
# a public and its age band, a PASS IAE and its public: two values compared
_COMPARED = (r"suppose la tranche d'âge", r"PASS IAE ne vaut que pour")
_REGISTERED = (
    r"« structure » est obligatoire pour l'administration",
    r"n'est pas un facilitateur de",
    r"date de vérification de l'éligibilité est dans le futur",
    *_COMPARED,
)
CANNOT_SAY: dict[str, tuple[str, ...]] = {
    "POST /api/markets": _MARKET,
    "POST /api/load": (
        *_MARKET,
        *_BODIES,
        r"^(structure|marché|bénéficiaire) inconnue?",
        r"n'a pas de lot",
        r"apparaît deux fois",
        r"est déjà facilitateur de la structure",
        r"n'est ni une commune, ni un EPCI, ni un département connu",
        r"n'est pas un facilitateur de",
        r"est déjà suivi\(e\) par une autre structure|est suivi\(e\) par",
        r"n'a pas d'heures validées",
        r"maximum plausible",
        r"est désactivée? : |ne peut pas être désactivée? : ",  # the store: who is deactivated
        *_COMPARED,
    ),
    "POST /api/markets/{ref}/transitions/{trigger}": (r"^Données invalides pour « \w+ »",),
    "GET /api/beneficiaries": (r"« structure » est obligatoire pour l'administration",),
    "POST /api/beneficiaries": _REGISTERED,
    "POST /api/beneficiaries/{code}/checks": (
        *_REGISTERED,
        r"est déjà enregistrée",  # the store: the same check twice
    ),
    "PUT /api/lots/{lot_id}/declarations/{period}": _DECLARED,
    "POST /api/lots/{lot_id}/declarations.csv": (
        *_DECLARED,
        r"colonne|ligne|séparateur|guillemet|mois|relevé de",  # the file's columns and lines
        r"bénéficiaire|modalité|type de contrat|heures?\b",  # its values, read as text
    ),
    "GET /api/reports": (
        r"^Indiquez un périmètre, et un seul",
        r"^Territoire inconnu\(e\) au code officiel géographique",
    ),
}


def _allowing_what_cannot_be_said() -> schemathesis.Config:
    defaults = schemathesis.Config().projects.default.checks.positive_data_acceptance
    statuses = [*defaults.expected_statuses, "422"]
    return schemathesis.Config.from_dict({"operations": [
        {"include-name": name,
         "checks": {"positive_data_acceptance": {"expected-statuses": statuses}}}
        for name in CANNOT_SAY
    ]})  # fmt: skip


def refused_for_what_cannot_be_said(case, response) -> None:
    """A 422 of schema-valid data gives only reasons the schema cannot say, in French."""
    if response.status_code != 422 or not case.meta.generation.mode.is_positive:
        return
    error = response.json()["error"]
    reasons = [problem["message"] for problem in error.get("problems", [])]
    reasons = reasons or error["message"].split(" ; ")
    allowed = CANNOT_SAY[case.operation.label]
    said = [reason for reason in reasons if not any(re.search(p, reason) for p in allowed)]
    assert not said, f"{case.operation.label}: refused for what the schema could say: {said}"


def test_the_api_holds_to_its_description(world):
    schema = schemathesis.openapi.from_asgi(
        "/openapi.json", world.client.app, config=_allowing_what_cannot_be_said()
    )
    headers = {"Authorization": f"Bearer {world.tokens[Role.admin]}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    assert set(CANNOT_SAY) <= {operation.label for operation in operations}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=12,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
            derandomize=True,  # the same examples on every run: CI is never flaky
        )
        def check(case):
            response = case.call_and_validate(headers=headers)
            refused_for_what_cannot_be_said(case, response)

        check()


def _request_schemas(document: dict):
    """Every schema a request's parameters and bodies are described by, $refs followed."""
    components, seen = document["components"]["schemas"], set()

    def walk(schema, where):
        if isinstance(schema, list):
            for item in schema:
                yield from walk(item, where)
            return
        if not isinstance(schema, dict):
            return
        name = schema.get("$ref", "").rpartition("/")[2]
        if name and name not in seen:
            seen.add(name)
            yield from walk(components[name], name)
        yield where, schema
        for key, value in schema.items():
            if key in ("if", "then", "default", "examples", "enum", "const"):
                continue  # a condition adds to a field's schema; values are data
            if key in ("properties", "$defs"):
                for field, item in value.items():
                    yield from walk(item, f"{where}.{field}")
            else:
                yield from walk(value, where)

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", ()):
                yield from walk(parameter["schema"], f"{label} {parameter['name']}")
            for media in operation.get("requestBody", {}).get("content", {}).values():
                yield from walk(media["schema"], f"{label} body")


def test_the_description_says_a_nul_is_refused_in_every_text_and_key(world):
    """The API refuses a NUL anywhere (PostgreSQL keeps none): every text a request sends, and
    every key of an object whose keys are free, says so by a pattern, a list or a format."""
    document = world.client.get("/openapi.json").json()
    unsaid = []
    for where, schema in _request_schemas(document):
        text = schema.get("type") == "string" and not {"enum", "const", "format"} & set(schema)
        if text and re.search(schema.get("pattern", ""), "texte\x00nul"):
            unsaid.append(where)
        free = schema.get("type") == "object" and schema.get("additionalProperties") is not False
        if free and re.search(schema.get("propertyNames", {}).get("pattern", ""), "clé\x00"):
            unsaid.append(f"{where} (its keys)")
    assert not unsaid
    answer = world.call(Role.admin, "GET", "/api/tasks", params={"kind": "relance\x00"})
    assert answer.status_code == 422
    assert "caractère nul (U+0000)" in answer.json()["error"]["message"]


def test_a_market_and_a_load_are_described_by_the_loaders_own_models(world):
    """The bodies the loader reads are not free objects: the schema of each is the loader's
    model, which refuses an unknown key, and says a SIRET's, a ref's and an amount's shape."""
    document = world.client.get("/openapi.json").json()
    paths, components = document["paths"], document["components"]["schemas"]
    for path, model in (("/api/markets", "MarketRow"), ("/api/load", "LoadFile")):
        body = paths[path]["post"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
    market = components["MarketRow"]
    assert market["additionalProperties"] is False
    assert {"ref", "buyer", "title", "commune", "cpv", "amount"} <= set(market["required"])
    assert re.fullmatch(market["properties"]["buyer"]["pattern"], "123 456 789 00012")
    assert not re.search(market["properties"]["buyer"]["pattern"], "1234567890001")
    assert market["properties"]["amount"]["multipleOf"] == 0.01
    assert set(components["LoadFile"]["properties"]) == {
        "buyers", "structures", "contractors", "conventions", "markets", "beneficiaries",
        "declarations", "outcomes",
    }  # fmt: skip
    # a rejection gives its reason: the schema says so, as the review does
    decision = components["DecisionBody"]
    assert decision["if"] == {
        "properties": {"decision": {"const": "reject"}},
        "required": ["decision"],
    }
    answer = world.call(Role.facilitator, "POST", "/api/declarations/review",
                        json={"decisions": [{"line": world.own.line.id, "decision": "reject"}]})  # fmt: skip
    assert answer.status_code == 422 and "un rejet se motive" in answer.json()["error"]["message"]


# --- what the API answers ------------------------------------------------------------------

# objects whose keys are free by nature, where they are: the data a trigger was fired with, or
# an edit's changes, as the market's log kept them
FREE_OBJECTS = {"HistoryEntry.payload"}


def _answer_schemas(document: dict):
    """Each JSON answer of a success (2xx), by operation."""
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                media = answer.get("content", {}).get("application/json")
                if status.startswith("2") and media is not None:
                    yield f"{method.upper()} {path}", media.get("schema", {})


def _free_objects(schema, components: dict, where: str, seen: set):
    """Where an object of ``schema`` ($refs followed) names none of its keys and gives no schema
    for them: a bare ``additionalProperties: true`` (or no word at all)."""
    if isinstance(schema, list):
        for item in schema:
            yield from _free_objects(item, components, where, seen)
        return
    if not isinstance(schema, dict):
        return
    name = schema.get("$ref", "").rpartition("/")[2]
    if name:
        if name not in seen:
            seen.add(name)
            yield from _free_objects(components[name], components, name, seen)
        return
    typed_map = (
        isinstance(schema.get("additionalProperties"), dict) and schema["additionalProperties"]
    )
    if schema.get("type") == "object" and not schema.get("properties") and not typed_map:
        yield where
    for key, value in schema.items():
        if key in ("default", "examples", "enum", "const"):
            continue
        if key == "properties":
            for field, item in value.items():
                yield from _free_objects(item, components, f"{where}.{field}", seen)
        elif isinstance(value, dict | list):
            yield from _free_objects(value, components, where, seen)


def test_every_answer_is_described_field_by_field(world):
    """Every success the API answers in JSON has its model in /openapi.json: an object whose
    fields are named, down to the last nested list (the paginated lists too), and no free
    object but the log's payloads."""
    document = world.client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    answers = dict(_answer_schemas(document))
    assert len(answers) >= 25 and "GET /api/markets/{ref}" in answers
    undescribed = {}
    for label, schema in answers.items():
        name = schema.get("$ref", "").rpartition("/")[2]
        top = components.get(name, schema)
        free = [where for where in _free_objects(schema, components, name, set())
                if where not in FREE_OBJECTS]  # fmt: skip
        if not top.get("properties") or free:
            undescribed[label] = free or "no named properties"
    assert not undescribed
    assert answers["GET /api/markets"] == {"$ref": "#/components/schemas/Page_MarketSummary_"}
    assert answers["GET /api/markets/{ref}"] == {"$ref": "#/components/schemas/MarketStatus"}
    status = components["MarketStatus"]
    assert status["additionalProperties"] is False  # exactly these fields
    assert "outcomes" not in status["required"] and "open_tasks" in status["required"]
    assert "from" in components["HistoryEntry"]["properties"]  # the JSON's name, not Python's
    # the report in JSON, or as a file
    report = document["paths"]["/api/reports"]["get"]["responses"]["200"]["content"]
    assert {"application/json", "text/csv", "text/html"} <= set(report)


def _answers(world, role: Role, *urls: str):
    for url in urls:
        response = world.call(role, "GET", url)
        assert response.status_code == 200, (role, url, response.text)
        yield url, response.json()


def _holds_to(model, body: dict) -> None:
    """``body`` is a ``model``, exactly: no field missing, none unknown, and read back the same."""
    document = model.model_validate(body)
    assert document.model_dump(mode="json", by_alias=True, exclude_unset=True) == body


def test_real_answers_are_their_models_exactly(world, clock):
    own = world.own
    status_url = f"/api/markets/{own.market.ref}"
    models = {
        "/api/markets": Page[MarketSummary],
        status_url: MarketStatus,
        "/api/tasks": Page[Task],
        "/api/coverage": Coverage,
        f"/api/beneficiaries?structure={own.structure.ref}": Beneficiaries,
        f"/api/lots/{own.lot.id}/declarations": LotDeclarations,
        f"/api/markets/{own.market.ref}/evaluation": Evaluation,
        f"/api/reports?year=2026&market={own.market.ref}": Report,
    }
    for url, body in _answers(world, Role.admin, *models):
        _holds_to(models[url], body)
    # the status lookup of each role (a contractor's redacted), built then kept
    for role in Role:
        for _, body in _answers(world, role, status_url, status_url):
            _holds_to(MarketStatus, body)
    # a transition answers the status, validated; an evaluated market adds its outcomes
    clock.move_to(date(2027, 9, 1))
    moved = world.call(Role.buyer, "POST", f"{status_url}/transitions/complete", json={})
    assert moved.status_code == 200 and moved.json()["state"] == "evaluation"
    assert "outcomes" in moved.json()
    _holds_to(MarketStatus, moved.json())
    for role in Role:
        for _, body in _answers(world, role, status_url, status_url):
            assert "outcomes" in body
            _holds_to(MarketStatus, body)


def test_the_status_lookup_is_described_not_validated_again(world, monkeypatch):
    """The hot path: a status lookup is answered as ready bytes, its model only describes it
    (a list, answered through its model, shows that the count sees a validation)."""
    import fastapi.routing

    validated = []
    serialize = fastapi.routing.serialize_response

    async def counted(**kwargs):
        validated.append(kwargs.get("field"))
        return await serialize(**kwargs)

    monkeypatch.setattr(fastapi.routing, "serialize_response", counted)
    for _ in range(2):  # built, then kept
        response = world.call(Role.buyer, "GET", f"/api/markets/{world.own.market.ref}")
        assert response.status_code == 200
    assert validated == []
    assert world.call(Role.buyer, "GET", "/api/markets").status_code == 200
    assert len(validated) == 1 and validated[0] is not None
