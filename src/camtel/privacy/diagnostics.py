"""Diagnostics (P9, P24): app and dash-cam problem logs; phone IDs and MAC addresses are kept
only as HMAC-SHA256 keyed hashes (the key lives in `<data_dir>/keys/diagnostics.key`), and
the log text is scrubbed of them before it is stored. Reports expire after a short time."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlalchemy.ext.asyncio import AsyncSession

from camtel import keyfiles
from camtel.errors import Invalid
from camtel.privacy.models import DiagnosticsReport

log = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 14
MAX_LOG_CHARS = 64 * 1024
KEY_PATH = Path("keys") / "diagnostics.key"

_MAC = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}(?![0-9A-Fa-f])")
_MAC_DOTTED = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}(?![0-9A-Fa-f])")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")


def load_key(data_dir: Path) -> bytes:
    """The diagnostics HMAC key, made on first use (random, 256 bits, file mode 0600)."""
    return keyfiles.load_or_create(Path(data_dir) / KEY_PATH)


def normalise_mac(mac: str) -> str:
    """The 12 lower-case hex digits of a MAC address in any usual notation, or Invalid."""
    digits = re.sub(r"[^0-9a-fA-F]", "", mac).lower()
    if len(digits) != 12 or re.fullmatch(r"[0-9a-fA-F:.\- ]+", mac.strip()) is None:
        raise Invalid("mac is not a MAC address", field="mac")
    return digits


def pseudonym(key: bytes, kind: str, value: str) -> str:
    """The keyed hash an identifier is stored as: stable for camtel, useless to anyone else."""
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def scrub(text: str, identifiers: tuple[str, ...] = ()) -> str:
    """Log text without the raw identifiers, MAC addresses, emails or IPv4 addresses. Pure."""
    for identifier in identifiers:
        if identifier and len(identifier) >= 4:
            text = re.sub(re.escape(identifier), "[id]", text, flags=re.IGNORECASE)
    text = _MAC.sub("[mac]", text)
    text = _MAC_DOTTED.sub("[mac]", text)
    text = _EMAIL.sub("[email]", text)
    return _IPV4.sub("[ip]", text)


@dataclass(frozen=True, slots=True)
class ReportIn:
    """A problem log as sent by the app or a dash cam."""

    source: str = "app"
    phone_id: str = ""
    mac: str = ""
    app_version: str = ""
    platform: str = ""
    dashcam_model: str = ""
    dashcam_firmware: str = ""
    usage_seconds: int | None = None
    log: str = ""


async def submit(
    db: AsyncSession,
    *,
    key: bytes,
    report: ReportIn,
    user_id: uuid.UUID | None,
    now: datetime,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> DiagnosticsReport:
    """Store a report with pseudonymised identifiers. The caller checks consent first."""
    if len(report.log) > MAX_LOG_CHARS:
        raise Invalid(f"log is longer than {MAX_LOG_CHARS} characters", field="log")
    mac = normalise_mac(report.mac) if report.mac else ""
    phone = report.phone_id.strip()
    raw = tuple(x for x in (phone, report.mac.strip(), mac) if x)
    row = DiagnosticsReport(
        user_id=user_id,
        source=report.source,
        phone_hash=pseudonym(key, "phone", phone) if phone else None,
        mac_hash=pseudonym(key, "mac", mac) if mac else None,
        app_version=scrub(report.app_version, raw),
        platform=scrub(report.platform, raw),
        dashcam_model=scrub(report.dashcam_model, raw),
        dashcam_firmware=scrub(report.dashcam_firmware, raw),
        usage_seconds=report.usage_seconds,
        log=scrub(report.log, raw),
        created_at=now,
        expires_at=now + timedelta(days=retention_days),
    )
    db.add(row)
    await db.flush()
    log.info("diagnostics stored", extra={"report": str(row.id), "source": report.source})
    return row


async def purge_expired(db: AsyncSession, *, now: datetime) -> int:
    """Delete reports past their expiry (the retention sweeper may call this)."""
    result = await db.execute(delete(DiagnosticsReport).where(DiagnosticsReport.expires_at <= now))
    return cast(CursorResult[Any], result).rowcount or 0
