"""Composition root: builds every service from settings and starts them in order."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, FastAPI

import camtel.schema  # noqa: F401  every model loaded: the privacy engine looks tables up by name
from camtel import __version__, web
from camtel.api import (
    auth,
    devices,
    docs,
    events,
    geofences,
    headers,
    health,
    live,
    me,
    media,
    notifications,
    organizations,
    privacy,
    problems,
    public,
    reports,
    rights,
    sales,
    shares,
    trips,
    webhooks,
)
from camtel.api.openapi import with_problems
from camtel.bus.base import Envelope
from camtel.bus.live import LiveHub, LiveUpdate
from camtel.config import Settings
from camtel.db import migrate, partitions
from camtel.events.online import watch_offline
from camtel.ingest import ROLES, Ingest, parts_of
from camtel.media import cleanup as media_cleanup
from camtel.media import device_media
from camtel.media import shares as media_shares
from camtel.media.analysis import Analyzer
from camtel.media.derivatives import Redactor, Transcoder
from camtel.notify.dispatcher import EventRecord
from camtel.privacy import analytics, erasure, export_jobs, retention
from camtel.privacy.residency import residency_problems
from camtel.sales import catalogue
from camtel.services import Services
from camtel.trips.detect import Rules
from camtel.trips.digest import send_digests

if TYPE_CHECKING:
    from camtel.bus.fanout import Fanout

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
KEEP_ALIVE_S = 75  # idle HTTP connections outlive a load balancer's (60 s on the common ones)


def install_hooks(services: Services) -> None:
    """What erasure and export do beyond rows: recordings' objects and keys, export files."""
    lib = services.media
    services.erasure_hooks[:] = [
        media_cleanup.erasure_hook(lib),
        export_jobs.erasure_hook(services.settings.data_dir),
    ]
    services.export_hooks[:] = [media_cleanup.export_hook(lib)]


async def start_chores(services: Services) -> Callable[[], Awaitable[None]]:
    """Start the background jobs (an erasure left unfinished, notifications, mail, retention,
    digests, analysis, redaction, transcoding); returns what stops them. They run in the
    `all` and `worker` roles."""
    await erasure.resume(services.database, now=services.clock(), hooks=services.erasure_hooks)
    dispatcher = services.dispatcher
    assert dispatcher is not None  # Services.build makes one
    analyzer, redactor, transcoder = media_workers(services)
    chores = [
        asyncio.create_task(dispatcher.run()),
        *(asyncio.create_task(repeat(chore), name=chore.name) for chore in schedule(services)),
        asyncio.create_task(analyzer.run()),
        asyncio.create_task(redactor.run()),
        asyncio.create_task(transcoder.run()),
        asyncio.create_task(
            export_jobs.work(
                services.database,
                data_dir=services.settings.data_dir,
                hooks=services.export_hooks,
                clock=services.clock,
                every_s=services.settings.job_poll_s,
            )
        ),
    ]

    async def stop() -> None:
        await dispatcher.stop()
        analyzer.stop()
        redactor.stop()
        transcoder.stop()
        for chore in chores:
            chore.cancel()

    return stop


def media_workers(services: Services) -> tuple[Analyzer, Redactor, Transcoder]:
    """The analyser and the copy makers of this process, attached to its media library (an
    upload or a share link asks them through it; without them, work waits for a worker)."""
    bench, lib = services.workbench(), services.media
    dispatcher = services.dispatcher
    lib.analyzer = analyzer = Analyzer(
        bench,
        workers=services.settings.media_analysis_workers,
        events_stored=dispatcher.events_stored if dispatcher is not None else None,
    )
    lib.redactor = redactor = Redactor(bench)
    lib.transcoder = transcoder = Transcoder(bench)
    return analyzer, redactor, transcoder


