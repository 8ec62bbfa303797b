"""Share links (P8): make, list and revoke them; the public page and bytes behind a link.

`router` goes under /api/v1 (signed in); `pages` holds `/s/{token}` and its content, open to
anyone with the link and kept out of the OpenAPI schema. Every dead link (unknown, expired,
revoked, used up, erased) gets the same 404 page, so the answer tells nothing about a token.
The page is `web/templates/share.html`, in the reader's language; the bytes are answered by
`api/ranges.py`, as for recordings.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from datetime import datetime
from functools import partial
from typing import Annotated, Any

from babel.numbers import format_percent
from fastapi import APIRouter, Body, Request, Response, status
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from pydantic import Field

from camtel.api import ranges
from camtel.api.deps import CallerDep, Db, Svc, client_address
from camtel.api.media import Lib
from camtel.api.schemas import Out, Strict
from camtel.media import derivatives, service, shares
from camtel.media.models import Media, MediaShare
from camtel.media.service import MediaLibrary
from camtel.web.render import environment, request_language

router = APIRouter(tags=["shares"])
pages = APIRouter(include_in_schema=False)

REFRESH_S = 5


class ShareIn(Strict):
    expires_in_s: int | None = Field(
        None,
        description="Lifetime of the link in seconds: 1 up to 30 days "
        "(`CAMTEL_SHARE_MAX_EXPIRY_S`); 7 days when left out.",
    )
    redact: bool = Field(
        True,
        description="Show only a copy with faces and number plates blurred and sound, location "
        "and metadata removed (the default); false shares the original.",
    )
    max_views: int | None = Field(
        None, ge=1, le=1_000_000, description="Openings of the page after which the link dies."
    )


class ShareOut(Out):
    id: uuid.UUID
    media_id: uuid.UUID
    url: str | None = Field(
        None, description="The link; only in the answer that made it (it is not stored)."
    )
    status: str = Field(description="`active`, `expired`, `revoked` or `used_up`.")
    redact: bool
    redaction: str | None = Field(
        None,
        description="For redacted links, the redacted copy: `pending`, `ready` or `failed`.",
    )
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    max_views: int | None
    views: int = Field(description="Openings of the page so far.")
    last_viewed_at: datetime | None


def share_out(share: MediaShare, media: Media, now: datetime, url: str | None = None) -> ShareOut:
    return ShareOut(
        id=share.id,
        media_id=share.media_id,
        url=url,
        status=shares.state(share, now),
        redact=share.redact,
        redaction=media.redaction if share.redact else None,
        created_at=share.created_at,
        expires_at=share.expires_at,
        revoked_at=share.revoked_at,
        max_views=share.max_views,
        views=share.views,
        last_viewed_at=share.last_viewed_at,
    )


@router.post(
    "/media/{media_id}/shares",
    status_code=status.HTTP_201_CREATED,
    response_model=ShareOut,
    summary="Make a link that shows a recording without signing in",
)
async def create_share(
    media_id: uuid.UUID,
    request: Request,
    caller: CallerDep,
    db: Db,
    services: Svc,
    lib: Lib,
    body: Annotated[ShareIn | None, Body()] = None,
) -> ShareOut:
    """The recording must be `ready`; its owner or a manager of its organisation may share
    it. With `redact` (the default) the link serves only the redacted copy, made in the
    background; until it is ready the page says so. The `url` is shown only here."""
    body = body or ShareIn()
    settings = services.settings
    lifetime = shares.lifetime_s(
        body.expires_in_s,
        default_s=settings.share_default_expiry_s,
        max_s=settings.share_max_expiry_s,
    )
    now = services.clock()
    share, token, media = await shares.create(
        db,
        caller=caller,
        media_id=media_id,
        lifetime=lifetime,
        redact=body.redact,
        max_views=body.max_views,
        now=now,
    )
    queued = body.redact and derivatives.request(media)
    await db.commit()
    if queued:
        derivatives.submit(lib, media.id)
    url = str(request.url_for("shared_page", token=token))
    return share_out(share, media, now, url)


@router.get(
    "/media/{media_id}/shares",
    response_model=list[ShareOut],
    summary="The links to a recording (their tokens cannot be shown again)",
)
async def list_shares(
    media_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc
) -> list[ShareOut]:
    rows, media = await shares.list_shares(db, caller=caller, media_id=media_id)
    now = services.clock()
    return [share_out(share, media, now) for share in rows]


@router.delete("/shares/{share_id}", status_code=204, summary="Revoke a link at once")
async def revoke_share(share_id: uuid.UUID, caller: CallerDep, db: Db, services: Svc) -> None:
    await shares.revoke(db, caller=caller, share_id=share_id, now=services.clock())


# The public side

_CSS = (
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330}"
    "main{max-width:960px;margin:0 auto;padding:24px}"
    "h1{font-size:1.3rem;margin:0 0 16px}"
    "video,img{display:block;width:100%;max-height:75vh;background:#000;border-radius:6px}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:16px 0}"
    "dt{color:#5b6272}dd{margin:0}"
    ".note{background:#e8f0fe;border-radius:6px;padding:8px 12px}"
    ".error{background:#fdecea}"
)
_STYLE = Markup(_CSS)  # noqa: S704 - the constant above, no input in it
_CSS_HASH = base64.b64encode(hashlib.sha256(_CSS.encode()).digest()).decode()
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; media-src 'self'; "
        f"style-src 'sha256-{_CSS_HASH}'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
CONTENT_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


def _page(request: Request, state: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The share page in `state` (see the template), in the reader's language. Unlike the
    app's pages (`web.render`) it loads nothing else and never sets a cookie, not even the
    language switch's."""
    lang = request_language(request)
    env = environment()
    # Synchronous from here to the end of rendering: the language cannot leak to another page.
    env.install_gettext_callables(lang.gettext, lang.ngettext, newstyle=True)  # type: ignore[attr-defined]  # added by Jinja's i18n extension, not in its types
    html = env.get_template("share.html").render(
        lang=lang,
        state=state,
        style=_STYLE,
        percent=partial(format_percent, locale=lang.code),
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


def _gone(request: Request) -> Response:
    """The one answer for every dead link (unknown, expired, revoked, used up, erased)."""
    return _page(request, "gone", status_code=404)


def _too_many(request: Request, wait: float) -> Response:
    page = _page(request, "too_many", status_code=429)
    page.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
    return page


def _guard(request: Request, services: Svc) -> shares.GuessGuard:
    guard: shares.GuessGuard | None = getattr(request.app.state, "share_guard", None)
    if guard is None:
        guard = shares.GuessGuard(
            services.settings.share_guesses_per_address, services.settings.rate_window_s
        )
        request.app.state.share_guard = guard
    return guard


async def _open(
    request: Request, services: Svc, db: Db, token: str
) -> tuple[MediaShare, Media] | Response:
    """The live link behind a token, or the answer to give instead (404, 429)."""
    guard, address = _guard(request, services), client_address(request)
    wait = guard.blocked(address)
    if wait is not None:
        return _too_many(request, wait)
    found = await shares.find(db, token=token, now=services.clock())
    if found is None:
        guard.missed(address)
        return _gone(request)
    return found


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@pages.get("/s/{token}", response_class=HTMLResponse, name="shared_page")
async def shared_page(token: str, request: Request, db: Db, services: Svc, lib: Lib) -> Response:
    found = await _open(request, services, db, token)
    if isinstance(found, Response):
        return found
    share, media = found
    now = services.clock()
    if not shares.may_open(share, now):
        _guard(request, services).missed(client_address(request))
        return _gone(request)
    if share.redact and media.redaction != "ready":
        return await _not_ready(request, db, lib, media)
    if not await shares.count_view(db, share, now=now):
        return _gone(request)
    return _page(
        request,
        "shown",
        kind=media.kind,
        src=f"{token}/content",
        recorded=_when(media.start_time or media.created_at),
        length=f"{media.duration_s:.0f} s" if media.duration_s and media.kind != "photo" else "",
        channel=media.channel,
        expires=_when(share.expires_at),
        redacted=share.redact,
    )


async def _not_ready(request: Request, db: Db, lib: MediaLibrary, media: Media) -> Response:
    """A redacted link whose copy is not ready: being made (the page refreshes) or failed."""
    if media.redaction == "failed":
        return _page(request, "failed", status_code=500, kind=media.kind)
    if derivatives.request(media):  # the copy was dropped (the recording changed hands)
        await db.commit()
        derivatives.submit(lib, media.id)
    done = lib.redactor.progress.get(media.id) if lib.redactor is not None else None
    return _page(
        request,
        "preparing",
        kind=media.kind,
        refresh_s=REFRESH_S,
        done=done,
    )


def _served(share: MediaShare, media: Media) -> dict[str, Any] | None:
    """What the link streams: the redacted copy for a redacted link (None until it is
    ready, never the original), else the original."""
    if share.redact:
        if media.redaction != "ready" or not media.redacted_key:
            return None
        info = media.redaction_info
        return {
            "key": media.redacted_key,
            "object_id": service.redacted_object_id(media.id),
            "size": media.redacted_size,
            "type": info.get("content_type", derivatives.CONTENT_TYPES[media.kind]),
            "etag": f'"r-{info.get("sha256", "")}"',
            "suffix": derivatives.SUFFIXES[media.kind],
        }
    suffix = re.sub(r"[^A-Za-z0-9.]", "", "." + media.filename.rsplit(".", 1)[-1])[:6]
    return {
        "key": media.storage_key,
        "object_id": media.id.bytes,
        "size": media.size,
        "type": media.content_type,
        "etag": f'"{media.sha256}"',
        "suffix": suffix if "." in media.filename else "",
    }


@pages.api_route("/s/{token}/content", methods=["GET", "HEAD"], name="shared_content")
async def shared_content(token: str, request: Request, db: Db, services: Svc, lib: Lib) -> Response:
    """The shared bytes, with Range (one or several); opening this counts no view (the page
    does)."""
    found = await _open(request, services, db, token)
    if isinstance(found, Response):
        return found
    share, media = found
    if not shares.may_stream(share, services.clock()):
        return _gone(request)
    served = _served(share, media)
    if served is None:
        if media.redaction == "pending":
            return Response(status_code=503, headers={**CONTENT_HEADERS, "Retry-After": "5"})
        return _gone(request)
    try:
        data_key = await service.data_key_for(db, lib, media.owner_id)
    except service.Unreadable:
        return _gone(request)
    size, etag = served["size"], served["etag"]
    decided = ranges.for_request(
        request,
        size=size,
        etag=etag,
        content_type=served["type"],
        headers={
            **CONTENT_HEADERS,
            "ETag": etag,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'inline; filename="shared-{media.kind}{served["suffix"]}"',
        },
    )
    read = ranges.stored(
        lib, data_key=data_key, key=served["key"], object_id=served["object_id"], size=size
    )
    return ranges.answer(decided, read)
