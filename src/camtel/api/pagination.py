"""Cursor pagination: opaque cursors and RFC 8288 `Link: <...>; rel="next"` headers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request, Response

from camtel.errors import Invalid

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (1 to 10,000).")]
Cursor = Annotated[
    str | None, Query(max_length=512, description='Opaque cursor from a `Link: rel="next"`.')
]

T = TypeVar("T")


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor from the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key inside a cursor, or Invalid when it was not made by camtel."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError:
        raise Invalid("the cursor is not valid", field="cursor") from None
    if not isinstance(values, list):
        raise Invalid("the cursor is not valid", field="cursor")
    return values


def page(
    rows: Sequence[T],
    *,
    limit: int,
    request: Request,
    response: Response,
    key: Callable[[T], list[Any]],
) -> Sequence[T]:
    """Trim the extra row a query fetched and, if it existed, point `Link` at the next page."""
    if len(rows) <= limit:
        return rows
    rows = rows[:limit]
    url = request.url.include_query_params(cursor=encode_cursor(key(rows[-1])), limit=limit)
    response.headers["Link"] = f'<{url}>; rel="next"'
    return rows


def time_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The (time, id) sort key of lists ordered by time, or Invalid for a foreign cursor."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    try:
        return datetime.fromisoformat(values[0]), uuid.UUID(values[1])
    except (ValueError, IndexError, TypeError):
        raise Invalid("the cursor is not valid", field="cursor") from None

