"""Cursor pagination: opaque cursors and RFC 8288 `Link: <...>; rel="next"` headers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
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
K = TypeVar("K")


def encode_cursor(values: list[Any]) -> str:
    """An opaque cursor from the sort key of the last item of a page."""
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def _foreign() -> Invalid:
    return Invalid("the cursor is not valid", field="cursor")


def decode_cursor(cursor: str | None) -> list[Any] | None:
    """The sort key inside a cursor, or Invalid when it was not made by camtel: the cursor must
    be exactly what `encode_cursor` makes of a JSON list of strings (no stray characters,
    padding or spacing)."""
    if cursor is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, RecursionError):
        raise _foreign() from None
    if (
        not isinstance(values, list)
        or not all(isinstance(value, str) for value in values)
        or encode_cursor(values) != cursor
    ):
        raise _foreign()
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
    """The (time, id) sort key of lists ordered by time (events, media, the access log), or
    Invalid for any other cursor: the time must carry its offset and the id be a UUID."""
    return _time_and(cursor, uuid.UUID)


def time_number_cursor(cursor: str | None) -> tuple[datetime, int] | None:
    """The (time, dedup) sort key of a device's positions, or Invalid for any other cursor."""
    return _time_and(cursor, _number)


def _number(text: str) -> int:
    if not isinstance(text, str) or not text.lstrip("-").isdigit() or len(text) > 20:
        raise ValueError(text)
    return int(text)


def _time_and(cursor: str | None, key: Callable[[str], K]) -> tuple[datetime, K] | None:
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 2:
        raise _foreign()
    try:
        time = datetime.fromisoformat(values[0])
        if time.utcoffset() is None:
            raise _foreign()
        return time.astimezone(UTC), key(values[1])
    except (ValueError, OverflowError, TypeError):
        raise _foreign() from None


def id_cursor(cursor: str | None) -> uuid.UUID | None:
    """The id sort key of lists ordered by id, or Invalid for any other cursor."""
    values = decode_cursor(cursor)
    if values is None:
        return None
    if len(values) != 1:
        raise _foreign()
    try:
        return uuid.UUID(values[0])
    except ValueError:
        raise _foreign() from None
