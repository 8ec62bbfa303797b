"""The authorisation matrix (docs/security.md, "Authorisation matrix"): every `/api/v1` route
of the app, called by seven kinds of caller with ids of their own objects, of another
organisation's and of none, answers as the table says; another organisation's object answers
exactly like a missing one.

One world is built once into a SQLite file; a call that may have changed it (a mutation that
did not fail) is followed by a fresh copy of that file and the data directory around it.
"""

from __future__ import annotations

import base64
import io
import re
import shutil
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from camtel.accounts import passwords
from camtel.app import API_PREFIX, build_api
from camtel.config import Settings
from camtel.media.models import Media
from camtel.services import Services
from helpers import factories
from helpers.accounts import PASSWORD
from helpers.media import jpeg, tus_metadata

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
SECTION = "## Authorisation matrix"
CALLERS = ("anonymous", "viewer", "driver", "manager", "owner", "other org", "guardian")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MISSING = "00000000-0000-4000-8000-00000000dead"  # an id that exists nowhere

#: Path parameters that are not ids: one value for every variant.
FIXED = {"table": "positions", "purpose": "analytics", "version": "1"}


def _push_keys() -> dict[str, str]:
    """A browser's push keys: a real P-256 public point and a 16-byte secret."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="), "auth": "A" * 22}


PUSH_KEYS = _push_keys()
#: Example requests for routes that take a body (or headers): `"{name}"` stands for an id.
EXAMPLES: dict[str, dict[str, Any]] = {
    "POST /api/v1/auth/register": {
        "json": {"email": "new@example.com", "phone": "+4915100000001", "password": PASSWORD}
    },
    "POST /api/v1/auth/verify": {"json": {"token": "not-a-token"}},
    "POST /api/v1/auth/token": {"json": {"email": "owner@example.com", "password": PASSWORD}},
    "POST /api/v1/auth/session": {"json": {"email": "owner@example.com", "password": PASSWORD}},
    "POST /api/v1/auth/password-reset": {"json": {"email": "owner@example.com"}},
    "POST /api/v1/auth/password-reset/confirm": {
        "json": {"token": "not-a-token", "password": "another long passphrase"}
    },
    "POST /api/v1/auth/email-change/confirm": {"json": {"token": "not-a-token"}},
    "POST /api/v1/contact": {
        "json": {"email": "asker@example.com", "subject": "Fleet", "message": "How much?"}
    },
    "POST /api/v1/diagnostics": {"json": {"source": "app", "app_version": "1.0"}},
    "POST /api/v1/analytics/hit": {"json": {"page": "/pricing"}},
    "PUT /api/v1/cookie-consent": {"json": {"analytics": False}},
    "POST /api/v1/quotes": {"json": {"mode": "buy", "devices": 3}},
    "POST /api/v1/leads": {
        "json": {
            "name": "Ann",
            "email": "lead@example.com",
            "quote": {"mode": "buy", "devices": 3},
            "consent": True,
        }
    },
    "POST /api/v1/demo-bookings": {
        "json": {"name": "Ann", "email": "demo@example.com", "start": "{demo_slot}"}
    },
    "DELETE /api/v1/me": {},
    "GET /api/v1/devices": {"params": {"group_id": "{group_id}"}},
    "GET /api/v1/geofences": {"params": {"organization_id": "{organization_id}"}},
    "GET /api/v1/events": {"params": {"device_id": "{device_id}"}},
    "GET /api/v1/reports/summary": {"params": {"device_id": "{device_id}"}},
    "GET /api/v1/media": {"params": {"device_id": "{device_id}"}},
    "POST /api/v1/organizations/{organization_id}/legal-holds": {
        "json": {"device_id": "{device_id}", "reason": "court order 7"}
    },
    "PUT /api/v1/organizations/{organization_id}/retention": {
        "json": {"table": "positions", "days": 30}
    },
    "POST /api/v1/me/policy-acceptance": {"json": {"kind": "privacy", "version": 1}},
    "POST /api/v1/privacy/policies/preview": {"json": {"kind": "privacy", "markdown": "# P"}},
    "POST /api/v1/privacy/policies": {"json": {"kind": "privacy", "markdown": "# Privacy"}},
    "POST /api/v1/me/age": {"json": {"adult": True}},
    "POST /api/v1/me/guardian": {"json": {"email": "parent@example.com"}},
    "POST /api/v1/guardians/confirm": {"json": {"token": "not-a-token", "adult": True}},
    "POST /api/v1/guardians/wards/{minor_id}/collection/{kind}": {"json": {"outcome": "given"}},
    "POST /api/v1/privacy/disclosures": {
        "json": {
            "recipient": "Police",
            "purpose": "investigation",
            "categories": ["positions"],
            "legal_basis": "legal obligation",
            "disclosed_at": "2026-01-02T03:04:05Z",
            "subjects": [{"user_id": "{user_id}"}],
        }
    },
    "POST /api/v1/privacy/breaches": {
        "json": {
            "detected_at": "2026-01-02T03:04:05Z",
            "description": "A laptop was lost",
            "categories": ["positions"],
        }
    },
    "POST /api/v1/privacy/breaches/{breach_id}/authority-notified": {"json": {}},
    "PATCH /api/v1/me": {"json": {"display_name": "Renamed"}},
    "POST /api/v1/me/email": {"json": {"new_email": "moved@example.com", "password": PASSWORD}},
    "POST /api/v1/me/password": {
        "json": {"current_password": PASSWORD, "new_password": "another long passphrase"}
    },
    "POST /api/v1/me/totp/confirm": {"json": {"code": "000000"}},
    "POST /api/v1/me/totp/disable": {"json": {"password": PASSWORD}},
    "POST /api/v1/organizations": {"json": {"name": "Second fleet"}},
    "POST /api/v1/organizations/{organization_id}/members": {
        "json": {"email": "recruit@example.com", "role": "driver"}
    },
    "POST /api/v1/organizations/{organization_id}/invitations": {
        "json": {"email": "recruit@example.com", "role": "driver"}
    },
    "PATCH /api/v1/organizations/{organization_id}/members/{user_id}": {"json": {"role": "driver"}},
    "POST /api/v1/devices": {
        "json": {
            "name": "Truck",
            "unique_id": "4242424242",
            "protocol": "osmand",
            "organization_id": "{organization_id}",
            "group_id": "{group_id}",
            "driver_id": "{user_id}",
        }
    },
    "PATCH /api/v1/devices/{device_id}": {
        "json": {"name": "Renamed van", "group_id": "{group_id}", "driver_id": "{user_id}"}
    },
    "POST /api/v1/groups": {"json": {"name": "{name}", "organization_id": "{organization_id}"}},
    "PATCH /api/v1/groups/{group_id}": {"json": {"name": "South"}},
    "POST /api/v1/geofences": {
        "json": {
            "name": "Depot",
            "area": {"type": "Point", "coordinates": [13.405, 52.52]},
            "radius_m": 200,
            "device_ids": ["{device_id}"],
            "group_ids": ["{group_id}"],
            "organization_id": "{organization_id}",
        }
    },
    "PATCH /api/v1/geofences/{fence_id}": {
        "json": {"name": "Yard", "device_ids": ["{device_id}"], "group_ids": ["{group_id}"]}
    },
    "POST /api/v1/media/uploads": {
        "headers": {
            "Tus-Resumable": "1.0.0",
            "Upload-Length": "100",
            "Upload-Metadata": "{tus_metadata}",
        }
    },
    "HEAD /api/v1/media/uploads/{upload_id}": {"headers": {"Tus-Resumable": "1.0.0"}},
    "DELETE /api/v1/media/uploads/{upload_id}": {"headers": {"Tus-Resumable": "1.0.0"}},
    "PATCH /api/v1/media/uploads/{upload_id}": {
        "headers": {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": "0",
            "Content-Type": "application/offset+octet-stream",
        },
        "content": b"x" * 10,
    },
    "POST /api/v1/media": {"files": True, "data": {"device_id": "{device_id}"}},
    "PATCH /api/v1/media/{media_id}": {"json": {"category": "locked"}},
    "POST /api/v1/media/{media_id}/shares": {"json": {"redact": False}},
    "POST /api/v1/notification-rules": {
        "json": {"channels": ["inbox"], "device_ids": ["{device_id}"]}
    },
    "PATCH /api/v1/notification-rules/{rule_id}": {
        "json": {"name": "Nights", "device_ids": ["{device_id}"]}
    },
    "PATCH /api/v1/notifications/{item_id}": {"json": {"read": True}},
    "POST /api/v1/push/subscriptions": {
        "json": {"endpoint": "https://93.184.215.14/push/new", "keys": PUSH_KEYS}
    },
    "POST /api/v1/webhooks": {
        "json": {
            "url": "https://93.184.215.14/hook",
            "events": ["overspeed"],
            "secret": "a secret of sixteen+",
            "organization_id": "{organization_id}",
        }
    },
    "PATCH /api/v1/webhooks/{webhook_id}": {"json": {"enabled": False}},
}


# --- the table and the routes (pure) ------------------------------------------------------


def api_routes(app: FastAPI) -> dict[str, APIRoute]:
    """Every operation under /api/v1 as `METHOD /path`, with its route."""
    found: dict[str, APIRoute] = {}
    for context in iter_route_contexts(app.routes):
        route, path = context.original_route, context.path
        if isinstance(route, APIRoute) and path and path.startswith(API_PREFIX):
            for method in context.methods or ():
                found[f"{method} {path}"] = route
    return found


def parse_table(markdown: str) -> dict[str, dict[str, str]]:
    """The matrix in docs/security.md: `METHOD /path` -> caller -> expected cell."""
    section = markdown.split(SECTION, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert tuple(header[1:]) == CALLERS, f"the matrix's columns are {header}"
    table = {}
    for line in rows[2:]:  # after the header and its |---| line
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        table[cells[0].strip("`")] = dict(zip(CALLERS, cells[1:], strict=True))
    return table


def allows(cell: str, status: int) -> bool:
    """Whether an answer's status is what a cell says (`204`, or a class such as `2xx`)."""
    return cell == str(status) or (cell.endswith("xx") and cell[0] == str(status)[0])


