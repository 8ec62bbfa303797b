"""Tables of the notification side: rules, inbox, push subscriptions, webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from camtel.db.base import Base, CreatedMixin, IdMixin, JSONType


class NotificationRule(IdMixin, CreatedMixin, Base):
    """One person's wish: these event types, of these devices, through these channels."""

    __tablename__ = "notification_rules"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(120), default="")
    #: Event types the rule covers; empty means every type.
    event_types: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Devices the rule covers; empty means every device the person may see.
    device_ids: Mapped[list[str]] = mapped_column(JSONType, default=list)
    channels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Quiet hours as "HH:MM" local times in `time_zone`; urgent events ignore them.
    quiet_start: Mapped[str | None] = mapped_column(String(5))
    quiet_end: Mapped[str | None] = mapped_column(String(5))
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    enabled: Mapped[bool] = mapped_column(default=True)


class InboxItem(IdMixin, CreatedMixin, Base):
    """A notification in a person's in-app inbox; one per (person, event)."""

    __tablename__ = "inbox_items"
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_inbox_items_user_created", "user_id", "created_at"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    urgent: Mapped[bool] = mapped_column(default=False)
    time: Mapped[datetime]
    read_at: Mapped[datetime | None]


class PushSubscription(IdMixin, CreatedMixin, Base):
    """One browser's Web Push subscription (RFC 8030 endpoint and RFC 8291 keys)."""

    __tablename__ = "push_subscriptions"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(2048), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(default=0)
    last_success_at: Mapped[datetime | None]


class Webhook(IdMixin, CreatedMixin, Base):
    """An organisation's HTTP endpoint that receives signed events."""

    __tablename__ = "webhooks"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(String(2048))
    #: HMAC key: kept to sign deliveries, never shown again after creation.
    secret: Mapped[str] = mapped_column(String(256))
    events: Mapped[list[str]] = mapped_column(JSONType, default=list)
    enabled: Mapped[bool] = mapped_column(default=True)
    consecutive_failures: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str] = mapped_column(String(200), default="")
    disabled_at: Mapped[datetime | None]


class WebhookDelivery(IdMixin, Base):
    """One attempt to deliver one event to one webhook: the delivery log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_webhook_time", "webhook_id", "time"),)

    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    #: The same for every attempt of one event, sent as `X-Camtel-Delivery` for de-duplication.
    delivery_id: Mapped[uuid.UUID]
    attempt: Mapped[int]
    status_code: Mapped[int | None]
    ok: Mapped[bool] = mapped_column(default=False)
    error: Mapped[str] = mapped_column(String(200), default="")
    duration_ms: Mapped[int] = mapped_column(default=0)
    time: Mapped[datetime]
