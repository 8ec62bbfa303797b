"""OsmAnd / Traccar Client over real HTTP: 200 only once stored, 400 for bad input."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from camtel.devices.models import PendingDevice
from camtel.devices.models import Position as Row
from helpers.env import free_port
from helpers.ingest import make_device, running_ingest


async def rows(services):  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(Row).order_by(Row.time)))


async def test_report_is_answered_200_after_it_is_stored(services):
    device_id = await make_device(services, "osmand", "phone-7")
    port = free_port()
    when = int((datetime.now(UTC) - timedelta(minutes=3)).timestamp())
    async with running_ingest(services, osmand_port=port) as ingest:
        store = ingest.worker.store
        gate = asyncio.Event()
        writing = asyncio.Event()
        original = store._write

        async def held(batch):  # type: ignore[no-untyped-def]
            writing.set()
            await gate.wait()
            return await original(batch)

        store._write = held  # type: ignore[method-assign]
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            params = {"id": "phone-7", "lat": "52.52", "lon": "13.405", "timestamp": str(when),
                      "speed": "10", "bearing": "45", "batt": "80"}
            request = asyncio.create_task(http.post("/", params=params))
            # The report has gone through the gateway and the pipeline to the (held) write,
            # and a later request has been answered meanwhile: an answer that did not wait
            # for the write would have come by now.
            await asyncio.wait_for(writing.wait(), 5)
            bad = await http.post("/", params={"id": "phone-7", "lat": "north", "lon": "1"})
            assert bad.status_code == 400
            assert not request.done(), "answered before the position was stored"
            gate.set()
            answer = await request
            assert answer.status_code == 200, answer.text
            again = await http.post("/", params=params)  # a client retry: stored once
            assert again.status_code == 200
            empty = await http.get("/")
            assert empty.status_code == 400
        counters = ingest.stats()["osmand"]
        assert sum(v for k, v in counters.items() if k.startswith("rejected:")) == 2, counters
    [row] = await rows(services)
    assert (row.device_id, row.latitude, row.longitude) == (device_id, 52.52, 13.405)
    assert row.time == datetime.fromtimestamp(when, UTC)
    assert row.speed_kmh is not None and row.speed_kmh > 18, "knots to km/h"


async def test_unknown_device_is_pending_and_answered_404(services):
    port = free_port()
    async with (running_ingest(services, osmand_port=port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http):
        answer = await http.get("/", params={"id": "stranger", "lat": "1.5", "lon": "2.5"})
        assert answer.status_code == 404
    assert await rows(services) == []
    async with services.database.session() as db:
        [pending] = list(await db.scalars(select(PendingDevice)))
    assert (pending.protocol, pending.unique_id) == ("osmand", "stranger")


async def test_oversized_body_is_refused(services):
    await make_device(services, "osmand", "phone-7")
    port = free_port()
    async with (running_ingest(services, osmand_port=port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http):
        answer = await http.post("/", content=b"[" + b" " * 400_000 + b"]",
                                 headers={"content-type": "application/json"})
        assert answer.status_code == 413