def differences(table: dict[str, dict[str, str]], seen: dict[str, dict[str, int]]) -> Iterator[str]:
    """Every cell that differs, every route missing from the table, every stale row."""
    for key, answers in seen.items():
        row = table.get(key)
        if row is None:
            cells = " | ".join(str(answers[caller]) for caller in CALLERS)
            yield f"{key}: no row in the matrix; it answered | `{key}` | {cells} |"
            continue
        for caller, status in answers.items():
            if not allows(row[caller], status):
                yield f"{key} as {caller}: the matrix says {row[caller]}, it answered {status}"
    for key in table.keys() - seen.keys():
        yield f"{key}: in the matrix but no longer a route"


def fill(template: Any, ids: dict[str, str]) -> Any:
    """A path, header or body with each `{name}` replaced by that id."""
    if isinstance(template, str):
        return re.sub(r"\{(\w+)\}", lambda m: ids.get(m[1], m[0]), template)
    if isinstance(template, dict):
        return {key: fill(value, ids) for key, value in template.items()}
    if isinstance(template, list):
        return [fill(value, ids) for value in template]
    return template


def request_of(key: str, ids: dict[str, str]) -> tuple[str, str, dict[str, Any]]:
    """Method, URL and httpx arguments of a route's example, with these ids."""
    method = key.split(" ", 1)[0]
    example = fill(EXAMPLES.get(key, {}), ids)
    names = ("json", "content", "params", "headers", "data")
    extra = {name: example[name] for name in names if name in example}
    if example.pop("files", False):
        extra["files"] = {"file": ("photo.jpg", PHOTO, "application/octet-stream")}
    return method, fill(resolve_path(key), ids), extra


def slots(key: str) -> list[str]:
    """The ids a call names (in its path, then its example), which the variants change."""
    named = re.findall(r"\{(\w+)\}", resolve_path(key) + repr(EXAMPLES.get(key, {})))
    named = ["device_id" if name == "tus_metadata" else name for name in named]
    return [name for name in dict.fromkeys(named) if name not in {*FIXED, "demo_slot", "name"}]


#: Whose device a caller's inbox item is about (the guardian belongs to no organisation).
SIDE_OF = {"other org": "b", "guardian": "c"}

#: Callers with an organisation of their own.
MEMBERS = ("viewer", "driver", "manager", "owner", "other org")


def comparisons(caller: str, named: list[str]) -> list[tuple[str, str, str]]:
    """The variants of a call that must answer like their baseline: (variant, baseline,
    slot), as `World.ids` makes them."""
    if not named:
        return []
    pairs = [("foreign", "missing", "")]
    if caller == "driver" and {"device_id", "media_id"} & set(named):
        pairs.append(("unassigned", "no device", ""))
    if caller in MEMBERS and len(named) > 1:
        pairs += [("one foreign", "one missing", slot) for slot in named]
    return pairs


def resolve_path(key: str) -> str:
    """A route's path with the one parameter name that means two things told apart."""
    path = key.split(" ", 1)[1]
    if path.startswith(f"{API_PREFIX}/me/invitations/"):
        path = path.replace("{invitation_id}", "{my_invitation_id}")
    return path.replace("{kind}", "location" if "/collection/" in path else "privacy")


