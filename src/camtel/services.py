"""The long-lived services of one camtel process, built once by `app` and passed down typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from camtel.accounts.ratelimit import RateLimiter
from camtel.bus.live import LiveHub
from camtel.config import Settings
from camtel.db.base import utcnow
from camtel.db.engine import Database
from camtel.notify.email import Mailer


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
    #: Called with (protocol, unique_id) when a device is registered or deleted, so that
    #: caches of "which device is this" (the gateways') learn it at once.
    device_listeners: list[Callable[[str, str], None]] = field(default_factory=list)
    clock: Callable[[], datetime] = field(default=utcnow)

    def device_changed(self, protocol: str, unique_id: str) -> None:
        """Tell every listener that the device behind (protocol, unique_id) changed."""
        for listener in self.device_listeners:
            listener(protocol, unique_id)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        database = Database(settings.sqlalchemy_url)
        return cls(
            settings=settings,
            database=database,
            mailer=Mailer(settings, database),
            limiters=Limiters.from_settings(settings),
        )
