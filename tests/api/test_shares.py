"""Share links over HTTP (P8): anonymous viewing with Range, counting, expiry, revocation,
tenancy, redacted copies (never the original), restart, erasure and retention."""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import av
import pytest
from sqlalchemy import select, text

from camtel.media import redact, shares
from camtel.media.derivatives import Redactor
from camtel.media.models import Media, MediaShare
from helpers import media as media_helpers
from helpers.accounts import sign_up
from helpers.media import clip, clip_with_sound, jpeg, media_world, settled, upload


@asynccontextmanager
async def running(redactor: Redactor):
    task = asyncio.create_task(redactor.run())
    try:
        yield redactor
    finally:
        redactor.stop()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def world(services):
    async with media_world(services) as made, running(media_helpers.redactor(services)) as redactor:
        made.redactor = redactor
        yield made


async def _ready(world, headers, data, name="clip.mp4"):
    made = await upload(world.http, headers, data, name)
    assert made.status_code == 201, made.text
    body = await settled(world.http, headers, made.json()["id"])
    assert body["status"] == "ready", body
    return body["id"]


async def _share(world, headers, media_id, **body):
    answer = await world.http.post(f"/api/v1/media/{media_id}/shares", headers=headers, json=body)
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["url"].startswith("https://testserver/s/")
    return made, "/s/" + made["url"].rsplit("/s/", 1)[1]


def _streams(data: bytes) -> tuple[list[str], dict[str, str]]:
    with av.open(io.BytesIO(data)) as container:
        return [s.type for s in container.streams], dict(container.metadata)