def outcome(answer: httpx.Response) -> str:
    """An answer's status and, for a problem, its `type` (what tells two 404s apart)."""
    problem = answer.headers.get("content-type", "").startswith("application/problem+json")
    if problem and answer.content:  # HEAD answers have no body
        return f"{answer.status_code} {answer.json().get('type', '')}"
    return str(answer.status_code)


# --- the world ------------------------------------------------------------------------------


@dataclass
class World:
    """Organisation A (owner, manager, driver, viewer, a minor), organisation B (its owner,
    a minor in their care), a guardian of A's minor, and the objects each owns."""

    services: Services
    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    a: dict[str, str] = field(default_factory=dict)  # A's objects
    b: dict[str, str] = field(default_factory=dict)  # B's objects
    personal: dict[str, dict[str, str]] = field(default_factory=dict)  # caller -> their objects
    unassigned: dict[str, str] = field(default_factory=dict)  # A's van the driver does not drive
    demo_slot: str = ""
    snapshot: Path | None = None

    def ids(self, caller: str, variant: str, slot: str = "") -> dict[str, str]:
        """The ids a caller names in one variant of a call: `own` (A's objects and the
        caller's own), `foreign` (another organisation's and another person's: for B's owner
        those are A's), `missing` (ids of nothing); `unassigned` (A's device not assigned to
        the driver, and its recording) against `no device` (ids of nothing); `one foreign`
        (the ids of the caller's own organisation but one, `slot`, of another's) against `one
        missing`."""
        own = self.a | self.personal["owner" if caller == "anonymous" else caller]
        if caller == "other org":
            home, foreign = self.b | self.personal[caller], self.a | self.personal["owner"]
        else:
            home, foreign = own, self.b | self.personal["other org"]
        missing = dict.fromkeys(own, MISSING)
        if variant == "own":
            chosen = own
        elif variant == "foreign":
            chosen = foreign
        elif variant == "missing":
            chosen = missing
        elif variant == "unassigned":
            chosen = own | self.unassigned
        elif variant == "no device":
            chosen = own | dict.fromkeys(self.unassigned, MISSING)
        else:  # "one foreign" and "one missing"
            chosen = home | {slot: foreign[slot] if variant == "one foreign" else MISSING}
        device = tus_metadata(filename="a.mp4", device_id=chosen["device_id"])
        return (
            chosen | FIXED | {"demo_slot": self.demo_slot, "tus_metadata": device, "name": "Call"}
        )

    def hidden_from(self, caller: str) -> dict[str, str]:
        """Ids a caller must never read in an answer: A's objects for B's owner and the
        guardian (who may see their ward), the unassigned device and its recording for the
        driver."""
        if caller == "driver":
            return {f"unassigned {name}": id_ for name, id_ in self.unassigned.items()}
        if caller == "guardian":
            return {
                name: id_ for name, id_ in self.a.items() if name not in ("minor_id", "user_id")
            }
        return dict(self.a) if caller == "other org" else {}

    async def hidden_in(self, key: str, caller: str, answer: httpx.Response) -> list[str]:
        """Ids hidden from the caller that a GET answer names, or the same list without its
        filter (the example filters by one of A's ids)."""
        texts = [answer.text]
        if "params" in EXAMPLES.get(key, {}):
            _, url, _ = request_of(key, self.ids(caller, "own"))
            unfiltered = await self.http.get(url, headers=self.headers.get(caller, {}))
            texts.append(unfiltered.text)
        return [
            f"{key} as {caller}: the answer names {name} {id_}"
            for name, id_ in self.hidden_from(caller).items()
            if any(id_ in text for text in texts)
        ]

    async def call(self, key: str, caller: str, variant: str, slot: str = "") -> httpx.Response:
        """One cell: the route called by the caller with one variant's ids; a change it made
        is undone before the next call."""
        method, url, extra = request_of(key, self.ids(caller, variant, slot))
        headers = self.headers.get(caller, {}) | extra.pop("headers", {})
        answer = await self.http.request(method, url, headers=headers, **extra)
        self.http.cookies.clear()  # a signed-in cookie must not follow into the next call
        if method not in SAFE_METHODS and answer.status_code < 400:
            await self.restore()
        return answer

    async def save(self) -> None:
        """Keep the world as it is now, to go back to after each change."""
        data = self.services.settings.data_dir
        await self.services.background.settle()
        await self.services.database.dispose()
        self.snapshot = data.parent / "world"
        shutil.copytree(data, self.snapshot)

    async def restore(self) -> None:
        """Back to the saved world: its database file and data directory."""
        assert self.snapshot is not None
        data = self.services.settings.data_dir
        await self.services.background.settle()
        await self.services.database.dispose()
        shutil.rmtree(data)
        shutil.copytree(self.snapshot, data)


