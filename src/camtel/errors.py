"""Domain errors that the API turns into RFC 9457 problem responses; imports nothing of camtel."""

from __future__ import annotations


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
