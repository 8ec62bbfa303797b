"""Readiness: 200 once the API, the database and every enabled gateway are ready."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from camtel.api.deps import Svc

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Readiness of the API, database and gateways")
async def healthz(request: Request, services: Svc) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        async with services.database.session() as db:
            await db.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    for name, ready in getattr(request.app.state, "readiness", {}).items():
        checks[name] = "ok" if ready() else "starting"
    healthy = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status_code=200 if healthy else 503,
    )
