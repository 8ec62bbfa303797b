"""How rows of each registered table reach a person, and when they expire: machine-readable
twins of the registry's prose, used by export, erasure and the retention sweeper."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from camtel.accounts.models import Membership
from camtel.devices.models import Device


@dataclass(frozen=True, slots=True)
class Link:
    """Which rows of a table are a person's.

    kind:
      "self"   the person's own row (column holds the user id, e.g. users.id)
      "user"   column holds the person's user id
      "org"    column holds an organisation id; rows of organisations that are wholly the
               person's (they are its only member) are theirs
      "device" column holds a device id; rows of the person's devices are theirs
      "none"   no person is linked (device identifiers before anyone owns them)
    """

    kind: str
    column: str = ""


@dataclass(frozen=True, slots=True)
class Retention:
    """Rows older than `days` (by `column`) are swept; `expires` columns are swept when past."""

    column: str
    days: int | None = None  # None: `column` itself is the expiry time
    held_by: str = ""  # "device_id" / "user_id" column checked against legal holds
    where: tuple[tuple[str, object], ...] = ()  # extra equality filters (e.g. category)


LINKS: dict[str, Link] = {
    "users": Link("self", "id"),
    "memberships": Link("user", "user_id"),
    "organizations": Link("org", "id"),
    "auth_sessions": Link("user", "user_id"),
    "email_tokens": Link("user", "user_id"),
    "outbox_mail": Link("user", "user_id"),
    "devices": Link("org", "organization_id"),
    "device_groups": Link("org", "organization_id"),
    "positions": Link("device", "device_id"),
    "events": Link("device", "device_id"),
    "geofences": Link("org", "organization_id"),
    "geofence_devices": Link("device", "device_id"),
    # Group links go with their fence or group (deleted by the foreign keys).
    "geofence_groups": Link("none"),
    "pending_devices": Link("none"),
    "privacy_requests": Link("user", "user_id"),
    "legal_holds": Link("org", "organization_id"),
    "access_audit": Link("user", "subject_user_id"),
    "digest_log": Link("user", "user_id"),
    "notification_rules": Link("user", "user_id"),
    "inbox_items": Link("user", "user_id"),
    "push_subscriptions": Link("user", "user_id"),
    "webhooks": Link("org", "organization_id"),
    # Deliveries go with their webhook (deleted by the foreign key when it is).
    "webhook_deliveries": Link("none"),
    # Recordings: rows, objects and keys go through camtel.media.cleanup (hooks), since a
    # plain SQL delete would leave encrypted objects behind.
    "media": Link("user", "owner_id"),
    "media_uploads": Link("user", "owner_id"),
    "media_keys": Link("user", "owner_id"),
    "media_tracks": Link("none"),
    "consent_records": Link("user", "user_id"),
    "guardian_invitations": Link("user", "minor_id"),
    "disclosures": Link("none"),
    "disclosure_subjects": Link("user", "user_id"),
    "breaches": Link("none"),
    "breach_notifications": Link("user", "user_id"),
    "diagnostics_reports": Link("user", "user_id"),
    "analytics_hits": Link("none"),
    "contact_messages": Link("user", "user_id"),
}

#: Default retention per table; organisations may override the number of days.
RETENTION: dict[str, tuple[Retention, ...]] = {
    "positions": (Retention("time", 90, held_by="device_id"),),
    "events": (Retention("time", 365, held_by="device_id"),),
    "outbox_mail": (Retention("created_at", 30, held_by="user_id"),),
    "auth_sessions": (Retention("expires_at"),),
    "email_tokens": (Retention("expires_at"),),
    "pending_devices": (Retention("last_seen_at", 30),),
    "access_audit": (Retention("at", 365),),
    "digest_log": (Retention("sent_at", 90, held_by="user_id"),),
    "inbox_items": (Retention("created_at", 90, held_by="user_id"),),
    "webhook_deliveries": (Retention("time", 30),),
    "diagnostics_reports": (Retention("expires_at"),),
    "contact_messages": (Retention("expires_at"),),
    "guardian_invitations": (Retention("expires_at"),),
}


@dataclass(slots=True)
class Scope:
    """What belongs to one person: their own organisations (sole member) and devices."""

    user_id: uuid.UUID
    own_orgs: set[uuid.UUID] = field(default_factory=set)
    shared_orgs: set[uuid.UUID] = field(default_factory=set)
    own_devices: set[uuid.UUID] = field(default_factory=set)
    driven_devices: set[uuid.UUID] = field(default_factory=set)

    def ids_for(self, link: Link, *, for_export: bool) -> set[uuid.UUID] | None:
        """The ids the link's column must hold; None means "not linked"."""
        if link.kind in ("self", "user"):
            return {self.user_id}
        if link.kind == "org":
            return set(self.own_orgs)
        if link.kind == "device":
            # A driver's trips in a fleet are theirs to see, but the fleet keeps them.
            return self.own_devices | (self.driven_devices if for_export else set())
        return None


async def scope_of(db: AsyncSession, user_id: uuid.UUID) -> Scope:
    """Work out what belongs to a person right now."""
    scope = Scope(user_id=user_id)
    orgs = list(
        await db.scalars(select(Membership.organization_id).where(Membership.user_id == user_id))
    )
    for org in orgs:
        members = list(
            await db.scalars(select(Membership.user_id).where(Membership.organization_id == org))
        )
        (scope.own_orgs if members == [user_id] else scope.shared_orgs).add(org)
    if scope.own_orgs:
        scope.own_devices = set(
            await db.scalars(select(Device.id).where(Device.organization_id.in_(scope.own_orgs)))
        )
    scope.driven_devices = (
        set(await db.scalars(select(Device.id).where(Device.driver_id == user_id)))
        - scope.own_devices
    )
    return scope
