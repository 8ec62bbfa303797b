"""What `/openapi.json` says beyond FastAPI's own: every error of the API is an RFC 9457
problem (`api/problems.py`), so every operation documents a `default` response of
`application/problem+json`, and the 422 FastAPI documents by itself is that problem too.

A pure rewrite of the generated document, tested through schemathesis
(`tests/api/test_openapi_fuzz.py`): an answer off its documented status, content type or
body fails there.
"""

from __future__ import annotations

import copy
from typing import Any

from camtel.api.problems import MEDIA_TYPE

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error, as RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "field": {"type": "string", "description": "The request field at fault, if one is."},
    },
    "required": ["type", "title", "status"],
}

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    """The document with problem responses on every operation (a new dict)."""
    out = copy.deepcopy(document)
    schemas = out.setdefault("components", {}).setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for item in out.get("paths", {}).values():
        for method in _METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {
                    "description": "The request is not valid (`invalid`).",
                    "content": {MEDIA_TYPE: {"schema": _PROBLEM}},
                }
            responses.setdefault(
                "default",
                {
                    "description": "A problem: the status and `type` say which.",
                    "content": {MEDIA_TYPE: {"schema": _PROBLEM}},
                },
            )
    return out