def build_api(services: Services, *, chores: bool = True) -> FastAPI:
    """The FastAPI application around a set of services (no I/O happens here); `chores`
    runs the background jobs in its lifespan (off on an API node of a split deployment)."""
    install_hooks(services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop_chores = await start_chores(services) if chores else None
        yield
        if stop_chores is not None:
            await stop_chores()
        await services.background.settle()  # failed sign-ins being logged, exports
        await services.database.dispose()

    app = CamtelAPI(
        title="camtel",
        version=__version__,
        summary="Camera telematics: devices, positions, video, geofences, alerts, privacy.",
        lifespan=lifespan,
        docs_url=None,  # api/docs.py serves /docs and /redoc with the CSP they need
        redoc_url=None,
    )
    app.state.services = services
    app.content_security_policy = headers.content_security_policy(
        image_sources=web.tile_sources(services.settings.map_tile_url)
    )
    app.state.readiness = {}  # name -> Callable[[], bool], filled by the gateways
    problems.install(app, pages=web.page_for_error)
    app.add_middleware(
        problems.BodyLimit,
        limit=services.settings.max_request_bytes,
        streamed=[(method, API_PREFIX + path) for method, path in media.STREAMED_UPLOADS],
    )
    app.include_router(_api_routes())
    app.include_router(shares.pages)  # /s/{token}: public share links, outside /api/v1
    app.include_router(health.router)
    app.include_router(docs.router)  # /docs, /redoc
    web.install(app)  # pages, static files, the service worker; "/" and "/app..." are pages
    return app


@functools.cache
def _api_routes() -> APIRouter:
    """The /api/v1 routes, gathered once per process: FastAPI keeps what it works out about a
    router's routes (their dependencies and parameters) on the router, so every application
    after the first includes them at no cost (0.1-0.3 s of CPU each time before; a test run
    builds an application per test). The routes read their services from the application."""
    api = APIRouter(prefix=API_PREFIX)
    for module in (
        auth,
        public,
        sales,
        rights,
        privacy,
        me,
        organizations,
        devices,
        geofences,
        trips,
        events,
        reports,
        media,
        shares,
        notifications,
        webhooks,
        live,
    ):
        api.include_router(module.router)
    return api


@dataclass(frozen=True, slots=True)
class Chore:
    """One background job on a schedule: run every `every_s` seconds; a failure is logged and
    the job runs again at its next time, never holding back another chore."""

    name: str
    every_s: float
    run: Callable[[], Awaitable[object]]


HOUR = 3600.0


def retention_chores(services: Services) -> list[Chore]:
    """Everything retention deletes, one chore each: the rows the privacy registry sweeps, the
    raw analytics hits (rolled up into counts), finished export files, recordings with their
    stored objects (and unfinished uploads), old share links. `schedule` runs them hourly and
    `camtel privacy sweep` all at once (`sweep_all`): the same list, so the two cannot differ."""
    database, clock, settings = services.database, services.clock, services.settings

    async def rows() -> dict[str, int]:
        async with database.session() as db:
            return await retention.sweep(db, now=clock())

    async def analytics_rollup() -> int:
        async with database.session() as db:
            return await analytics.rollup(db, today=clock().date())

    async def export_files() -> int:
        return export_jobs.sweep(settings.data_dir, clock())

    async def recordings() -> int:
        removed, batch = 0, media_cleanup.BATCH
        while (swept := await media_cleanup.sweep(database, services.media, now=clock())) > 0:
            removed += swept
            if swept < batch:
                break
        return removed

    async def share_links() -> int:
        return await media_shares.sweep(
            database, now=clock(), keep_days=settings.share_keep_days
        )

    return [
        Chore("retention of rows", HOUR, rows),
        Chore("analytics rollup", HOUR, analytics_rollup),
        Chore("export files", HOUR, export_files),
        Chore("retention of recordings", HOUR, recordings),
        Chore("share links", HOUR, share_links),
    ]


async def sweep_all(services: Services) -> dict[str, object]:
    """Run every retention chore once, now: what each gave back (counts), or the error of one
    that failed; a failing chore is logged and the others still run."""
    done: dict[str, object] = {}
    for chore in retention_chores(services):
        try:
            done[chore.name] = await chore.run()
        except Exception as exc:
            log.exception("chore failed", extra={"chore": chore.name})
            done[chore.name] = exc
    return done


def schedule(services: Services) -> list[Chore]:
    """Everything the `all` and `worker` roles run on a clock, one chore per schedule."""
    database, clock, settings = services.database, services.clock, services.settings

    async def months_ahead() -> None:  # PostgreSQL's partitions; nothing on SQLite
        async with database.engine.begin() as db:
            await partitions.ensure(db, clock())

    async def digests() -> None:  # idempotent per person and day
        await send_digests(
            database,
            services.mailer,
            clock(),
            send_hour=int(settings.digest_hour_utc),
            rules=Rules.from_settings(settings),
        )
        await services.mailer.deliver_pending()

    return [
        # A send also happens right after each request that queues mail; this retries.
        Chore("mail retries", 60.0, services.mailer.deliver_pending),
        *retention_chores(services),
        Chore("months ahead", 24 * HOUR, months_ahead),
        Chore("daily digests", 600.0, digests),
    ]


async def repeat(chore: Chore) -> None:
    """Run a chore on its schedule until cancelled."""
    while True:
        try:
            await chore.run()
        except Exception:
            log.exception("chore failed", extra={"chore": chore.name})
        await asyncio.sleep(chore.every_s)


class CamtelAPI(FastAPI):
    """FastAPI with HSTS and the security headers outside everything else, so that they are on
    every answer: Starlette sends the answer to an unexpected error from its outermost layer,
    past any middleware added with `add_middleware`."""

    #: The pages' Content-Security-Policy (set by build_api: it names the map's tile server).
    content_security_policy: str = headers.DEFAULT_CSP

    def build_middleware_stack(self) -> Any:
        return headers.SecurityHeaders(
            StrictTransport(super().build_middleware_stack()),
            policy=self.content_security_policy,
        )

    def openapi(self) -> dict[str, Any]:
        """FastAPI's document, with the problem responses every operation may give."""
        if self.openapi_schema is None:
            self.openapi_schema = with_problems(super().openapi())
        return self.openapi_schema


class StrictTransport:
    """HSTS on every answer given over HTTPS (directly or through a trusted proxy), so that
    browsers never fall back to plain HTTP for camtel (P12)."""

    HEADER = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def with_hsts(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], self.HEADER]
            await send(message)

        await self.app(scope, receive, with_hsts)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for `uvicorn camtel.app:create_app --factory`."""
    settings = settings or Settings()
    return build_api(Services.build(settings))


def prepare(settings: Settings) -> None:
    """Make the data directory and bring the database schema up to date."""
    problems = residency_problems(
        region=settings.storage_region,
        database_url=settings.database_url,
        media_url=settings.media_url,
        s3_endpoint=settings.media_s3_endpoint,
    )
    if problems:
        raise SystemExit("camtel: refusing to start: " + "; ".join(problems))
    try:
        catalogue.load(settings.price_table)
    except catalogue.CatalogueError as exc:
        raise SystemExit(f"camtel: refusing to start: {exc} (CAMTEL_PRICE_TABLE)") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(settings.sqlalchemy_url)


async def serve(
    settings: Settings,
    *,
    role: str = "all",
    on_ready: Callable[[Services, Ingest], object] | None = None,
) -> None:
    """Run camtel in this process until cancelled: everything (`all`), or one role of a
    split deployment over a shared database and bus (`gateway`, `worker`, `api`)."""
    parts = parts_of(role, settings.bus_url)  # refuses a split role on the in-memory bus
    prepare(settings)
    services = Services.build(settings)
    if "api" not in parts:
        await _serve_ingest(services, parts)
        return
    await _serve_api(services, parts, on_ready)


async def _serve_ingest(services: Services, parts: frozenset[str]) -> None:
    """A gateway or a worker process: no HTTP; a worker runs the background jobs too."""
    from camtel.runtime import settle_heap

    ingest = _ingest(services, parts)
    install_hooks(services)
    fanout = await _start_fanout(services, parts)
    await ingest.start()
    stop_chores = await start_chores(services) if "worker" in parts else None
    offline = _watch_offline(services) if "worker" in parts else None
    log.info("camtel %s running", "+".join(sorted(parts)))
    settle_heap()
    try:
        await asyncio.Event().wait()  # until cancelled
    finally:
        if offline is not None:
            offline.cancel()
        if stop_chores is not None:
            await stop_chores()
        await ingest.stop()
        if fanout is not None:
            await fanout.stop()
        await services.database.dispose()


def _ingest(services: Services, parts: frozenset[str]) -> Ingest:
    ingest = Ingest.build(services, parts=parts)
    ingest.on_stored(lambda batch: publish_positions(services.live, batch))
    services.device_listeners.append(ingest.registry.forget)
    ingest.sink.media_handler = device_media.handler(
        services.database, lambda: services.media, services.clock
    )
    ingest.worker.store.event_listeners.append(lambda rows: publish_events(services, rows))
    return ingest


async def _start_fanout(services: Services, parts: frozenset[str]) -> Fanout | None:
    """Between the processes of a split deployment: device and fence changes (their caches),
    and live updates from workers to the API nodes' live sockets. None in one process, whose
    listeners and live hub are called directly."""
    url = services.settings.bus_url
    if parts == ROLES["all"] or not url.startswith(("nats://", "tls://")):
        return None
    from camtel.bus.fanout import Fanout  # the NATS client loads only when used

    fanout = Fanout.from_url(
        url,
        device_listeners=services.device_listeners,
        fence_listeners=services.fence_listeners,
        live=services.live,
        live_viewers="api" in parts,
    )
    await fanout.start()  # before ingest starts: changes made while it warms reach it
    return fanout


def _watch_offline(services: Services) -> asyncio.Task[None]:
    settings = services.settings
    return asyncio.create_task(
        watch_offline(
            services.database,
            clock=services.clock,
            silence_s=settings.offline_after_s,
            every_s=settings.offline_check_every_s,
            notify=lambda rows: publish_events(services, rows),
        )
    )


async def _serve_api(
    services: Services,
    parts: frozenset[str],
    on_ready: Callable[[Services, Ingest], object] | None,
) -> None:
    """HTTP, with the gateways and the worker in the same process for the `all` role."""
    import uvicorn

    from camtel.runtime import settle_heap

    settings = services.settings
    whole = parts == ROLES["all"]
    ingest = _ingest(services, parts)
    app = build_api(services, chores=whole)
    app.state.readiness = ingest.readiness()
    fanout = await _start_fanout(services, parts)
    await ingest.start()
    offline = _watch_offline(services) if whole else None
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        proxy_headers=bool(settings.forwarded_allow_ips),
        forwarded_allow_ips=settings.forwarded_allow_ips or None,
        ssl_certfile=str(settings.tls_cert_file) if settings.tls_cert_file else None,
        ssl_keyfile=str(settings.tls_key_file) if settings.tls_key_file else None,
        log_config=None,  # camtel.logs configures logging (with its scrubbing filter)
        # Idle keep-alive connections outlive the client's and a load balancer's (60 s on
        # the common ones): at uvicorn's 5 s, equal to httpx's own expiry, a request sent on a
        # connection the server was closing that instant failed to read its answer.
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    server = uvicorn.Server(config)
    settle_heap()  # everything is loaded: the garbage collector stops re-reading it
    task = asyncio.create_task(server.serve())
    try:
        while not server.started and not task.done():  # noqa: ASYNC110 - uvicorn has no event
            await asyncio.sleep(0.05)
        if on_ready is not None and server.started:
            result = on_ready(services, ingest)
            if asyncio.iscoroutine(result):
                await result
        await task
    finally:
        if offline is not None:
            offline.cancel()
        await ingest.stop()
        if fanout is not None:
            await fanout.stop()


def publish_events(services: Services, rows: list[dict[str, Any]]) -> None:
    """Hand newly stored events to the notification dispatcher and to live viewers."""
    records = [EventRecord(**{key: row[key] for key in _EVENT_FIELDS}) for row in rows]
    if services.dispatcher is not None:
        services.dispatcher.events_stored(records)
    for record in records:
        services.live.publish(
            LiveUpdate(
                "event",
                record.device_id,
                {
                    "id": str(record.id),
                    "event": record.type,
                    "time": record.time.isoformat(),
                    "urgent": record.urgent,
                    "attributes": dict(record.attributes),
                },
            )
        )


_EVENT_FIELDS = (
    "id",
    "organization_id",
    "device_id",
    "type",
    "time",
    "urgent",
    "latitude",
    "longitude",
    "attributes",
)


def publish_positions(live: LiveHub, batch: list[Envelope]) -> None:
    """Hand each newly stored position to live viewers."""
    for envelope in batch:
        position = envelope.position
        if position is None:
            continue
        live.publish(
            LiveUpdate(
                "position",
                envelope.device_id,
                {
                    "time": position.time.isoformat(),
                    "latitude": position.latitude,
                    "longitude": position.longitude,
                    "speed_kmh": position.speed_kmh,
                    "course": position.course,
                    "altitude": position.altitude,
                    "valid": position.valid,
                    "attributes": position.attributes,
                },
            )
        )
