"""Rendering pages: one Jinja2 environment, the language of the request, the page's context."""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from camtel.accounts.caller import Caller
from camtel.config import Settings
from camtel.privacy.cookie_consent import CONSENT_COOKIE, counts_visits, read_consent_cookie
from camtel.web import i18n
from camtel.web.assets import STATIC_DIR, asset_url, module_preloads, vendor

TEMPLATES_DIR = Path(__file__).parent / "templates"
SCRIPTS_DIR = STATIC_DIR / "js"
#: Scripts on every page (their strings are always sent).
SHARED = ("core.js", "shell.js")

#: Pages are private and per person: never cached by a shared cache, never indexed.
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}


@cache
def environment() -> Environment:
    """The template environment: autoescaping everywhere, gettext from the request's language."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = asset_url
    env.globals["vendor_asset"] = lambda name, file: asset_url(vendor(name, file))
    env.filters["json_script"] = json_script
    env.globals["cookie_choice"] = cookie_choice
    env.globals["counts_visits"] = counts_visits
    return env


def cookie_choice(request: Request) -> bool | None:
    """The cookie banner's choice this browser holds (None: not chosen yet), for templates."""
    return read_consent_cookie(request.cookies.get(CONSENT_COOKIE))[1]


def json_script(value: Any) -> Markup:
    """JSON safe to place inside `<script type="application/json">` (no `</script>`, no `<!--`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - every markup character is escaped above


def request_language(request: Request) -> i18n.Language:
    code = i18n.negotiate(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(i18n.LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
    )
    return i18n.language(code)


def map_settings(settings: Settings) -> dict[str, str]:
    """What the map script needs to know: the tile URL (empty: no tiles) and its credit."""
    return {
        "tileUrl": settings.map_tile_url,
        "tileAttribution": settings.map_tile_attribution,
        # Natural Earth: coastlines at 1:50m (already merged into land), borders at 1:110m.
        "landUrl": asset_url(vendor("world-atlas", "land-50m.json")),
        "bordersUrl": asset_url(vendor("world-atlas", "countries-110m.json")),
    }


def language_switch_url(request: Request, code: str, *, spent: tuple[str, ...] = ()) -> str:
    """This page in another language: its path and query (a link's token kept, so a form it
    fills still works), `lang` set. `spent` names parameters the page already used up (a
    one-time token it confirmed): the switch drops them, so the used token neither sits in
    the page nor is sent again."""
    dropped = {"lang", *spent}
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in dropped]
    return f"{request.url.path}?{urlencode([*params, ('lang', code)])}"


def tile_sources(tile_url: str) -> list[str]:
    """The origin of the tile server, as a CSP source: `https://{s}.tile.example.org/{z}/...`
    becomes `https://*.tile.example.org`; no tiles, no source."""
    if not tile_url:
        return []
    parts = urlsplit(tile_url.replace("{s}", "subdomain"))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return []
    host = parts.netloc.replace("subdomain", "*")
    return [f"{parts.scheme}://{host}"]


def render(
    request: Request,
    template: str,
    *,
    settings: Settings,
    caller: Caller | None = None,
    status_code: int = 200,
    title: str = "",
    scripts: tuple[str, ...] = (),
    page_data: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    spent_query: tuple[str, ...] = (),
    **context: Any,
) -> HTMLResponse:
    """A page in the request's language. `scripts` are the page's own modules (under
    static/js); their translated strings and `page_data` reach them through a JSON block,
    never through inline script."""
    lang = request_language(request)
    env = environment()
    # Rendering is synchronous (no await between these two lines), so installing the request's
    # language on the shared environment cannot leak into another request's page. (The i18n
    # extension adds install_gettext_callables to the environment; Jinja's types lack it.)
    env.install_gettext_callables(lang.gettext, lang.ngettext, newstyle=True)  # type: ignore[attr-defined]
    config = {
        "lang": lang.code,
        "map": map_settings(settings),
        "strings": i18n.script_strings(lang, [SCRIPTS_DIR / name for name in (*scripts, *SHARED)]),
        "data": page_data or {},
        "user": _user_summary(caller),
    }
    html = env.get_template(template).render(
        request=request,
        lang=lang,
        languages=[i18n.language(code) for code in i18n.LANGUAGES],
        caller=caller,
        title=title,
        config=config,
        path=request.url.path,
        switch_url=lambda code: language_switch_url(request, code, spent=spent_query),
        scripts=scripts,
        preloads=module_preloads(("shell.js", *scripts)),
        **context,
    )
    response = HTMLResponse(
        html, status_code=status_code, headers={**PAGE_HEADERS, **(headers or {})}
    )
    chosen = request.query_params.get("lang", "").lower()
    if chosen in i18n.LANGUAGES and chosen != request.cookies.get(i18n.LANG_COOKIE):
        # The person picked a language in the switch: keep their choice (a preference they
        # asked for, so it needs no consent; it holds nothing but the language code).
        response.set_cookie(
            i18n.LANG_COOKIE,
            chosen,
            max_age=365 * 24 * 3600,
            httponly=True,
            secure=settings.cookie_secure,
            samesite="lax",
        )
    return response


def _user_summary(caller: Caller | None) -> dict[str, Any] | None:
    if caller is None:
        return None
    user = caller.user
    return {"id": str(user.id), "name": user.display_name or user.email.split("@", 1)[0]}


def local_time(moment: datetime, *, lang: str, zone: str = "UTC") -> str:
    """A time shown to a person, in their language and zone (pages render in UTC; the script
    re-renders `<time datetime>` elements in the viewer's own zone)."""
    return format_datetime(moment.astimezone(ZoneInfo(zone)), "medium", locale=lang)
