"""Request and response shapes shared by the routers, and the bounds on free-form JSON."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from camtel.db.stored_json import nodes, servable

# Free-form JSON (device attributes, geofence areas and schedules): deep enough for any
# GeoJSON geometry, small enough that storing, serialising and exporting it never recurses
# far or grows large. A top-level object is level 1.
MAX_JSON_DEPTH = 8
MAX_JSON_KEYS = 64  # per object
MAX_JSON_BYTES = 16 * 1024  # serialised compactly as UTF-8


def json_problem(value: Any, *, max_depth: int, max_keys: int) -> str | None:
    """What makes a parsed JSON value unfit to keep, or None: nesting deeper than `max_depth`,
    an object with more than `max_keys` keys, a NUL character (PostgreSQL's JSON refuses it)
    or a number that is not finite (JSON has none). Stops at the first problem."""
    for item, depth in nodes(value):
        if isinstance(item, dict | list) and depth > max_depth:
            return f"must not nest more than {max_depth} levels"
        if isinstance(item, dict) and len(item) > max_keys:
            return f"objects must have at most {max_keys} keys"
        if isinstance(item, str) and "\x00" in item:
            return "text must not contain NUL characters"
        if isinstance(item, float) and not math.isfinite(item):
            return "numbers must be finite"
    return None


def bounded(max_bytes: int = MAX_JSON_BYTES) -> AfterValidator:
    """The validator of a free-form JSON field: shape first, then its serialised size."""

    def check(value: Any) -> Any:
        problem = json_problem(value, max_depth=MAX_JSON_DEPTH, max_keys=MAX_JSON_KEYS)
        if problem is None:
            size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
            if size > max_bytes:
                problem = f"must be at most {max_bytes} bytes as JSON"
        if problem is not None:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


JsonObject = Annotated[
    dict[str, Any],
    bounded(),
    Field(
        description=(
            f"Free-form JSON object: at most {MAX_JSON_DEPTH} levels deep, "
            f"{MAX_JSON_KEYS} keys per object and {MAX_JSON_BYTES} bytes."
        )
    ),
]


StoredJson = Annotated[dict[str, Any], BeforeValidator(servable)]


class Strict(BaseModel):
    """A request body: unknown fields are refused, strings are trimmed, and no text holds a
    NUL character (PostgreSQL cannot store one; a clear 422 instead of a 500)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _no_nul(self) -> Strict:
        for name in type(self).model_fields:
            value = getattr(self, name)
            texts = [value] if isinstance(value, str) else value if isinstance(value, list) else []
            if any(isinstance(text, str) and "\x00" in text for text in texts):
                raise ValueError(f"{name} may not contain NUL characters")
        return self


class Out(BaseModel):
    """A response body, read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)