async def test_a_link_opens_without_signing_in(world):
    headers, _ = await sign_up(world.http, world.services, "share@example.com")
    data = clip()
    mid = await _ready(world, headers, data)
    made, path = await _share(world, headers, mid, expires_in_s=3600, redact=False)
    assert made["status"] == "active" and made["redact"] is False and made["views"] == 0

    page = await world.http.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<video controls" in page.text and 'src="' in page.text and "Link expires" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "http" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-robots-tag"].startswith("noindex")
    assert page.headers["cache-control"] == "no-store"

    content = await world.http.get(path + "/content")
    assert content.status_code == 200 and content.content == data
    part = await world.http.get(path + "/content", headers={"Range": "bytes=10-99"})
    assert part.status_code == 206 and part.content == data[10:100]
    assert part.headers["content-range"] == f"bytes 10-99/{len(data)}"
    head = await world.http.head(path + "/content")
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))

    # One view per opening of the page; the bytes and their ranges count nothing.
    await world.http.get(path)
    listed = (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()
    assert [s["id"] for s in listed] == [made["id"]]
    assert listed[0]["views"] == 2 and listed[0]["url"] is None and listed[0]["last_viewed_at"]

    # Only a hash of the token is stored: no row of the table holds the token itself.
    token = path.rsplit("/", 1)[1]
    async with world.services.database.session() as db:
        rows = (await db.execute(text("SELECT * FROM media_shares"))).all()
    assert rows and all(token not in str(value) for row in rows for value in row)
    assert hashlib.sha256(token.encode()).hexdigest() in str(rows[0])


async def test_expiry_revocation_and_unknown_links_look_alike(world):
    headers, _ = await sign_up(world.http, world.services, "expiry@example.com")
    mid = await _ready(world, headers, clip())
    _made, short = await _share(world, headers, mid, expires_in_s=60, redact=False)
    revoked, doomed = await _share(world, headers, mid, redact=False)
    unknown = await world.http.get("/s/" + "A" * 43)
    assert unknown.status_code == 404
    assert (await world.http.get(short)).status_code == 200

    assert (
        await world.http.delete(f"/api/v1/shares/{revoked['id']}", headers=headers)
    ).status_code == 204
    for url in (doomed, doomed + "/content"):
        answer = await world.http.get(url)
        assert answer.status_code == 404 and answer.text == unknown.text

    real_clock = world.services.clock
    world.services.clock = lambda: real_clock() + timedelta(seconds=61)
    for url in (short, short + "/content"):
        answer = await world.http.get(url)
        assert answer.status_code == 404 and answer.text == unknown.text
    listed = (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()
    assert sorted(s["status"] for s in listed) == ["expired", "revoked"]

    # Past the keeping time the sweep deletes dead links.
    later = real_clock() + timedelta(days=world.services.settings.share_keep_days, seconds=61)
    assert await shares.sweep(world.services.database, now=later, keep_days=30) == 2
    assert (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json() == []


async def test_view_limit(world):
    headers, _ = await sign_up(world.http, world.services, "limit@example.com")
    mid = await _ready(world, headers, clip())
    _made, path = await _share(world, headers, mid, redact=False, max_views=1)
    assert (await world.http.get(path + "/content")).status_code == 404  # not opened yet
    assert (await world.http.get(path)).status_code == 200
    assert (await world.http.get(path + "/content")).status_code == 200  # the viewer plays it
    assert (await world.http.get(path)).status_code == 404
    listed = (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()
    assert listed[0]["status"] == "used_up" and listed[0]["views"] == 1


async def test_tenancy_and_bad_input(world):
    alice, _ = await sign_up(world.http, world.services, "alice@example.com")
    mallory, _ = await sign_up(
        world.http, world.services, "mallory@example.com", phone="+4915123456788"
    )
    mid = await _ready(world, alice, clip())
    made, _path = await _share(world, alice, mid, redact=False)
    url = f"/api/v1/media/{mid}/shares"
    assert (await world.http.post(url, headers=mallory, json={})).status_code == 404
    assert (await world.http.get(url, headers=mallory)).status_code == 404
    assert (
        await world.http.delete(f"/api/v1/shares/{made['id']}", headers=mallory)
    ).status_code == 404
    assert (await world.http.post(url, json={})).status_code == 401

    for bad in ({"expires_in_s": 0}, {"expires_in_s": 31 * 86400}, {"colour": "red"}):
        answer = await world.http.post(url, headers=alice, json=bad)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["type"].endswith("/invalid")
    assert (
        "expires_in_s"
        in (await world.http.post(url, headers=alice, json={"expires_in_s": 0})).json()["detail"]
    )
    missing = await world.http.post(f"/api/v1/media/{uuid.uuid4()}/shares", headers=alice, json={})
    assert missing.status_code == 404 and missing.json()["type"].endswith("/not-found")

    broken = await upload(world.http, alice, b"not a video at all" * 100, "x.mp4")
    assert (await settled(world.http, alice, broken.json()["id"]))["status"] == "failed"
    refused = await world.http.post(
        f"/api/v1/media/{broken.json()['id']}/shares", headers=alice, json={}
    )
    assert refused.status_code == 409 and refused.json()["type"].endswith("/not-ready")

    # A link made with no body at all: redacted, seven days.
    default = await world.http.post(url, headers=alice)
    assert default.status_code == 201 and default.json()["redact"] is True
    lifetime = datetime.fromisoformat(default.json()["expires_at"]) - datetime.fromisoformat(
        default.json()["created_at"]
    )
    assert lifetime == timedelta(days=7)


async def test_redacted_links_serve_only_the_redacted_copy(world):
    headers, _ = await sign_up(world.http, world.services, "redact@example.com")
    original = clip_with_sound()
    assert _streams(original)[0] == ["video", "audio"] and "location" in _streams(original)[1]
    mid = await _ready(world, headers, original)
    made, path = await _share(world, headers, mid, expires_in_s=600)
    assert made["redact"] is True and made["redaction"] == "pending"
    await world.redactor.idle()

    page = await world.http.get(path)
    assert page.status_code == 200 and "<video" in page.text and "blurred" in page.text
    served = (await world.http.get(path + "/content")).content
    assert served != original and original[:2000] not in served
    kinds, metadata = _streams(served)
    assert kinds == ["video"], kinds  # no sound, no data tracks
    assert not {"location", "location-eng", "creation_time"} & set(metadata)
    part = await world.http.get(path + "/content", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == served[:100]

    # A second redacted link reuses the one copy.
    async with world.services.database.session() as db:
        row = await db.get(Media, uuid.UUID(mid))
        first_copy = row.redacted_key
    _again, other = await _share(world, headers, mid)
    assert (await world.http.get(other + "/content")).content == served
    async with world.services.database.session() as db:
        assert (await db.get(Media, uuid.UUID(mid))).redacted_key == first_copy

    # Photos too: a fresh JPEG, never the uploaded bytes.
    photo = jpeg()
    pid = await _ready(world, headers, photo, "snap.jpg")
    _p, photo_path = await _share(world, headers, pid)
    await world.redactor.idle()
    assert "<img" in (await world.http.get(photo_path)).text
    served_photo = (await world.http.get(photo_path + "/content")).content
    assert served_photo.startswith(b"\xff\xd8") and served_photo != photo


async def test_a_failed_redaction_never_shows_the_original(world, monkeypatch):
    def broken(*_args, **_kwargs):
        raise redact.RedactionError("the detector is broken")

    monkeypatch.setattr(redact, "redact_file", broken)
    headers, _ = await sign_up(world.http, world.services, "fail@example.com")
    data = clip()
    mid = await _ready(world, headers, data)
    _made, path = await _share(world, headers, mid)
    await world.redactor.idle()
    page = await world.http.get(path)
    assert page.status_code == 500 and "cannot be shown" in page.text and "<video" not in page.text
    content = await world.http.get(path + "/content")
    assert content.status_code == 404 and data[:64] not in content.content
    listed = (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()
    assert listed[0]["redaction"] == "failed" and listed[0]["views"] == 0
    leftovers = list((world.services.settings.data_dir / "work").iterdir())
    assert leftovers == []  # the decrypted working copy is gone too


async def test_pending_redaction_resumes_after_a_restart(services):
    async with media_world(services) as world:  # no redactor runs: the process "stops"
        headers, _ = await sign_up(world.http, services, "restart@example.com")
        data = clip()
        mid = await _ready(world, headers, data)
        _made, path = await _share(world, headers, mid)
        page = await world.http.get(path)
        assert page.status_code == 200 and "being blurred" in page.text
        assert '<meta http-equiv="refresh"' in page.text and "<video" not in page.text
        waiting = await world.http.get(path + "/content")
        assert waiting.status_code == 503 and waiting.content == b""

        async with running(
            media_helpers.redactor(services)
        ) as redactor:  # the next start picks it up
            await redactor.idle()
        shown = await world.http.get(path)
        assert shown.status_code == 200 and "<video" in shown.text
        served = (await world.http.get(path + "/content")).content
        assert served and served != data
        listed = (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()
        assert listed[0]["views"] == 1  # the waiting page counted no view


async def test_deletion_and_erasure_kill_links_and_copies(world):
    headers, _ = await sign_up(world.http, world.services, "erase@example.com")
    first = await _ready(world, headers, clip())
    second = await _ready(world, headers, clip(2.0))
    _a, gone_with_media = await _share(world, headers, first)
    _b, gone_with_person = await _share(world, headers, second)
    await world.redactor.idle()
    async with world.services.database.session() as db:
        copies = [(await db.get(Media, uuid.UUID(m))).redacted_key for m in (first, second)]
    store = world.services.settings.data_dir / "media"
    assert all(copies) and all(any(store.rglob(f"*{k.rsplit('/', 1)[1]}*")) for k in copies)

    assert (await world.http.delete(f"/api/v1/media/{first}", headers=headers)).status_code == 204
    assert (await world.http.get(gone_with_media)).status_code == 404
    assert not any(store.rglob(f"*{copies[0].rsplit('/', 1)[1]}*"))

    assert (await world.http.delete("/api/v1/me", headers=headers)).status_code == 200
    assert (await world.http.get(gone_with_person)).status_code == 404
    assert (await world.http.get(gone_with_person + "/content")).status_code == 404
    assert not any(store.rglob(f"*{copies[1].rsplit('/', 1)[1]}*"))
    async with world.services.database.session() as db:
        assert list(await db.scalars(select(MediaShare))) == []


async def test_guessing_is_rate_limited(world):
    world.services.settings.share_guesses_per_address = 3
    headers, _ = await sign_up(world.http, world.services, "guess@example.com")
    mid = await _ready(world, headers, clip())
    _made, path = await _share(world, headers, mid, redact=False)
    for _ in range(4):  # three allowed; the fourth is one too many
        assert (await world.http.get("/s/" + shares.new_token())).status_code == 404
    blocked = await world.http.get("/s/" + shares.new_token())
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    assert (await world.http.get(path)).status_code == 429  # even a right guess, now


async def test_openapi_documents_the_api_routes_not_the_page(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/api/v1/media/{media_id}/shares"]
    assert "get" in paths["/api/v1/media/{media_id}/shares"]
    assert "delete" in paths["/api/v1/shares/{share_id}"]
    assert not [p for p in paths if p.startswith("/s/")]


# Pure decisions, no I/O


NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _row(**fields):
    base = {
        "expires_at": NOW + timedelta(hours=1),
        "revoked_at": None,
        "max_views": None,
        "views": 0,
        "last_viewed_at": None,
    }
    return MediaShare(**{**base, **fields})


def test_lifetime_rule():
    assert shares.lifetime_s(None, default_s=7 * 86400, max_s=30 * 86400) == 7 * 86400
    assert shares.lifetime_s(None, default_s=7 * 86400, max_s=3600) == 3600
    assert shares.lifetime_s(60, default_s=1, max_s=3600) == 60
    assert shares.lifetime_s(1, default_s=600, max_s=3600) == 1, "a second is enough to test"
    for bad in (3601, 0, -5):
        with pytest.raises(shares.Invalid):
            shares.lifetime_s(bad, default_s=600, max_s=3600)


def test_share_states():
    assert shares.state(_row(), NOW) == "active" and shares.may_open(_row(), NOW)
    assert shares.state(_row(expires_at=NOW), NOW) == "expired"
    assert shares.state(_row(revoked_at=NOW, expires_at=NOW), NOW) == "revoked"
    assert shares.state(_row(max_views=2, views=2), NOW) == "used_up"
    assert shares.may_stream(_row(), NOW)
    assert not shares.may_stream(_row(revoked_at=NOW), NOW)
    limited = _row(max_views=1, views=1, last_viewed_at=NOW - timedelta(hours=1))
    assert shares.may_stream(limited, NOW) and not shares.may_open(limited, NOW)
    assert not shares.may_stream(limited, NOW + timedelta(hours=4))
    assert not shares.may_stream(_row(max_views=1), NOW)  # bytes only after the page


def test_tokens():
    token = shares.new_token()
    assert shares.well_formed(token) and len(token) == 43 and token != shares.new_token()
    assert shares.token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert not shares.well_formed("../../etc") and not shares.well_formed(token + "x")


def test_guess_guard():
    now = [0.0]
    guard = shares.GuessGuard(2, 60, clock=lambda: now[0])
    guard.missed("a")
    guard.missed("a")
    assert guard.blocked("a") is None and guard.blocked("b") is None
    guard.missed("a")
    assert guard.blocked("a") == pytest.approx(60)
    now[0] = 61
    assert guard.blocked("a") is None
