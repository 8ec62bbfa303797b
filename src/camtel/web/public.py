"""The public site's front: the landing page, the imprint, and what search engines read
(robots.txt, sitemap.xml). `public_page` renders any page of the public site."""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from fastapi.routing import iter_route_contexts

from camtel.accounts.caller import Caller
from camtel.privacy import policies
from camtel.services import Services
from camtel.web.i18n import LANGUAGES
from camtel.web.pages import MaybeSignedIn, PageServices
from camtel.web.render import render

router = APIRouter(include_in_schema=False)

#: Public pages may be indexed (the app's pages answer `X-Robots-Tag: noindex`); they still
#: are not cached, as the navigation and the cookie banner depend on the visitor.
INDEXABLE = {"X-Robots-Tag": "all"}

#: The public site's pages, in the order a sitemap lists them (those with a route).
SITE_PAGES = ("/", "/pricing", "/demo", "/contact", "/privacy", "/terms", "/imprint", "/cookies")

#: What robots may not crawl: the app, the API, share and unsubscribe links, mailed links.
ROBOTS_DISALLOW = ("/app", "/api/", "/s/", "/u/", "/verify", "/reset", "/static/")


def public_page(
    request: Request,
    services: Services,
    caller: Caller | None,
    template: str,
    *,
    scripts: tuple[str, ...] = (),
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page of the public site (its template extends public_base.html)."""
    return render(
        request,
        template,
        settings=services.settings,
        caller=caller,
        scripts=scripts,
        status_code=status_code,
        headers=INDEXABLE,
        **context,
    )


@router.get("/")
async def landing(request: Request, services: PageServices, caller: MaybeSignedIn) -> HTMLResponse:
    settings = services.settings
    region = settings.storage_region if settings.storage_region not in ("", "local") else ""
    return public_page(request, services, caller, "landing.html", storage_region=region)


def address_lines(value: str) -> list[str]:
    """The operator's address as lines: separated by `;` or newlines. Pure."""
    return [line.strip() for line in re.split(r"[;\n]", value) if line.strip()]


@router.get("/imprint")
async def imprint(request: Request, services: PageServices, caller: MaybeSignedIn) -> HTMLResponse:
    settings = services.settings
    return public_page(
        request,
        services,
        caller,
        "imprint.html",
        operator={
            "name": settings.operator_name,
            "address": address_lines(settings.operator_address),
            "email": settings.operator_email,
            "phone": settings.operator_phone,
            "register": settings.operator_register,
            "vat_id": settings.operator_vat_id,
        },
        dpo_email=settings.dpo_email,
    )


@router.get("/robots.txt")
async def robots(services: PageServices) -> PlainTextResponse:
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in ROBOTS_DISALLOW)]
    lines += ["", f"Sitemap: {services.settings.base_url}/sitemap.xml", ""]
    return PlainTextResponse("\n".join(lines), headers={"Cache-Control": "public, max-age=3600"})


def site_paths(request: Request) -> list[str]:
    """The public pages this server has a route for (pricing and demo come with their module)."""
    routed = {
        context.path
        for context in iter_route_contexts(request.app.routes)
        if "GET" in (getattr(context, "methods", None) or ())
    }
    return [path for path in SITE_PAGES if path in routed]


def sitemap_xml(base_url: str, pages: list[tuple[str, str | None]]) -> str:
    """A sitemap (sitemaps.org 0.9) with each page's German version as an alternate. Pure."""
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        ' xmlns:xhtml="http://www.w3.org/1999/xhtml">',
    ]
    for path, modified in pages:
        url = f"{base_url}{path}"
        out.append(f"  <url><loc>{escape(url)}</loc>")
        if modified:
            out.append(f"    <lastmod>{modified}</lastmod>")
        # Each page answers in the visitor's language; `?lang=` asks for one explicitly.
        alternates = [("x-default", url)] + [(code, f"{url}?lang={code}") for code in LANGUAGES]
        for code, href in alternates:
            attribute = escape(href, {'"': "&quot;"})
            out.append(f'    <xhtml:link rel="alternate" hreflang="{code}" href="{attribute}"/>')
        out.append("  </url>")
    out.append("</urlset>")
    return "\n".join(out) + "\n"


@router.get("/sitemap.xml")
async def sitemap(request: Request, services: PageServices) -> Response:
    async with services.database.session() as db:
        documents = await policies.current(db)
    modified = {f"/{kind}": row.published_at.date().isoformat() for kind, row in documents.items()}
    pages = [(path, modified.get(path)) for path in site_paths(request)]
    return Response(
        sitemap_xml(services.settings.base_url, pages),
        media_type="application/xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )
