"""Copies of a recording over HTTP: the browser-playable H.264 copy of a video browsers cannot
decode (made by the background worker after analysis, never on a request), and the redacted
copy asked for without a link, to preview what a share link will show."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import av
import pytest

from camtel.accounts.models import Membership
from camtel.media import derivatives, transcode
from camtel.media.models import Media
from helpers import media as media_helpers
from helpers.accounts import sign_up
from helpers.media import KARMA, clip, clip_with_sound, media_world, settled, shared_file, upload


@asynccontextmanager
async def running(worker):  # type: ignore[no-untyped-def]
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.stop()
        await asyncio.wait_for(task, 60)


@pytest.fixture
async def world(services):  # type: ignore[no-untyped-def]
    async with (
        media_world(services) as made,
        running(media_helpers.transcoder(services)) as transcoder,
        running(media_helpers.redactor(services)) as redactor,
    ):
        made.transcoder, made.redactor = transcoder, redactor
        yield made


async def _ready(world, headers, data, name="clip.mp4"):  # type: ignore[no-untyped-def]
    made = await upload(world.http, headers, data, name)
    assert made.status_code == 201, made.text
    body = await settled(world.http, headers, made.json()["id"])
    assert body["status"] == "ready", body
    return body


async def _copied(world, headers, media_id, field="playable"):  # type: ignore[no-untyped-def]
    """The media once its copy is no longer pending (the worker hears of it right after the
    analysis commits, so a client may see `ready` a moment before the copy is queued)."""
    for _ in range(600):
        body = (await world.http.get(f"/api/v1/media/{media_id}", headers=headers)).json()
        if body[field] != "pending":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the {field} copy of {media_id} is still pending")


def _streams(data: bytes) -> list[tuple[str, str]]:
    with av.open(io.BytesIO(data)) as container:
        return [(s.type, s.codec_context.name) for s in container.streams]


def _stored(world, key: str) -> bool:  # type: ignore[no-untyped-def]
    store = world.services.settings.data_dir / "media"
    return any(store.rglob(f"*{key.rsplit('/', 1)[1]}*"))


async def test_an_mpeg4_part2_recording_gets_a_playable_copy(world):
    headers, _ = await sign_up(world.http, world.services, "playable@example.com")
    data = clip_with_sound(seconds=2.0, size=(160, 120))
    body = await _ready(world, headers, data)
    mid = body["id"]
    assert body["probe"]["video_codec"] == "mpeg4" and body["playable"] in ("pending", "ready")
    url = f"/api/v1/media/{mid}/playable"
    # The copy is made in the background; until then the route says so (or it already is).
    first = await world.http.get(url, headers=headers)
    assert first.status_code in (200, 409), first.text
    if first.status_code == 409:
        assert first.json()["type"].endswith("/not-ready")

    assert (await _copied(world, headers, mid))["playable"] == "ready"
    whole = await world.http.get(url, headers=headers)
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    copy = whole.content
    assert copy != data and _streams(copy) == [("video", "h264"), ("audio", "aac")]
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["etag"].startswith('"p-')
    part = await world.http.get(url, headers={**headers, "Range": "bytes=4-99"})
    assert part.status_code == 206 and part.content == copy[4:100]
    assert part.headers["content-range"] == f"bytes 4-99/{len(copy)}"
    head = await world.http.head(url, headers=headers)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(copy))
    again = await world.http.get(url, headers={**headers, "If-None-Match": whole.headers["etag"]})
    assert again.status_code == 304
    # The original is untouched and still served as it came.
    assert (await world.http.get(f"/api/v1/media/{mid}/content", headers=headers)).content == data


async def test_what_browsers_play_gets_no_copy(world, testdata):
    headers, _ = await sign_up(world.http, world.services, "karma@example.com")
    body = await _ready(world, headers, shared_file(testdata, KARMA), "karma.mp4")
    assert body["probe"]["video_codec"] == "h264" and body["probe"]["pix_fmt"] == "yuvj420p"
    assert body["playable"] == "original"
    await world.transcoder.idle()
    answer = await world.http.get(f"/api/v1/media/{body['id']}/playable", headers=headers)
    assert answer.status_code == 404 and "original" in answer.json()["detail"]
    async with world.services.database.session() as db:
        assert (await db.get(Media, uuid.UUID(body["id"]))).playable is None


async def test_a_copy_left_pending_is_made_at_the_next_start(services):
    async with media_world(services) as world:  # no transcoder runs: the process "stops"
        headers, _ = await sign_up(world.http, services, "later@example.com")
        body = await _ready(world, headers, clip())
        mid = body["id"]
        assert body["playable"] == "pending"
        waiting = await world.http.get(f"/api/v1/media/{mid}/playable", headers=headers)
        assert waiting.status_code == 409
        async with running(media_helpers.transcoder(services)) as transcoder:
            await transcoder.idle()
        answer = await world.http.get(f"/api/v1/media/{mid}/playable", headers=headers)
        assert answer.status_code == 200 and _streams(answer.content) == [("video", "h264")]


async def test_a_failed_copy_says_so_and_the_original_stays(world, monkeypatch):
    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise transcode.TranscodeError("the decoder gave up")

    monkeypatch.setattr(transcode, "transcode_file", broken)
    headers, _ = await sign_up(world.http, world.services, "broken@example.com")
    data = clip()
    mid = (await _ready(world, headers, data))["id"]
    assert (await _copied(world, headers, mid))["playable"] == "failed"
    answer = await world.http.get(f"/api/v1/media/{mid}/playable", headers=headers)
    assert answer.status_code == 404 and "no playable copy" in answer.json()["detail"]
    assert (await world.http.get(f"/api/v1/media/{mid}/content", headers=headers)).content == data
    async with world.services.database.session() as db:
        row = await db.get(Media, uuid.UUID(mid))
        assert row.playable_info["reason"] == "the decoder gave up" and row.playable_key is None
    assert list((world.services.settings.data_dir / "work").iterdir()) == []


async def test_copies_go_with_the_recording_and_the_person_and_stay_out_of_exports(world):
    headers, user_id = await sign_up(world.http, world.services, "gone@example.com")
    first = (await _ready(world, headers, clip()))["id"]
    second = (await _ready(world, headers, clip(2.0)))["id"]
    for mid in (first, second):
        asked = await world.http.post(f"/api/v1/media/{mid}/redacted", headers=headers)
        assert asked.status_code == 202
        await _copied(world, headers, mid)
        await _copied(world, headers, mid, "redaction")
    async with world.services.database.session() as db:
        rows = [await db.get(Media, uuid.UUID(m)) for m in (first, second)]
        keys = [(r.playable_key, r.redacted_key) for r in rows]
    assert all(all(pair) for pair in keys)
    assert all(_stored(world, key) for pair in keys for key in pair)

    # An export holds each original once, and no copy.
    from camtel.media.cleanup import export_hook
    from camtel.privacy.scope import scope_of

    buffer = io.BytesIO()
    async with world.services.database.session() as db:
        scope = await scope_of(db, uuid.UUID(user_id))
        with zipfile.ZipFile(buffer, "w") as archive:
            files = await export_hook(world.lib)(db, scope, archive)
    assert sorted(files) == sorted(f"media/{m}-clip.mp4" for m in (first, second))

    assert (await world.http.delete(f"/api/v1/media/{first}", headers=headers)).status_code == 204
    assert not any(_stored(world, key) for key in keys[0])

    assert (await world.http.delete("/api/v1/me", headers=headers)).status_code == 200
    assert not any(_stored(world, key) for key in keys[1])
    store = world.services.settings.data_dir / "media"
    assert [p for p in store.rglob("*") if p.is_file()] == []


async def test_the_redacted_copy_can_be_previewed_before_any_link(world):
    headers, _ = await sign_up(world.http, world.services, "preview@example.com")
    data = clip(seconds=1.0, size=(160, 120))
    mid = (await _ready(world, headers, data))["id"]
    url = f"/api/v1/media/{mid}/redacted"
    never = await world.http.get(url, headers=headers)
    assert never.status_code == 404 and "POST" in never.json()["detail"]

    asked = await world.http.post(url, headers=headers)
    assert asked.status_code == 202 and asked.json()["redaction"] in ("pending", "ready")
    assert (await _copied(world, headers, mid, "redaction"))["redaction"] == "ready"
    shown = await world.http.get(url, headers=headers)
    assert shown.status_code == 200 and shown.headers["content-type"] == "video/mp4"
    assert shown.content != data and _streams(shown.content) == [("video", "h264")]
    part = await world.http.get(url, headers={**headers, "Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == shown.content[:10]
    # Asking again changes nothing; the link made next serves this very copy.
    assert (await world.http.post(url, headers=headers)).json()["redaction"] == "ready"
    link = await world.http.post(f"/api/v1/media/{mid}/shares", headers=headers, json={})
    assert link.status_code == 201 and link.json()["redaction"] == "ready"
    path = "/s/" + link.json()["url"].rsplit("/s/", 1)[1]
    assert (await world.http.get(path)).status_code == 200
    assert (await world.http.get(path + "/content")).content == shown.content
    assert (await world.http.get(f"/api/v1/media/{mid}/shares", headers=headers)).json()[0][
        "views"
    ] == 1


async def test_copies_follow_who_may_see_and_change(world):
    alice, _ = await sign_up(world.http, world.services, "alice@example.com")
    mallory, _ = await sign_up(
        world.http, world.services, "mallory@example.com", phone="+4915123456788"
    )
    viewer, viewer_id = await sign_up(
        world.http, world.services, "viewer@example.com", phone="+4915123456787"
    )
    mid = (await _ready(world, alice, clip()))["id"]
    org = (await world.http.get("/api/v1/organizations", headers=alice)).json()[0]["id"]
    async with world.services.database.session() as db:
        db.add(
            Membership(
                user_id=uuid.UUID(viewer_id),
                organization_id=uuid.UUID(org),
                role="viewer",
                created_at=datetime.now(UTC),
            )
        )
    for path in ("playable", "redacted"):
        answer = await world.http.get(f"/api/v1/media/{mid}/{path}", headers=mallory)
        assert answer.status_code == 404 and answer.json()["type"].endswith("/not-found")
    assert (
        await world.http.post(f"/api/v1/media/{mid}/redacted", headers=mallory)
    ).status_code == 404
    refused = await world.http.post(f"/api/v1/media/{mid}/redacted", headers=viewer)
    assert refused.status_code == 403
    assert (await world.http.get(f"/api/v1/media/{mid}", headers=viewer)).status_code == 200
    assert (await world.http.post(f"/api/v1/media/{mid}/redacted")).status_code == 401

    broken = await upload(world.http, alice, b"not a video at all" * 100, "x.mp4")
    assert (await settled(world.http, alice, broken.json()["id"]))["status"] == "failed"
    not_ready = await world.http.post(
        f"/api/v1/media/{broken.json()['id']}/redacted", headers=alice
    )
    assert not_ready.status_code == 409 and not_ready.json()["type"].endswith("/not-ready")
    failed = (await world.http.get(f"/api/v1/media/{broken.json()['id']}", headers=alice)).json()
    assert failed["playable"] == "original"  # nothing to convert: the analysis failed


def test_playable_states_of_a_row():
    row = Media(status="processing", kind="video", playable=None)
    assert derivatives.playable_state(row) == "pending"
    row.status = "ready"
    assert derivatives.playable_state(row) == "original"
    row.playable = "ready"
    assert derivatives.playable_state(row) == "ready"
    assert derivatives.wants_copy(None) and derivatives.wants_copy("failed")
    assert not derivatives.wants_copy("pending") and not derivatives.wants_copy("ready")


async def test_the_routes_are_documented(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "get" in paths["/api/v1/media/{media_id}/playable"]
    assert {"get", "post"} <= set(paths["/api/v1/media/{media_id}/redacted"])
    media = (await client.get("/openapi.json")).json()["components"]["schemas"]["MediaOut"]
    assert {"playable", "redaction"} <= set(media["properties"])
