"""Forms that post to a page without JavaScript (the cookie banner, the policy acceptance):
the post must come from camtel's own pages, and a signed-in person's must carry the session's
CSRF token, the same one the API asks for in `X-CSRF-Token`."""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from fastapi import Request

from camtel.accounts.caller import Caller
from camtel.errors import Forbidden


def same_site(request: Request, public_url: str = "") -> bool:
    """Whether a form post comes from one of camtel's pages: its `Origin` (or, when a browser
    sends none, its `Referer`) names this host. A post naming neither is refused."""
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    if not source or source == "null":
        return False
    host = urlsplit(source).netloc.lower()
    own = {request.url.netloc.lower(), (request.headers.get("host") or "").lower()}
    if public_url:
        own.add(urlsplit(public_url).netloc.lower())
    return bool(host) and host in own


def check_post(request: Request, caller: Caller | None, sent_token: str, public_url: str) -> None:
    """Refuse a form post from another site, or a signed-in one without the session's token."""
    if not same_site(request, public_url):
        raise Forbidden("form posts are accepted only from camtel's own pages", code="csrf")
    if caller is not None:
        expected = caller.session.csrf_token if caller.session is not None else ""
        if not expected or not hmac.compare_digest(sent_token.encode(), expected.encode()):
            raise Forbidden("missing or wrong CSRF token", code="csrf")


def safe_path(value: str | None, default: str = "/") -> str:
    """Where to go after a form post: a path of this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default
