"""`GET /api/v1/reports/summary`: distance, driving and idle time, speed and events per device."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from camtel.api.deps import CallerDep, Db, Svc
from camtel.api.trips import End, Start, stamp, time_range
from camtel.privacy import audit
from camtel.trips import reports
from camtel.trips.detect import Rules

router = APIRouter(tags=["reports"])


@router.get(
    "/reports/summary",
    summary="Summary per device for a period (up to 31 days), as JSON or CSV",
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
async def summary_report(
    caller: CallerDep,
    db: Db,
    services: Svc,
    device_id: Annotated[
        list[uuid.UUID] | None,
        Query(
            max_length=reports.MAX_DEVICES,
            description="One or more devices; default every device you may see.",
        ),
    ] = None,
    start: Start = None,
    end: End = None,
    format: Annotated[
        Literal["json", "csv"], Query(description="`json` (default) or `csv`.")
    ] = "json",
) -> Any:
    start, end = time_range(start, end, services.clock())
    rows = await reports.summary(
        db,
        caller=caller,
        device_ids=device_id,
        start=start,
        end=end,
        rules=Rules.from_settings(services.settings),
    )
    await audit.record_device_reads(
        db,
        caller=caller,
        device_ids=[row.device_id for row in rows],
        action="read_summary_report",
        now=services.clock(),
    )
    if format == "csv":
        filename = f"camtel-summary-{stamp(start)}-{stamp(end)}.csv"
        return Response(
            "".join(reports.report_csv(rows, start, end)),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )
    return JSONResponse(
        reports.report_dict(rows, start, end), headers={"Cache-Control": "no-store"}
    )
