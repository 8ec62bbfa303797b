"""Ingest: the gateways, the bus and the pipeline worker of one process, run together.

The composition root builds it with `Ingest.build(services)`, starts it after the database
is ready, merges `readiness()` into /healthz and stops it before the database goes.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Protocol

from camtel import bus as buses
from camtel.bus.base import Envelope
from camtel.events.geofence import Hysteresis
from camtel.gateways.jt808 import Jt808Handler
from camtel.gateways.mqtt import MqttGateway
from camtel.gateways.osmand import OsmandApp, OsmandGateway
from camtel.gateways.registry import Registry
from camtel.gateways.sink import Sink
from camtel.gateways.tcp import Connection, Handler, TcpGateway
from camtel.gateways.teltonika import TeltonikaHandler
from camtel.geofences.book import FenceBook
from camtel.messages import Command
from camtel.pipeline.events_stages import EventRules
from camtel.pipeline.stages import build_stages
from camtel.pipeline.store import Store
from camtel.pipeline.worker import Worker
from camtel.privacy.access_log import DeviceAccessLog
from camtel.services import Services

log = logging.getLogger(__name__)


class Gateway(Protocol):
    @property
    def counters(self) -> Counter[str]: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    @property
    def serving(self) -> bool: ...

    @property
    def port(self) -> int: ...


class NotConnected(LookupError):
    """The device has no live connection to send a command on."""


#: What a `camtel serve --role` process runs: gateways take devices in, workers run the
#: pipeline (and, in `app.serve`, the background jobs), API nodes serve HTTP.
ROLES = {
    "all": frozenset({"gateway", "worker", "api"}),
    "gateway": frozenset({"gateway"}),
    "worker": frozenset({"worker"}),
    "api": frozenset({"api"}),
}


def parts_of(role: str, bus_url: str) -> frozenset[str]:
    """The parts a role runs; ValueError for an unknown role, or for a process that runs
    only some of gateway and worker on the in-memory bus (nothing would reach the other)."""
    parts = ROLES.get(role)
    if parts is None:
        raise ValueError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if role != "all" and parts & {"gateway", "worker"} and bus_url.startswith("memory://"):
        raise ValueError(
            f"the {role} role needs a bus other processes share (CAMTEL_BUS_URL=nats://...)"
        )
    return parts


class Ingest:
    """Every way positions come in, and the worker that stores them."""

    def __init__(
        self,
        services: Services,
        *,
        bus: buses.Bus,
        registry: Registry,
        sink: Sink,
        worker: Worker,
        gateways: dict[str, Gateway],
        mqtt: MqttGateway | None,
        parts: frozenset[str] = ROLES["all"],
    ) -> None:
        self.services = services
        #: What this process runs of ingest: "gateway" (devices in), "worker" (the pipeline).
        self.parts = parts
        self.bus = bus
        self.registry = registry
        self.sink = sink
        self.worker = worker
        self.gateways = gateways
        self.mqtt = mqtt
        self.ports: dict[str, int] = {}
        #: Fences and device facts the event stages read (warmed before positions flow).
        self.book: FenceBook | None = None
        self._started: list[Gateway] = []

    @classmethod
    def build(cls, services: Services, *, parts: frozenset[str] = ROLES["all"]) -> Ingest:
        """Everything from settings; no I/O until `start`. A port of 0 leaves a gateway off;
        `parts` (see `ROLES`) says whether the gateways, the worker or both run here."""
        settings, clock = services.settings, services.clock
        bus = buses.from_url(settings.bus_url)
        registry = Registry(services.database, clock=clock)
        sink = Sink(bus, registry, clock=clock)
        store = Store(services.database, batch_size=settings.pipeline_batch_size)
        book = FenceBook(services.database, ttl_s=settings.geofence_cache_ttl_s)
        rules = EventRules(
            hysteresis=Hysteresis(
                settings.geofence_margin_m,
                settings.geofence_confirm_fixes,
                settings.geofence_confirm_s,
            ),
            overspeed_min_s=settings.overspeed_min_duration_s,
            overspeed_tolerance_kmh=settings.overspeed_tolerance_kmh,
        )
        worker = Worker(bus, store, stages=build_stages(book, rules), clock=clock)
        if "worker" in parts:  # elsewhere nothing reads the book: a change would load it idly
            services.fence_listeners.append(book.fences_changed)
            services.device_listeners.append(book.device_changed)
        host = settings.gateway_host
        idle = float(settings.gateway_idle_timeout_s)

        tls = settings.tls_context()  # only asked for when a TLS port is set (validated)

        def tcp(
            name: str, port: int, make: Callable[..., Handler], *, secure: bool = False
        ) -> TcpGateway:
            def handler(connection: Connection) -> Handler:
                return make(connection, sink, settings, clock)

            return TcpGateway(
                name,
                host=host,
                port=port,
                handler=handler,
                idle_timeout_s=idle,
                tls=tls if secure else None,
            )

        gateways: dict[str, Gateway] = {}
        if settings.jt808_port:
            gateways["jt808"] = tcp("jt808", settings.jt808_port, Jt808Handler)
        if settings.jt808_tls_port:
            gateways["jt808-tls"] = tcp(
                "jt808-tls", settings.jt808_tls_port, Jt808Handler, secure=True
            )
        if settings.teltonika_port:
            gateways["teltonika"] = tcp("teltonika", settings.teltonika_port, TeltonikaHandler)
        if settings.teltonika_tls_port:
            gateways["teltonika-tls"] = tcp(
                "teltonika-tls", settings.teltonika_tls_port, TeltonikaHandler, secure=True
            )
        if settings.osmand_port:
            gateways["osmand"] = OsmandGateway(
                OsmandApp(sink, clock), host=host, port=settings.osmand_port
            )
        if settings.osmand_tls_port:
            assert settings.tls_cert_file is not None and settings.tls_key_file is not None
            gateways["osmand-tls"] = OsmandGateway(
                OsmandApp(sink, clock),
                host=host,
                port=settings.osmand_tls_port,
                tls=(settings.tls_cert_file, settings.tls_key_file),
                name="osmand-tls-gateway",
            )
        mqtt = None
        if settings.mqtt_url:
            mqtt = MqttGateway(
                settings.mqtt_url,
                settings.mqtt_topic,
                sink,
                clock=clock,
                ca_file=settings.mqtt_ca_file,
            )
        made = cls(
            services,
            bus=bus,
            registry=registry,
            sink=sink,
            worker=worker,
            gateways=gateways,
            mqtt=mqtt,
            parts=parts,
        )
        made.book = book
        return made

    async def start(self) -> None:
        """Start the worker first (gateways wait on it), then every enabled gateway (each
        only when this process runs that part)."""
        if "worker" in self.parts:
            if self.book is not None:
                await self.book.warm()
            self.worker.start()
        if "gateway" not in self.parts:
            return
        if self.sink.access_log is None:  # P24: which device connected, when, from where
            self.sink.access_log = DeviceAccessLog.in_data_dir(
                self.services.database, self.services.settings.data_dir, clock=self.services.clock
            )
        try:  # so that a fleet reconnecting after a restart is answered from the cache
            await self.registry.warm()
        except Exception:
            log.exception("device registry not warmed; devices are resolved as they connect")
        try:
            for name, gateway in self.gateways.items():
                await gateway.start()
                self._started.append(gateway)
                self.ports[name] = gateway.port
            if self.mqtt is not None:
                await self.mqtt.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop taking input, then let the worker finish what it holds."""
        if self.mqtt is not None:
            await self.mqtt.stop()
        for gateway in reversed(self._started):
            try:
                await gateway.stop()
            except Exception:
                log.exception("a gateway did not stop cleanly")
        self._started.clear()
        if self.sink.access_log is not None:
            await self.sink.access_log.stop()
        if "worker" in self.parts:
            await self.worker.stop()
        await self.bus.close()

    def on_stored(self, listener: Callable[[list[Envelope]], None]) -> None:
        """Call `listener` (quickly, without awaiting) with each batch of positions just
        committed: the hook for live updates and, later, events."""
        self.worker.store.listeners.append(listener)

    def readiness(self) -> dict[str, Callable[[], bool]]:
        """Name -> "is it ready?" for /healthz: the pipeline and every enabled gateway."""
        checks: dict[str, Callable[[], bool]] = {}
        if "worker" in self.parts:
            checks["pipeline"] = lambda: self.worker.running
        for name, gateway in self.gateways.items() if "gateway" in self.parts else ():

            def serving(g: Gateway = gateway) -> bool:
                return g.serving

            checks[name] = serving
        if self.mqtt is not None:
            mqtt = self.mqtt
            checks["mqtt"] = lambda: mqtt.connected
        return checks

    def stats(self) -> dict[str, dict[str, int]]:
        """Counters per part: gateways (frames, rejections by reason, drops), pipeline, store."""
        out: dict[str, dict[str, int]] = {
            name: dict(gateway.counters) for name, gateway in self.gateways.items()
        }
        for name, gateway in self.gateways.items():
            if isinstance(gateway, TcpGateway):
                out[name]["open_connections"] = gateway.connections
        if self.mqtt is not None:
            out["mqtt"] = dict(self.mqtt.counters)
        out["sink"] = dict(self.sink.counters) | {"takeovers": self.sink.sessions.takeovers}
        out["registry"] = dict(self.registry.counters)
        if self.sink.access_log is not None:
            out["access_log"] = dict(self.sink.access_log.counters)
        out["pipeline"] = dict(self.worker.counters)
        out["store"] = dict(self.worker.store.counters)
        out["bus"] = {"depth": self.bus.depth()}
        return out

    async def send_command(self, device_id: uuid.UUID, command: Command) -> int | None:
        """Send a command to a connected device; the downlink serial when the protocol has one.

        Raises NotConnected when the device has no live connection here, and ValueError when
        its protocol cannot express the command.
        """
        live = self.sink.sessions.get(device_id)
        if live is None:
            raise NotConnected("the device is not connected")
        return await live.send_command(command)
