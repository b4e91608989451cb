"""What /openapi.json adds to FastAPI's own description, so that it says what the API refuses.

Two things FastAPI cannot see on its own:

- a body a route reads itself, after the caller is known (a load), or checks with the loader's
  models rather than its own (a market): ``body(model)`` describes it with that model's schema,
  filed under ``components/schemas`` like the models FastAPI knows, so that the rules the
  loader checks and the rules the description states come from one definition;
- the NUL that ``clausier.http.limits`` refuses in every text, every key and every address
  (PostgreSQL cannot keep one): each text of a request that no pattern, list or format bounds
  yet gets ``NO_NUL``, each free key ``propertyNames`` of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

NO_NUL = r"^[^\x00]*$"
_REF = "#/components/schemas/{model}"
_MODELS: dict[str, type[BaseModel]] = {}
_VALUES = frozenset({"default", "examples", "example", "const", "enum"})


def schema_ref(model: type[BaseModel]) -> dict[str, str]:
    """``model``'s schema, as a reference to ``components/schemas`` (filed there by ``complete``)."""
    _MODELS[model.__name__] = model
    return {"$ref": _REF.format(model=model.__name__)}


def body(model: type[BaseModel]) -> dict[str, Any]:
    """``openapi_extra`` of a route that reads its JSON body itself: that body is a ``model``."""
    content = {"application/json": {"schema": schema_ref(model)}}
    return {"requestBody": {"required": True, "content": content}}


def documented(openapi: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """``app.openapi``, completed once (FastAPI keeps the document it returns)."""
    done: list[dict[str, Any]] = []

    def described() -> dict[str, Any]:
        document = openapi()
        if not any(document is seen for seen in done):
            complete(document)
            done.append(document)
        return document

    return described


def complete(document: dict[str, Any]) -> None:
    """File the models ``schema_ref`` named, then say where a NUL is refused."""
    components = document.setdefault("components", {}).setdefault("schemas", {})
    if _MODELS:
        _, schemas = models_json_schema(
            [(model, "validation") for model in _MODELS.values()], ref_template=_REF
        )
        for name, schema in schemas.get("$defs", {}).items():
            components.setdefault(name, schema)
    seen: set[str] = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", ()):
                _refuse_nul(parameter.get("schema", {}), components, seen)
            for media in operation.get("requestBody", {}).get("content", {}).values():
                _refuse_nul(media.get("schema", {}), components, seen)


def _refuse_nul(schema: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Every text of a request: its characters, and the keys of its free objects."""
    if isinstance(schema, list):
        for item in schema:
            _refuse_nul(item, components, seen)
        return
    if not isinstance(schema, dict):
        return
    reference = schema.get("$ref", "")
    if reference.startswith("#/components/schemas/"):
        name = reference.rsplit("/", 1)[1]
        if name not in seen:
            seen.add(name)
            _refuse_nul(components.get(name), components, seen)
    if schema.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(schema):
        schema["pattern"] = NO_NUL
    if schema.get("type") == "object" and schema.get("additionalProperties", True) is not False:
        schema.setdefault("propertyNames", {"pattern": NO_NUL})
    for key, value in schema.items():
        if key in _VALUES:  # data, not schemas
            continue
        if key in ("properties", "$defs", "patternProperties"):
            for item in value.values():
                _refuse_nul(item, components, seen)
        elif isinstance(value, dict | list):
            _refuse_nul(value, components, seen)
