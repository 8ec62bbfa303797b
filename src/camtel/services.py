"""The long-lived services of one camtel process, built once by `app` and passed down typed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from camtel.accounts.ratelimit import RateLimiter
from camtel.background import Background
from camtel.bus.live import LiveHub
from camtel.config import Settings
from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.mail.outbox import Mailer
from camtel.media.service import MediaLibrary, Workbench
from camtel.notify.dispatcher import Dispatcher


@dataclass(slots=True)
class Limiters:
    """Rate limits on the doors people knock on: sign-in, registration, reset."""

    per_address: RateLimiter
    per_account: RateLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> Limiters:
        return cls(
            per_address=RateLimiter(settings.login_rate_per_address, settings.rate_window_s),
            per_account=RateLimiter(settings.login_rate_per_account, settings.rate_window_s),
        )


@dataclass(slots=True)
class Services:
    """Everything a request handler or worker needs, made from one Settings object."""

    settings: Settings
    database: Database
    mailer: Mailer
    limiters: Limiters
    live: LiveHub = field(default_factory=LiveHub)
    #: Work requests start and do not wait for; the lifespan settles it at shutdown.
    background: Background = field(default_factory=Background)
    #: Called with (protocol, unique_id) when a device is registered or deleted, so that
    #: caches of "which device is this" (the gateways') learn it at once. In a split
    #: deployment camtel.bus.fanout listens here too and tells the other processes; it
    #: relays fence changes and the live hub's updates the same way.
    device_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    #: Called with an organisation id when its geofences change, so that the pipeline's
    #: fence cache (camtel.geofences.book.FenceBook.fences_changed) reloads them at once.
    fence_listeners: list[Callable[[uuid.UUID], None]] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=utcnow)
    #: Media store, key ring and limits: built on first use (`media`), since it reads the
    #: master key from the data directory and many commands never touch a recording.
    _media: MediaLibrary | None = field(default=None, init=False, repr=False)
    #: Extra work when a person is erased or exported (recordings), filled by the
    #: composition root: async (db, scope) -> counts / async (db, scope, zip) -> files.
    erasure_hooks: list[Callable[..., Any]] = field(default_factory=list)
    export_hooks: list[Callable[..., Any]] = field(default_factory=list)
    #: Routes stored events to inboxes, mail, Web Push and webhooks (`run()` it at start).
    dispatcher: Dispatcher | None = None

    @property
    def media(self) -> MediaLibrary:
        """The process's media library (store, key ring, limits, the workers attached)."""
        if self._media is None:
            self._media = MediaLibrary.build(self.settings)
        return self._media

    @property
    def work_dir(self) -> Path:
        """Where workers keep decrypted working copies (private to the process's user)."""
        return self.settings.data_dir / "work"

    def workbench(self) -> Workbench:
        """What a media worker works with, from these services."""
        return Workbench(
            database=self.database,
            lib=self.media,
            work_dir=self.work_dir,
            poll_s=self.settings.job_poll_s,
            clock=self.clock,
        )

    def device_changed(self, protocol: str, unique_id: str) -> None:
        """Tell every listener that the device behind (protocol, unique_id) changed."""
        for listener in self.device_listeners:
            listener(protocol, unique_id)

    def fences_changed(self, organization_id: uuid.UUID) -> None:
        """Tell every listener that an organisation's geofences changed."""
        for listener in self.fence_listeners:
            listener(organization_id)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings.sqlalchemy_url)
        mailer, live = Mailer(settings, database), LiveHub()
        return cls(
            settings=settings,
            database=database,
            mailer=mailer,
            limiters=Limiters.from_settings(settings),
            live=live,
            dispatcher=Dispatcher(settings=settings, database=database, mailer=mailer, live=live),
        )
