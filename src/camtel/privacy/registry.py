"""Every table holding personal data, declared once: category, link to a person, retention,
export and erasure. A test fails when a table is neither declared here nor declared free of
personal data, so no table can be added without deciding how camtel forgets it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    """The kinds of personal data camtel holds."""

    ACCOUNT = "account"
    CONTACT = "contact"
    CREDENTIAL = "credential"
    LOCATION = "location"
    VIDEO = "video"
    DIAGNOSTICS = "diagnostics"
    ACCESS_LOG = "access_log"
    CONSENT = "consent"
    LEAD = "lead"
    COMMUNICATION = "communication"
    ORGANISATION = "organisation"
    ACCOUNTABILITY = "accountability"  # registers the law requires (disclosures, breaches)


class Erasure(StrEnum):
    """What erasing a person does to their rows."""

    DELETE = "delete"
    ANONYMISE = "anonymise"  # the law requires keeping the record, without identifiers
    CASCADE = "cascade"  # deleted with the row it belongs to (named in `subject`)


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
    #: Whether an organisation may set its own days (not for records the law asks camtel to
    #: keep for a fixed time, like the proof that privacy requests were answered).
    overridable: bool = True


#: A year of retention, in days (a leap day more or less is within what the texts promise).
YEAR = 365


@dataclass(frozen=True, slots=True)
class PersonalData:
    """How one table holds personal data."""

    table: str
    categories: tuple[Category, ...]
    subject: str  # how a row links to a person: a column path, read by export and erasure
    retention: str  # the default rule; per-organisation overrides come with the sweeper
    export: bool  # included in the person's export
    erasure: Erasure
    purpose: str
    link: Link  # which rows are a person's, read by export and erasure
    sweep: tuple[Retention, ...] = ()  # what the retention sweeper deletes, and when
    #: The retention chore (`camtel.app.retention_chores`) that deletes the rows when it is
    #: not the generic sweeper: recordings with their objects, share links, the rollup.
    swept_by: str = ""


REGISTRY: dict[str, PersonalData] = {
    entry.table: entry
    for entry in (
        PersonalData(
            "users",
            (Category.ACCOUNT, Category.CONTACT, Category.CREDENTIAL),
            "users.id",
            "until the account is closed",
            True,
            Erasure.DELETE,
            "sign-in, contact about the service, the age statement and guardian links (P20)",
            link=Link("self", "id"),
        ),
        PersonalData(
            "memberships",
            (Category.ORGANISATION,),
            "memberships.user_id",
            "while the person belongs to the organisation",
            True,
            Erasure.DELETE,
            "access control within an organisation",
            link=Link("user", "user_id"),
        ),
        PersonalData(
            "organization_invitations",
            (Category.ORGANISATION, Category.CONTACT),
            "organization_invitations.user_id (the invited person's account, linked at once "
            "when the address has one, else when they first list their invitations); the "
            "invited address in email; invited_by is the inviter",
            "7 days: until it expires, accepted, declined or not",
            True,
            Erasure.DELETE,
            "asking a person to join an organisation: they accept or decline (no one is made a "
            "member without their consent)",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "organizations",
            (Category.ORGANISATION,),
            "memberships.organization_id where role = owner and sole member",
            "while it has members",
            True,
            Erasure.DELETE,
            "tenancy: whose devices and data these are",
            link=Link("org", "id"),
        ),
        PersonalData(
            "auth_sessions",
            (Category.CREDENTIAL, Category.ACCESS_LOG),
            "auth_sessions.user_id",
            "until sign-out or expiry (14 days by default)",
            True,
            Erasure.DELETE,
            "keeping a person signed in",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "access_log",
            (Category.ACCESS_LOG,),
            "access_log.user_id",
            "30 days",
            True,
            Erasure.DELETE,
            "showing a person their sign-ins and failed attempts, to spot someone else's (P24); "
            "client address only as a keyed hash, client only as a short summary",
            link=Link("user", "user_id"),
            sweep=(Retention("time", 30),),
        ),
        PersonalData(
            "device_access_log",
            (Category.ACCESS_LOG,),
            "device_access_log.device_id -> devices",
            "30 days",
            True,
            Erasure.CASCADE,
            "knowing when and from where a device connected, and what it says it is (P24); "
            "peer address only as a keyed hash",
            link=Link("device", "device_id"),
            sweep=(Retention("time", 30),),
        ),
        PersonalData(
            "email_tokens",
            (Category.CREDENTIAL, Category.CONTACT),
            "email_tokens.user_id",
            "until used or expired (verification and email change 48 hours, reset 2 hours)",
            False,
            Erasure.DELETE,
            "email verification, password reset and email change (the pending new address "
            "waits in new_email until its link is opened)",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "outbox_mail",
            (Category.COMMUNICATION, Category.CONTACT),
            "outbox_mail.user_id",
            "30 days after sending; a delivered body is removed at once",
            True,
            Erasure.DELETE,
            "mail the service sends a person",
            link=Link("user", "user_id"),
            sweep=(Retention("created_at", 30, held_by="user_id"),),
        ),
        PersonalData(
            "devices",
            (Category.ORGANISATION,),
            "devices.organization_id / devices.driver_id",
            "until deleted by the organisation",
            True,
            Erasure.CASCADE,
            "knowing which vehicle reports where",
            link=Link("org", "organization_id"),
        ),
        PersonalData(
            "device_groups",
            (Category.ORGANISATION,),
            "device_groups.organization_id",
            "until deleted by the organisation",
            True,
            Erasure.CASCADE,
            "arranging devices",
            link=Link("org", "organization_id"),
        ),
        PersonalData(
            "positions",
            (Category.LOCATION,),
            "positions.device_id -> devices",
            "90 days",
            True,
            Erasure.CASCADE,
            "live map, trips, geofences, reports",
            link=Link("device", "device_id"),
            sweep=(Retention("time", 90, held_by="device_id"),),
        ),
        PersonalData(
            "latest_positions",
            (Category.LOCATION,),
            "latest_positions.device_id -> devices",
            "while the fix it shows is in positions: rebuilt from positions whenever they are "
            "swept, deleted with its device's positions on erasure and with the device",
            True,
            Erasure.CASCADE,
            "the live map's first paint: each device's newest fix kept ready as its answer",
            link=Link("device", "device_id"),
        ),
        PersonalData(
            "events",
            (Category.LOCATION,),
            "events.device_id -> devices",
            "1 year",
            True,
            Erasure.CASCADE,
            "alerts and history: fences crossed, alarms, speeding",
            link=Link("device", "device_id"),
            sweep=(Retention("time", 365, held_by="device_id"),),
        ),
        PersonalData(
            "media",
            (Category.VIDEO, Category.LOCATION),
            "media.owner_id (uploader) / media.device_id -> devices",
            "normal 30 days; event and locked 1 year (camtel.media.cleanup)",
            True,
            Erasure.DELETE,
            "keeping and playing back dash cam recordings, their redacted copies for share "
            "links (faces and plates blurred, no sound or metadata) and browser-playable copies "
            "of videos browsers cannot decode; objects erased with the row, and the owner's "
            "media key destroyed (crypto-shredding)",
            link=Link("user", "owner_id"),
            swept_by="retention of recordings",
        ),
        PersonalData(
            "media_shares",
            (Category.VIDEO, Category.ACCESS_LOG),
            "media_shares.owner_id (who made the link) / media_shares.media_id -> media",
            "until it expires or is revoked, then 30 days (share_keep_days, swept hourly by "
            "camtel.media.shares.sweep); deleted at once with its recording or its maker",
            True,
            Erasure.DELETE,
            "showing one recording to people without an account (P8): expiring, revocable, "
            "counted links; only a SHA-256 of the link token is kept",
            link=Link("user", "owner_id"),
            swept_by="share links",
        ),
        PersonalData(
            "media_tracks",
            (Category.LOCATION,),
            "media_tracks.media_id -> media",
            "with its recording",
            True,
            Erasure.CASCADE,
            "drawing a recording's route beside the video",
            link=Link("none"),
        ),
        PersonalData(
            "media_uploads",
            (Category.VIDEO,),
            "media_uploads.owner_id",
            "until finished or 24 hours after it started",
            False,
            Erasure.DELETE,
            "resuming an interrupted upload",
            link=Link("user", "owner_id"),
            swept_by="retention of recordings",
        ),
        PersonalData(
            "media_keys",
            (Category.CREDENTIAL,),
            "media_keys.owner_id",
            "until the owner is erased (destroying it makes their media unreadable)",
            False,
            Erasure.DELETE,
            "encrypting a person's recordings at rest",
            link=Link("user", "owner_id"),
        ),
        PersonalData(
            "notification_rules",
            (Category.COMMUNICATION,),
            "notification_rules.user_id",
            "until the person deletes the rule or the account",
            True,
            Erasure.DELETE,
            "telling a person about events they asked to hear about",
            link=Link("user", "user_id"),
        ),
        PersonalData(
            "inbox_items",
            (Category.COMMUNICATION, Category.LOCATION),
            "inbox_items.user_id",
            "90 days",
            True,
            Erasure.DELETE,
            "the in-app list of notifications a person received",
            link=Link("user", "user_id"),
            sweep=(Retention("created_at", 90, held_by="user_id"),),
        ),
        PersonalData(
            "push_subscriptions",
            (Category.COMMUNICATION, Category.CREDENTIAL),
            "push_subscriptions.user_id",
            "until the browser unsubscribes (or its push service answers 404/410)",
            False,
            Erasure.DELETE,
            "sending Web Push notifications to a person's browsers",
            link=Link("user", "user_id"),
        ),
        PersonalData(
            "webhooks",
            (Category.ORGANISATION, Category.CREDENTIAL),
            "webhooks.created_by (the organisation owns the webhook)",
            "until deleted by the organisation",
            True,
            Erasure.ANONYMISE,
            "sending an organisation's events to its own systems",
            link=Link("org", "organization_id"),
        ),
        PersonalData(
            "webhook_deliveries",
            (Category.DIAGNOSTICS,),
            "webhook_deliveries.webhook_id -> webhooks",
            "30 days",
            False,
            Erasure.CASCADE,
            "showing whether an organisation's webhook receives its events",
            link=Link("none"),
            sweep=(Retention("time", 30),),
        ),
        PersonalData(
            "privacy_requests",
            (Category.ACCOUNT,),
            "privacy_requests.user_id",
            "3 years (proof that requests were answered); no identifier after an erasure",
            True,
            Erasure.ANONYMISE,
            "answering and proving export and erasure requests",
            link=Link("user", "user_id"),
            sweep=(Retention("created_at", 3 * YEAR, overridable=False),),
        ),
        PersonalData(
            "legal_holds",
            (Category.ORGANISATION,),
            "legal_holds.organization_id",
            "until released",
            True,
            Erasure.CASCADE,
            "pausing deletion during a dispute",
            link=Link("org", "organization_id"),
        ),
        PersonalData(
            "digest_log",
            (Category.COMMUNICATION,),
            "digest_log.user_id",
            "90 days",
            True,
            Erasure.DELETE,
            "sending each person's daily digest once per day",
            link=Link("user", "user_id"),
            sweep=(Retention("sent_at", 90, held_by="user_id"),),
        ),
        PersonalData(
            "access_audit",
            (Category.ACCESS_LOG,),
            "access_audit.subject_user_id",
            "1 year",
            True,
            Erasure.DELETE,
            "showing a person who read their data (P15)",
            link=Link("user", "subject_user_id"),
            sweep=(Retention("at", 365),),
        ),
        PersonalData(
            "geofences",
            (Category.LOCATION,),
            "geofences.organization_id -> organizations (places a person watches: home, work)",
            "until deleted by the organisation",
            True,
            Erasure.CASCADE,
            "electronic fences: telling people when a device enters or leaves an area",
            link=Link("org", "organization_id"),
        ),
        PersonalData(
            "geofence_devices",
            (Category.LOCATION,),
            "geofence_devices.device_id -> devices",
            "until the fence or the device is deleted",
            True,
            Erasure.CASCADE,
            "which devices a fence watches",
            link=Link("device", "device_id"),
        ),
        PersonalData(
            "geofence_groups",
            (Category.ORGANISATION,),
            "geofence_groups.group_id -> device_groups",
            "until the fence or the group is deleted",
            True,
            Erasure.CASCADE,
            "which device groups a fence watches",
            link=Link("none"),
        ),
        PersonalData(
            "pending_devices",
            (Category.DIAGNOSTICS,),
            "none: the device's own identifier (IMEI, SIM number) before anyone claims it",
            "30 days after the device was last heard",
            False,
            Erasure.DELETE,
            "letting an owner find and claim a device that already calls in",
            link=Link("none"),
            sweep=(Retention("last_seen_at", 30),),
        ),
        # --- privacy layer (consent, guardians, registers, diagnostics, analytics, contact)
        PersonalData(
            "consent_records",
            (Category.CONSENT,),
            "consent_records.user_id, or visitor_id for an anonymous cookie choice (actor_id: "
            "the guardian or operator who decided)",
            "while the account exists (proof of consent); a visitor's cookie choice 395 days; "
            "append-only",
            True,
            Erasure.CASCADE,
            "proving consent per purpose and policy version; processing asks it (P11, P17, P20)",
            link=Link("user", "user_id"),
            sweep=(Retention("time", 395, where=(("user_id", None),)),),
        ),
        PersonalData(
            "guardian_invitations",
            (Category.ACCOUNT, Category.CONTACT),
            "guardian_invitations.minor_id / guardian_invitations.guardian_id",
            "until accepted or 7 days after it expires",
            True,
            Erasure.DELETE,
            "linking a minor's account to a guardian's (P20)",
            link=Link("user", "minor_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "disclosures",
            (Category.ACCOUNTABILITY,),
            "disclosures.recorded_by (the operator); the people are in disclosure_subjects",
            "3 years after the disclosure",
            False,
            Erasure.ANONYMISE,
            "register of disclosures to third parties with their legal basis (P18)",
            link=Link("none"),
            sweep=(Retention("disclosed_at", 3 * YEAR),),
        ),
        PersonalData(
            "disclosure_subjects",
            (Category.ACCOUNTABILITY,),
            "disclosure_subjects.user_id (export only rows with told_at: GET /me/disclosures)",
            "with its disclosure; the person's id is cleared on erasure",
            False,
            Erasure.ANONYMISE,
            "knowing whose data was disclosed and telling them (P18)",
            link=Link("user", "user_id"),
        ),
        PersonalData(
            "breaches",
            (Category.ACCOUNTABILITY,),
            "breaches.recorded_by (the operator)",
            "5 years (accountability, GDPR Art. 33(5))",
            False,
            Erasure.ANONYMISE,
            "breach register with the 72-hour authority deadline (P16)",
            link=Link("none"),
            sweep=(Retention("detected_at", 5 * YEAR),),
        ),
        PersonalData(
            "breach_notifications",
            (Category.ACCOUNTABILITY, Category.COMMUNICATION),
            "breach_notifications.user_id",
            "with its breach; the person's id is cleared on erasure",
            True,
            Erasure.ANONYMISE,
            "telling each affected person about a breach exactly once (P16)",
            link=Link("user", "user_id"),
        ),
        PersonalData(
            "diagnostics_reports",
            (Category.DIAGNOSTICS,),
            "diagnostics_reports.user_id (anonymous reports: none; phone ID and MAC as keyed hash)",
            "14 days (expires_at)",
            True,
            Erasure.DELETE,
            "finding and fixing app and dash-cam problems (P9)",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "analytics_hits",
            (Category.ACCESS_LOG,),
            "none: a salted hash of address and browser, unlinkable once the day's salt is gone",
            "until the end of the day (rolled up into counts, salt destroyed)",
            False,
            Erasure.DELETE,
            "counting unique visitors per page and day without cookies (P10)",
            link=Link("none"),
            swept_by="analytics rollup",
        ),
        PersonalData(
            "contact_messages",
            (Category.CONTACT, Category.COMMUNICATION),
            "contact_messages.user_id (set when signed in or the address has an account)",
            "12 months (expires_at)",
            True,
            Erasure.DELETE,
            "answering messages to the data-protection officer (P22) and sales enquiries "
            "from the contact form (P23)",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        # --- the sales side of the public site (P23)
        PersonalData(
            "leads",
            (Category.LEAD, Category.CONTACT),
            "leads.user_id (the signed-in person, or the account with the address given); a "
            "visitor without an account deletes it through the link in its mail",
            "12 months (expires_at), or until the person deletes it",
            True,
            Erasure.DELETE,
            "answering a visitor who saved a quote and asked to be contacted about it, with "
            "their consent (its text and version kept with the lead)",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
        PersonalData(
            "demo_bookings",
            (Category.LEAD, Category.CONTACT),
            "demo_bookings.user_id (the signed-in person, or the account with the address "
            "given); a visitor without an account cancels it through the link in its mail",
            "12 months after the demo (expires_at), or until the person cancels it",
            True,
            Erasure.DELETE,
            "holding a product demo a visitor booked and sending them its invitation",
            link=Link("user", "user_id"),
            sweep=(Retention("expires_at"),),
        ),
    )
}

#: Tables that hold no personal data, each with the reason, so the decision is explicit.
NOT_PERSONAL: dict[str, str] = {
    "alembic_version": "schema revision only",
    "policy_versions": "published policy and terms texts",
    "analytics_salts": "a random salt per day, destroyed when the day ends",
    "analytics_daily": "counts per page and day; no identifier of anyone",
    "retention_overrides": "an organisation's retention settings",
}

#: The tables the retention sweeper visits, with their default rules; organisations may
#: override the number of days.
RETENTION: dict[str, tuple[Retention, ...]] = {
    name: entry.sweep for name, entry in REGISTRY.items() if entry.sweep
}
