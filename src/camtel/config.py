"""Settings: every knob of camtel, each described; built once at start and passed down."""

from __future__ import annotations

import os
import ssl
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    """camtel's settings, from `CAMTEL_*` environment variables and an optional TOML file."""

    model_config = SettingsConfigDict(env_prefix="CAMTEL_", extra="forbid", validate_default=True)

    config_file: Path | None = Field(
        None,
        description="Optional TOML file with settings (keys without the CAMTEL_ prefix, "
        "lower case); environment variables win over it.",
    )
    data_dir: Path = Field(
        Path("./camtel-data"), description="Where the embedded database, media and keys live."
    )
    database_url: str = Field(
        "",
        description="Database URL. `postgresql://user@host:port/db` for PostgreSQL (camtel "
        "uses psycopg 3); empty means SQLite at `<data_dir>/camtel.db`.",
    )
    http_host: str = Field("127.0.0.1", description="Address the web app and API listen on.")
    http_port: int = Field(8080, ge=0, le=65535, description="Port of the web app and API.")
    forwarded_allow_ips: str = Field(
        "",
        description="Comma-separated addresses of reverse proxies whose X-Forwarded-For and "
        "X-Forwarded-Proto headers camtel trusts (e.g. `127.0.0.1`); empty trusts none.",
    )
    tls_cert_file: Path | None = Field(
        None,
        description="PEM certificate (chain) to serve the web app and API over HTTPS "
        "directly; empty serves plain HTTP (put a TLS-terminating proxy in front).",
    )
    tls_key_file: Path | None = Field(
        None, description="PEM private key of `CAMTEL_TLS_CERT_FILE`."
    )
    public_url: str = Field(
        "",
        description="Address people use to reach camtel, for links in emails; empty means "
        "`http://<http_host>:<http_port>`.",
    )
    gateway_host: str = Field(
        "0.0.0.0",  # noqa: S104 - devices connect from other machines
        description="Address the device gateways (JT/T 808, Teltonika, OsmAnd) "
        "listen on; devices connect from outside, so every interface by default.",
    )
    jt808_port: int = Field(5015, ge=0, le=65535, description="JT/T 808 TCP gateway; 0 is off.")
    teltonika_port: int = Field(5027, ge=0, le=65535, description="Teltonika TCP gateway; 0 off.")
    osmand_port: int = Field(
        5055, ge=0, le=65535, description="OsmAnd / Traccar Client HTTP ingest; 0 is off."
    )
    jt808_tls_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="JT/T 808 over TLS, for dash cams that support it (certificate: "
        "CAMTEL_TLS_CERT_FILE); 0 is off.",
    )
    teltonika_tls_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="Teltonika over TLS (FMx devices with TLS enabled; certificate: "
        "CAMTEL_TLS_CERT_FILE); 0 is off.",
    )
    osmand_tls_port: int = Field(
        0,
        ge=0,
        le=65535,
        description="OsmAnd / Traccar Client over HTTPS (certificate: CAMTEL_TLS_CERT_FILE); "
        "0 is off.",
    )
    mqtt_url: str = Field(
        "",
        description="MQTT broker to take JSON positions from, e.g. `mqtt://127.0.0.1:1883`, "
        "or `mqtts://broker:8883` over TLS (the broker's certificate is verified); empty "
        "turns MQTT ingest off.",
    )
    mqtt_ca_file: Path | None = Field(
        None,
        description="PEM certificate(s) to verify an `mqtts://` broker by, for a broker with "
        "a private CA; empty uses the system's trusted CAs.",
    )
    mqtt_topic: str = Field(
        "camtel/+/position", description="MQTT topic filter; the `+` level is the device id."
    )
    gateway_idle_timeout_s: int = Field(
        600, ge=10, le=86_400, description="Close a device connection silent for this long."
    )
    gateway_max_buffer: int = Field(
        65_536,
        ge=1024,
        le=16_777_216,
        description="Largest unframed input kept per connection before it is dropped (bytes).",
    )
    jt808_tz_offset_hours: float = Field(
        8.0,
        ge=-12,
        le=14,
        description="Time zone of JT/T 808 device clocks (the standard says "
        "UTC+8); a device's `tz_offset_hours` attribute overrides it.",
    )
    jt808_auth_secret: str = Field(
        "",
        description="Secret mixed into JT/T 808 authentication codes; empty accepts any code "
        "from a registered device.",
    )
    pipeline_batch_size: int = Field(
        500, ge=1, le=100_000, description="Most positions written to the database in one batch."
    )
    geofence_margin_m: float = Field(
        20.0,
        ge=0,
        le=1000,
        description="Metres past a fence edge that count as a crossing at "
        "once (GPS jitter inside this margin needs confirming fixes).",
    )
    geofence_confirm_fixes: int = Field(
        3,
        ge=1,
        le=100,
        description="Consecutive fixes on the other side that confirm a "
        "crossing inside the margin.",
    )
    geofence_confirm_s: float = Field(
        10.0, ge=0, le=3600, description="Seconds those confirming fixes must span."
    )
    geofence_cache_ttl_s: float = Field(
        60.0,
        ge=1,
        le=86_400,
        description="How long the pipeline trusts its copy of fences "
        "and devices before reloading (changes through the API apply at once).",
    )
    overspeed_min_duration_s: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="How long a vehicle must be over the limit before an `overspeed` event.",
    )
    overspeed_tolerance_kmh: float = Field(
        0.0, ge=0, le=100, description="km/h over the limit that is tolerated."
    )
    offline_after_s: int = Field(
        600, ge=10, le=86_400 * 7, description="Silence after which a device is `device_offline`."
    )
    offline_check_every_s: float = Field(
        10.0, ge=1, le=3600, description="How often the online/offline check runs."
    )
    trip_min_distance_m: float = Field(
        500.0,
        ge=0,
        le=100_000,
        description="A journey shorter than this (metres) is not a "
        "trip: a car moved across a car park, a GPS glitch.",
    )
    trip_min_duration_s: int = Field(
        120, ge=0, le=86_400, description="A journey shorter than this (seconds) is not a trip."
    )
    stop_min_duration_s: int = Field(
        300,
        ge=0,
        le=86_400,
        description="A standstill at least this long (seconds) ends a trip "
        "and is a stop; shorter ones (traffic lights, queues) stay inside the trip.",
    )
    digest_hour_utc: int = Field(
        6,
        ge=0,
        le=23,
        description="Hour (UTC) from which the daily digest of the previous day "
        "is mailed to owners and managers.",
    )
    bus_url: str = Field("memory://", description="Message bus: `memory://` or `nats://host:port`.")
    media_url: str = Field(
        "",
        description="Media store: `file:///path` or `s3://bucket/prefix`; empty means "
        "`<data_dir>/media`.",
    )
    media_quota_bytes: int = Field(
        50 * 1024**3,
        ge=0,
        description="Most bytes of recordings one account may store, counting unfinished uploads.",
    )
    media_max_file_bytes: int = Field(
        8 * 1024**3, ge=1, description="Largest single recording accepted (bytes)."
    )
    media_upload_ttl_s: int = Field(
        86_400, ge=60, description="Lifetime of an unfinished resumable (tus) upload, seconds."
    )
    media_master_key: Path = Field(
        Path("keys/master.key"),
        description="File of the master key that wraps every owner's "
        "media key; relative to the data dir unless absolute; created 0600 on first start.",
    )
    media_s3_endpoint: str = Field(
        "",
        description="Endpoint of an S3-compatible store (MinIO and others); credentials and "
        "region come the usual AWS way (environment, profile).",
    )
    media_analysis_workers: int = Field(
        1, ge=1, le=64, description="Processes that analyse recordings (probe, thumbnail, track)."
    )
    job_poll_s: float = Field(
        5.0,
        gt=0,
        le=300,
        description="How often a worker looks for background jobs (analysis, redacted and "
        "playable copies, exports) queued by other processes or left by dead ones, seconds.",
    )
    share_default_expiry_s: int = Field(
        7 * 86_400,
        ge=60,
        le=365 * 86_400,
        description="Lifetime of a share link when its creator names none, seconds "
        "(capped by `CAMTEL_SHARE_MAX_EXPIRY_S`).",
    )
    share_max_expiry_s: int = Field(
        30 * 86_400,
        ge=60,
        le=365 * 86_400,
        description="Longest lifetime a share link may be given, seconds.",
    )
    share_keep_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Days an expired or revoked share link is still listed to its "
        "creator before the hourly sweep deletes it.",
    )
    share_guesses_per_address: int = Field(
        30,
        ge=1,
        description="Unknown share links one client address may try per rate window; one "
        "more and its share-link requests are refused (429) for the rest of the window.",
    )
    dpo_email: str = Field(
        "",
        description="Address of the data-protection officer; contact-form messages about "
        "privacy are mailed there. Empty keeps them for operators only "
        "(`GET /api/v1/privacy/contact-messages`).",
    )
    sales_email: str = Field(
        "",
        description="Address of the sales team: sales enquiries from the contact form (topic "
        "`sales`), new saved quotes and demo bookings are mailed there, and it organises demo "
        "invitations. Empty uses `CAMTEL_OPERATOR_EMAIL`; with neither they are kept for "
        "operators only (`GET /api/v1/privacy/contact-messages`, `/app/admin/sales`).",
    )
    operator_name: str = Field(
        "",
        description="Who runs this camtel server (a person's or company's full name, with its "
        "legal form), shown on the imprint page (`/imprint`), which camtel's default privacy "
        "policy and terms name as the controller's details.",
    )
    operator_address: str = Field(
        "",
        description="The operator's postal address for the imprint; separate lines with "
        "`;` or newlines.",
    )
    operator_email: str = Field(
        "", description="The operator's contact address, shown on the imprint page."
    )
    operator_phone: str = Field(
        "", description="The operator's telephone number for the imprint (optional)."
    )
    operator_register: str = Field(
        "",
        description="Trade register entry for the imprint, e.g. `Amtsgericht Berlin, HRB "
        "123456`, and who represents the company (optional).",
    )
    operator_vat_id: str = Field(
        "", description="VAT identification number for the imprint (optional)."
    )
    diagnostics_retention_days: int = Field(
        14,
        ge=1,
        le=365,
        description="Days a diagnostics report (app or dash-cam problem log) is kept.",
    )
    contact_retention_days: int = Field(
        365, ge=1, le=3650, description="Days a message to the data-protection officer is kept."
    )
    price_table: Path | None = Field(
        None,
        description="TOML file with the operator's price table (unit prices, volume tiers, "
        "lease factors, options, VAT) and demo availability; empty uses the shipped example "
        "`src/camtel/sales/prices.example.toml`. Checked at start.",
    )
    lead_retention_days: int = Field(
        365,
        ge=1,
        le=3650,
        description="Days a saved quote (lead) is kept, and a demo booking after its demo.",
    )
    storage_region: str = Field(
        "local",
        description="Where the data is stored, as shown to people in the privacy "
        "centre, e.g. `eu-central-1 / Germany`. camtel refuses to start when the database "
        "host, the S3 bucket or the S3 endpoint names a cloud region (AWS, Google Cloud, Azure) "
        "that this setting does not name; list every region in use.",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let webhooks target loopback and private addresses (tests, "
        "on-premise installs); otherwise they are refused.",
    )
    webhook_allow_http: bool = Field(
        False,
        description="Let webhooks reach public addresses over plain http; otherwise only "
        "https (personal data leaves encrypted). http to a private address allowed by "
        "CAMTEL_WEBHOOK_ALLOW_PRIVATE needs no such leave.",
    )
    smtp_host: str = Field(
        "",
        description="SMTP server for outgoing mail; empty keeps mail in the local outbox "
        "(`camtel outbox`).",
    )
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP server port.")
    smtp_username: str = Field("", description="SMTP user name, if the server needs one.")
    smtp_password: str = Field("", description="SMTP password, if the server needs one.")
    smtp_starttls: bool = Field(
        True, description="Upgrade the SMTP connection with STARTTLS when the server offers it."
    )
    smtp_from: str = Field("camtel <no-reply@camtel.invalid>", description="Sender of mail.")
    cookie_secure: bool = Field(
        True,
        description="Mark the web session cookie Secure (sent over HTTPS only). Turn off "
        "only for plain-HTTP development.",
    )
    session_ttl_hours: int = Field(
        24 * 14, ge=1, le=24 * 366, description="Lifetime of a web session and an API token."
    )
    email_token_ttl_hours: int = Field(
        48, ge=1, le=24 * 30, description="Lifetime of an email verification or reset link."
    )
    password_min_length: int = Field(
        8, ge=8, le=64, description="Shortest password accepted (NIST SP 800-63B: at least 8)."
    )
    login_rate_per_address: int = Field(
        20,
        ge=1,
        description="Login and registration attempts allowed per client address per rate window.",
    )
    login_rate_per_account: int = Field(
        10, ge=1, description="Login attempts allowed per account (email) per rate window."
    )
    rate_window_s: int = Field(300, ge=1, description="Length of the rate-limit window, seconds.")
    max_request_bytes: int = Field(
        1_048_576, ge=1024, description="Largest JSON request body accepted by the API."
    )
    log_level: str = Field("INFO", description="Logging level: DEBUG, INFO, WARNING, ERROR.")
    map_tile_url: str = Field(
        "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        description="Map tiles for the web app (a Leaflet URL template with {z}/{x}/{y}, "
        "optionally {s}); empty draws only the built-in Natural Earth land and borders. The "
        "tile host is added to the pages' Content-Security-Policy.",
    )
    map_tile_attribution: str = Field(
        "© OpenStreetMap contributors",
        description="Credit shown on the map for the tiles (plain text).",
    )
    demo_devices: int = Field(
        5, ge=0, le=10_000, description="Simulated dash cams `camtel demo` starts."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("log_level must be DEBUG, INFO, WARNING or ERROR")
        return level

    @model_validator(mode="after")
    def _tls_ports_have_a_certificate(self) -> Settings:
        wanting = [
            f"CAMTEL_{name.upper()}"
            for name in ("jt808_tls_port", "teltonika_tls_port", "osmand_tls_port")
            if getattr(self, name)
        ]
        if wanting and not (self.tls_cert_file and self.tls_key_file):
            raise ValueError(
                f"{', '.join(wanting)} need CAMTEL_TLS_CERT_FILE and CAMTEL_TLS_KEY_FILE"
            )
        return self

    def tls_context(self) -> ssl.SSLContext | None:
        """The server-side TLS context of the device gateways' TLS ports (TLS 1.2 at least),
        from CAMTEL_TLS_CERT_FILE and CAMTEL_TLS_KEY_FILE; None when they are not set."""
        if not (self.tls_cert_file and self.tls_key_file):
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.tls_cert_file, self.tls_key_file)
        return context

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = os.environ.get("CAMTEL_CONFIG_FILE")
        if toml_path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)

    # Derived values: one place computes them so that no module re-derives them differently.

    @property
    def sqlalchemy_url(self) -> str:
        """The async SQLAlchemy URL for the configured database."""
        return async_url(self.database_url or f"sqlite:///{self.data_dir / 'camtel.db'}")

    @property
    def base_url(self) -> str:
        """Where people reach camtel, without a trailing slash."""
        return (self.public_url or f"http://{self.http_host}:{self.http_port}").rstrip("/")

    def describe(self) -> dict[str, Any]:
        """Settings as shown to an operator, with secrets masked."""
        shown = self.model_dump(mode="json")
        for key in ("smtp_password",):
            if shown.get(key):
                shown[key] = "***"
        return shown


def async_url(url: str) -> str:
    """Turn a plain database URL into the async driver camtel uses for it."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.removeprefix("sqlite:///")
    return url


def sync_url(url: str) -> str:
    """The synchronous twin of an async URL (Alembic runs migrations synchronously)."""
    return url.replace("sqlite+aiosqlite://", "sqlite://")