PHOTO = jpeg()


async def build_world(services: Services, http: httpx.AsyncClient) -> World:
    """Everything the matrix names, made once (people directly, the rest mostly through the
    API as their owners would)."""
    world = World(services, http)
    now = services.clock()
    hashed = passwords.hash_password(PASSWORD)
    born_minor = date(now.year - 15, 1, 1)
    async with services.database.session() as db:

        async def someone(name: str, **fields: Any) -> Any:
            made = await factories.person(db, f"{name}@example.com", **fields)
            made.password_hash = hashed  # "!" in the factory: here passwords are checked
            return made

        owner, manager, driver, viewer = [
            await someone(n) for n in ("owner", "manager", "driver", "viewer")
        ]
        other, guardian, outsider = [await someone(n) for n in ("other", "guardian", "outsider")]
        minor = await someone("minor", date_of_birth=born_minor, guardian_id=guardian.id)
        b_minor = await someone("bminor", date_of_birth=born_minor, guardian_id=other.id)
        a = await factories.organization(
            db,
            "A",
            members={owner: "owner", manager: "manager", driver: "driver", viewer: "viewer"}
            | {minor: "viewer"},
        )
        b = await factories.organization(db, "B", members={other: "owner", b_minor: "viewer"})
        c = await factories.organization(db, "C", members={outsider: "owner"})
        people = {
            "viewer": viewer,
            "driver": driver,
            "manager": manager,
            "owner": owner,
            "other org": other,
            "guardian": guardian,
        }
        devices = {}
        for side, org, ward in (("a", a, minor), ("b", b, b_minor)):
            van = await factories.device(db, org, driver_id=driver.id if side == "a" else None)
            await factories.position(db, van, now - timedelta(minutes=5))
            devices[side] = van
            getattr(world, side).update(
                organization_id=str(org.id),
                device_id=str(van.id),
                user_id=str(ward.id),  # a member who is no caller: the one roles change on
                minor_id=str(ward.id),
            )
        devices["c"] = await factories.device(db, c, name="Club van")
        spare = await factories.device(db, a, name="Spare van")
        await factories.position(db, spare, now - timedelta(minutes=5))
        await factories.event(db, spare, time=now)
        world.unassigned["device_id"] = str(spare.id)
        for caller, person in people.items():
            token = await factories.api_token(db, person, now=now)
            world.headers[caller] = {"Authorization": f"Bearer {token}"}
            world.personal[caller] = await factories.personal_objects(
                db, person, inviting=c, device=devices[SIDE_OF.get(caller, "a")]
            )
            world.personal[caller]["session_id"] = str(await factories.session_of(db, token))
        world.a["breach_id"] = str(await factories.breach(db, owner, now=now))
        world.b["breach_id"] = str(await factories.breach(db, other, now=now))
        await db.commit()
    for side, caller in (("a", "owner"), ("b", "other org")):
        objects = getattr(world, side)
        await _made_by_api(world, caller, objects)
    spare_van = world.a | {"device_id": world.unassigned["device_id"]}
    world.unassigned["media_id"] = await _make(world, "owner", "POST /api/v1/media", spare_van)
    slots = (await http.get(f"{API_PREFIX}/demo-slots")).json()["slots"]
    world.demo_slot = slots[0]["start"]
    await world.save()
    return world


async def _made_by_api(world: World, caller: str, objects: dict[str, str]) -> None:
    """An organisation's group, geofence, webhook, legal hold, recording, share, invitation
    and tus upload, made by its owner through the API (with the examples of the matrix)."""
    made = {
        "group_id": "POST /api/v1/groups",
        "fence_id": "POST /api/v1/geofences",
        "webhook_id": "POST /api/v1/webhooks",
        "hold_id": "POST /api/v1/organizations/{organization_id}/legal-holds",
        "invitation_id": "POST /api/v1/organizations/{organization_id}/invitations",
        "media_id": "POST /api/v1/media",
        "share_id": "POST /api/v1/media/{media_id}/shares",
        "upload_id": "POST /api/v1/media/uploads",
    }
    ids = objects | world.personal[caller] | FIXED | {"name": "World"}
    for name, key in made.items():
        ids["tus_metadata"] = tus_metadata(filename="a.mp4", device_id=ids["device_id"])
        objects[name] = ids[name] = await _make(world, caller, key, ids)


async def _make(world: World, caller: str, key: str, ids: dict[str, str]) -> str:
    """Make one object through the API; its id."""
    method, url, extra = request_of(key, ids)
    headers = world.headers[caller] | extra.pop("headers", {})
    answer = await world.http.request(method, url, headers=headers, **extra)
    assert answer.status_code < 300, (key, answer.text)
    if "location" in answer.headers:  # tus
        return answer.headers["location"].rsplit("/", 1)[1]
    made = str(answer.json()["id"])
    if key == "POST /api/v1/media":  # as if analysed (no analyser runs: no threads, no waits)
        async with world.services.database.session() as db:
            media = await db.get(Media, uuid.UUID(made))
            assert media is not None
            media.status, media.stage, media.progress = "ready", "done", 1.0
    return made


# --- the test ---------------------------------------------------------------------------


