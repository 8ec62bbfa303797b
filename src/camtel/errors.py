"""Domain errors that the API turns into RFC 9457 problem responses; imports nothing of camtel."""

from __future__ import annotations

import errno


class CamtelError(Exception):
    """A request camtel refuses, with an HTTP status and a stable problem type."""

    status = 400
    type = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str = "", **extra: object) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class Invalid(CamtelError):
    status, type, title = 422, "invalid", "The request is not valid"


class Unauthorized(CamtelError):
    status, type, title = 401, "unauthorized", "Authentication required"


class Forbidden(CamtelError):
    status, type, title = 403, "forbidden", "Not allowed"


class NotFound(CamtelError):
    status, type, title = 404, "not-found", "Not found"


class Conflict(CamtelError):
    status, type, title = 409, "conflict", "Conflict"


class RateLimited(CamtelError):
    status, type, title = 429, "rate-limited", "Too many attempts"

    def __init__(self, retry_after: float, detail: str = "") -> None:
        super().__init__(detail or "Too many attempts; try again later")
        self.retry_after = max(1, int(retry_after + 0.999))


class StorageFull(CamtelError):
    """The disk or the database has no room left: nothing of the request was stored."""

    status, type, title = 507, "storage-full", "Insufficient storage"


#: SQLite's result code for "database or disk is full" (a full disk, or `max_page_count`).
_SQLITE_FULL = 13
#: PostgreSQL's SQLSTATE for "disk full" (class 53, insufficient resources).
_PG_DISK_FULL = "53100"


def storage_full(exc: BaseException) -> bool:
    """Whether `exc`, or what caused it, says there is no room left: ENOSPC or EDQUOT from
    the operating system, SQLITE_FULL, PostgreSQL's disk-full SQLSTATE. Drivers are told apart
    by the attributes they set, so this module still imports no driver."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(current, "sqlstate", None) == _PG_DISK_FULL:
            return True
        orig = getattr(current, "orig", None)  # SQLAlchemy wraps the driver's error
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [current.__cause__, current.__context__]
    return False
