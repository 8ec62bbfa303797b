"""Tables of recordings (videos and photos), their embedded tracks, resumable uploads, keys
and share links."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin, JSONType

CHANNELS = ("front", "rear", "cabin", "unknown")
KINDS = ("video", "photo")
CATEGORIES = ("normal", "event", "locked")
STATUSES = ("processing", "ready", "failed")
#: States of a recording's redacted copy (faces and plates blurred, no audio or metadata);
#: None until a redacted share link first asks for it.
REDACTIONS = ("pending", "ready", "failed")
#: States of a recording's browser-playable copy (H.264 MP4); None when browsers play the
#: original (or the analysis has not decided yet).
PLAYABLES = ("pending", "ready", "failed")


class Media(IdMixin, CreatedMixin, Base):
    """One recording. Its bytes live encrypted in the media store under `storage_key`."""

    __tablename__ = "media"
    __table_args__ = (
        Index("ix_media_organization_created", "organization_id", "created_at"),
        Index("ix_media_device_start", "device_id", "start_time"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(8), default="unknown")
    kind: Mapped[str] = mapped_column(String(8), default="video")
    category: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(12), default="processing", index=True)
    #: What the analysis is doing now (`queued`, `probe`, `thumbnail`, `track`, `events`,
    #: `done`) and how far it is, 0..1, so clients can show progress.
    stage: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    failure_reason: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    storage_key: Mapped[str] = mapped_column(String(300))
    thumbnail_key: Mapped[str | None] = mapped_column(String(300))
    track_points: Mapped[int] = mapped_column(default=0)
    event_count: Mapped[int] = mapped_column(default=0)
    #: Files of the same moment from the front, rear and cabin cameras share a group id.
    group_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    #: What the probe found: container, codecs, width, height, frame rate, bit rate.
    probe: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The redacted copy served by redacted share links (camtel.media.derivatives): made once,
    #: encrypted with the owner's key like the original, deleted with it.
    redaction: Mapped[str | None] = mapped_column(String(8), index=True)
    redacted_key: Mapped[str | None] = mapped_column(String(300))
    redacted_size: Mapped[int] = mapped_column(BigInteger, default=0)
    #: content_type, sha256, reason (when failed), finished_at and what the redactor reported.
    redaction_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: The browser-playable copy of a video browsers cannot decode (MPEG-4 Part 2, HEVC...),
    #: made in the background after analysis (camtel.media.derivatives), kept like the
    #: redacted copy. Same info fields.
    playable: Mapped[str | None] = mapped_column(String(8), index=True)
    playable_key: Mapped[str | None] = mapped_column(String(300))
    playable_size: Mapped[int] = mapped_column(BigInteger, default=0)
    playable_info: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Which process works on the recording's analysis, redacted copy and playable copy, and
    #: until when its lease holds (camtel.db.claims): an id of a camtel process, not a person.
    analysis_claimed_by: Mapped[str | None] = mapped_column(String(80))
    analysis_claimed_until: Mapped[datetime | None]
    redaction_claimed_by: Mapped[str | None] = mapped_column(String(80))
    redaction_claimed_until: Mapped[datetime | None]
    playable_claimed_by: Mapped[str | None] = mapped_column(String(80))
    playable_claimed_until: Mapped[datetime | None]


class MediaTrack(Base):
    """The GPS track and G-sensor series found inside one recording, offsets from its start."""

    __tablename__ = "media_tracks"

    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    source_format: Mapped[str | None] = mapped_column(String(40))
    #: [[offset_s, time ISO or null, lat, lon, alt_m, speed_kmh, course], ...]
    points: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: {"offsets": [...], "x": [...], "y": [...], "z": [...]} in g, downsampled for display.
    gsensor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    warnings: Mapped[list[Any]] = mapped_column(JSONType, default=list)


class MediaUpload(IdMixin, CreatedMixin, Base):
    """A resumable (tus 1.0) upload in progress; its bytes are stored as encrypted parts."""

    __tablename__ = "media_uploads"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("devices.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(8), default="unknown")
    filename: Mapped[str] = mapped_column(String(255), default="")
    content_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    #: [[object key, offset, size], ...]: one encrypted part per PATCH, in order.
    parts: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    expires_at: Mapped[datetime]
    media_id: Mapped[uuid.UUID | None]


class MediaKey(Base):
    """An owner's data key, wrapped by the master key; deleting the row shreds their media."""

    __tablename__ = "media_keys"

    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary(128))
    created_at: Mapped[datetime]


class MediaShare(IdMixin, CreatedMixin, Base):
    """A link that shows one recording without signing in, until it expires or is revoked.

    Only the SHA-256 of the link's token is kept: a copy of the database opens no link."""

    __tablename__ = "media_shares"

    media_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), index=True
    )
    #: Who made the link (the recording's owner, or a manager of its organisation).
    owner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    #: Serve only the redacted copy, never the original.
    redact: Mapped[bool] = mapped_column(default=True)
    max_views: Mapped[int | None]
    views: Mapped[int] = mapped_column(default=0)
    last_viewed_at: Mapped[datetime | None]
