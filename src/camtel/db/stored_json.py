"""Free-form JSON read back from the database as an answer may serve it (device attributes,
geofence areas): a value nested too deep for the serialiser is answered as `{}`."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

log = logging.getLogger(__name__)

# What an answer still serves of a stored value (rows written before the input bounds): far
# below the serialiser's own recursion limit, far above anything the bounds let in.
SERVED_JSON_DEPTH = 64


def nodes(value: Any) -> Iterator[tuple[Any, int]]:
    """Every value inside a parsed JSON value (object keys included) with the level it sits
    in, a top-level object or array being level 1; iterative, so any depth is safe to walk."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        yield item, depth
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)


def servable(value: Any) -> Any:
    """A stored free-form JSON value as it may be answered: `{}` in place of one nested
    deeper than `SERVED_JSON_DEPTH` (stored before the input bounds existed, it must not take
    a whole list down)."""
    if type(value) is dict:
        for item in value.values():
            if isinstance(item, dict | list):
                break
        else:
            return value  # flat, as nearly every stored value is: nothing to walk
    if not any(isinstance(i, dict | list) and d > SERVED_JSON_DEPTH for i, d in nodes(value)):
        return value
    log.warning("a stored JSON value nests more than %d levels; answered as {}", SERVED_JSON_DEPTH)
    return {}
