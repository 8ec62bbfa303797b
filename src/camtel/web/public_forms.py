"""Reading the public site's plain form posts (its pages work without JavaScript): the fields,
and a refusal's reasons by the field they concern. Where a post may come from is checked by
`camtel.web.formpost.check_post`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import ValidationError

from camtel.errors import CamtelError


async def form_fields(request: Request) -> dict[str, Any]:
    """The posted form: one text per name, a list for a name sent several times."""
    form = await request.form()
    out: dict[str, Any] = {}
    for key in form:
        values = [v for v in form.getlist(key) if isinstance(v, str)]
        out[key] = values if len(values) > 1 else (values[0] if values else "")
    return out


def listed(value: Any) -> list[str]:
    """A form value that may be sent several times, as a list of non-empty texts."""
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, str) and v]


def field_errors(exc: ValidationError | CamtelError) -> dict[str, str]:
    """{field: the English reason} of a refusal; the field is the innermost named one
    (`quote.devices` is `devices`), "" for a refusal of the whole form."""
    if isinstance(exc, CamtelError):
        return {str(exc.extra.get("field", "")): exc.detail}
    out: dict[str, str] = {}
    for error in exc.errors():
        names = [part for part in error["loc"] if isinstance(part, str)]
        out.setdefault(names[-1] if names else "", error["msg"])
    return out
