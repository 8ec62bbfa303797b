"""The installable app: its web manifest and its service worker (served from the site root)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, JSONResponse

from camtel.web.assets import STATIC_DIR, asset_url

router = APIRouter(include_in_schema=False)


@router.get("/manifest.webmanifest")
async def manifest() -> JSONResponse:
    body = {
        "name": "camtel",
        "short_name": "camtel",
        "description": "Vehicles live, trips replayed with their video, geofence alerts.",
        "start_url": "/app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": asset_url("img/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": asset_url("img/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": asset_url("img/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json")


@router.get("/sw.js")
async def service_worker() -> FileResponse:
    """The service worker: at the root so that its scope covers every page; never cached long,
    so that a new version reaches browsers on their next visit."""
    return FileResponse(
        STATIC_DIR / "sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
