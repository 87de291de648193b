"""/api/v1/docs: the OpenAPI document (spec.py) laid out for reading, without scripts (the CSP forbids inline
ones, and a reference needs none)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ReferenceEntry:
    """One operation as /api/v1/docs lists it."""

    method: str
    path: str
    summary: str
    description: str
    tag: str
    parameters: list[dict[str, Any]]
    request: str  # the request body's schema as indented JSON, or ""
    responses: list[tuple[str, str, str]]  # status, description, schema as indented JSON
    public: bool


def reference(spec: dict[str, Any]) -> dict[str, Any]:
    """What the reference page shows, read from the document itself (so the page cannot drift from it)."""
    entries = []
    for path, methods in spec["paths"].items():
        for method, found in methods.items():
            body = found.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            entries.append(
                ReferenceEntry(
                    method=method.upper(),
                    path=spec["servers"][0]["url"] + path,
                    summary=found["summary"],
                    description=found.get("description", ""),
                    tag=found["tags"][0],
                    parameters=found.get("parameters", []),
                    request=_pretty(body) if body else "",
                    responses=[(code, r["description"], _pretty(_schema_of(r))) for code, r in _responses(found)],
                    public=found.get("security") == [],
                )
            )
    schemas = {name: _pretty(schema) for name, schema in spec["components"]["schemas"].items()}
    return {"info": spec["info"], "entries": entries, "schemas": schemas}


def _responses(found: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(found["responses"].items())


def _schema_of(response: dict[str, Any]) -> dict[str, Any]:
    content = response.get("content", {})
    return next(iter(content.values()), {}).get("schema", {})


def _pretty(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2)