def test_the_comparison_names_every_cell_route_and_row() -> None:
    header = "| route | " + " | ".join(CALLERS) + " |\n|---|---|---|---|---|---|---|---|\n"
    cells = ["401", "2xx", "2xx", "204", "204", "404", "404"]
    doc = f"{SECTION}\n\n{header}| `DELETE /x` | {' | '.join(cells)} |\n\n## Next\n"
    table = parse_table(doc)
    assert table["DELETE /x"]["viewer"] == "2xx"
    answered = dict(zip(CALLERS, [401, 200, 403, 204, 204, 404, 404], strict=True))
    assert list(differences(table, {"DELETE /x": answered, "GET /y": answered})) == [
        "DELETE /x as driver: the matrix says 2xx, it answered 403",
        "GET /y: no row in the matrix; it answered | `GET /y` | 401 | 200 | 403 | 204 | 204 "
        "| 404 | 404 |",
    ]
    assert list(differences(table, {})) == ["DELETE /x: in the matrix but no longer a route"]


def test_every_route_has_a_row_and_every_body_an_example(tmp_path: Path) -> None:
    routes = api_routes(build_api(Services.build(Settings(data_dir=tmp_path)), chores=False))
    table = parse_table(DOC.read_text())
    problems = [f"{key}: no row in docs/security.md" for key in routes.keys() - table.keys()]
    problems += [f"{key}: a row but no such route" for key in table.keys() - routes.keys()]
    problems += [
        f"{key}: takes a body but has no example in EXAMPLES"
        for key, route in routes.items()
        if route.body_field is not None and key not in EXAMPLES
    ]
    assert not problems, "\n".join(sorted(problems))


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_every_route_answers_every_caller_as_the_matrix_says(settings: Settings) -> None:
    settings = settings.model_copy(
        update={
            "login_rate_per_address": 100_000,
            "login_rate_per_account": 100_000,
            "share_guesses_per_address": 100_000,
        }
    )
    services = Services.build(settings)
    app = build_api(services, chores=False)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a crash is a 500
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        world = await build_world(services, http)
        seen: dict[str, dict[str, int]] = {}
        leaks: list[str] = []
        for key in sorted(api_routes(app)):
            seen[key] = {}
            named = slots(key)
            for caller in CALLERS:
                own = await world.call(key, caller, "own")
                seen[key][caller] = own.status_code
                if key.startswith("GET "):
                    leaks += await world.hidden_in(key, caller, own)
                for variant, baseline, slot in comparisons(caller, named):
                    other = await world.call(key, caller, variant, slot)
                    missing = await world.call(key, caller, baseline, slot)
                    if outcome(other) != outcome(missing):
                        leaks.append(
                            f"{key} as {caller}: {variant} {slot or 'ids'} answered "
                            f"{outcome(other)}, {baseline} {outcome(missing)}"
                        )
    await services.database.dispose()
    problems = [*leaks, *differences(parse_table(DOC.read_text()), seen)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
async def test_a_driver_who_leaves_drives_none_of_the_organisations_devices(
    services: Services, client: httpx.AsyncClient
) -> None:
    # A former driver left as `driver_id` would still get the van's positions in their export
    # (and their consents would still decide whether the van is tracked).
    now = services.clock()
    async with services.database.session() as db:
        owner, driver = await factories.person(db), await factories.person(db)
        org = await factories.organization(db, members={owner: "owner", driver: "driver"})
        van = await factories.device(db, org, driver_id=driver.id)
        await factories.position(db, van, now - timedelta(minutes=5))
        tokens = {
            who: await factories.api_token(db, p, now=now)
            for who, p in (("owner", owner), ("driver", driver))
        }
        await db.commit()
    headers = {who: {"Authorization": f"Bearer {token}"} for who, token in tokens.items()}
    members = f"{API_PREFIX}/organizations/{org.id}/members/{driver.id}"
    assert (await client.delete(members, headers=headers["owner"])).status_code == 204
    device = await client.get(f"{API_PREFIX}/devices/{van.id}", headers=headers["owner"])
    assert device.json()["driver_id"] is None
    export = await client.get(f"{API_PREFIX}/me/export", headers=headers["driver"])
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        named = [name for name in archive.namelist() if str(van.id) in archive.read(name).decode()]
    assert not named, f"the former driver's export holds the van in {named}"
