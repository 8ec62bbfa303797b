"""The media library over HTTP: upload, analysis to ready, Range, tus, quotas, tenancy."""

from __future__ import annotations

import hashlib
import os
import uuid

import pytest
from sqlalchemy import select

from camtel.events.models import Event
from camtel.media import analysis, service
from camtel.media.models import Media
from helpers import media as media_helpers
from helpers.accounts import sign_up
from helpers.media import KARMA, clip, jpeg, media_world, settled, shared_file, tus_metadata, upload

TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
async def media(services):
    async with media_world(services) as world:
        yield world


async def _device(world, headers, unique_id="880001"):
    made = await world.http.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "Van", "unique_id": unique_id, "protocol": "osmand"},
    )
    assert made.status_code == 201, made.text
    return made.json()["id"]


async def test_upload_becomes_ready_with_its_track(media, testdata):
    headers, _ = await sign_up(media.http, media.services, "gopro@example.com")
    device = await _device(media, headers)
    data = shared_file(testdata, KARMA)
    made = await upload(media.http, headers, data, "GOPR0001.MP4", device_id=device)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "processing"
    body = await settled(media.http, headers, made.json()["id"])
    assert body["status"] == "ready", body
    assert body["kind"] == "video" and body["device_id"] == device
    assert body["track_points"] > 10 and body["duration_s"] == pytest.approx(13.0, abs=0.1)
    assert body["sha256"] == hashlib.sha256(data).hexdigest() and body["size"] == len(data)
    assert body["start_time"].startswith("2017-04-17T19:27:57")
    assert body["probe"]["width"] == 854 and body["has_thumbnail"]
    mid = body["id"]

    geo = await media.http.get(f"/api/v1/media/{mid}/track.geojson", headers=headers)
    assert geo.status_code == 200 and geo.headers["content-type"] == "application/geo+json"
    line = geo.json()["features"][0]
    assert line["geometry"]["type"] == "LineString"
    assert len(line["geometry"]["coordinates"]) == body["track_points"]
    offsets = line["properties"]["offsets_s"]
    assert offsets[0] == 0.0 and offsets == sorted(offsets) and offsets[-1] < 13.1
    gpx = await media.http.get(f"/api/v1/media/{mid}/track.gpx", headers=headers)
    assert gpx.status_code == 200 and gpx.text.count("<trkpt") == body["track_points"]
    assert "<camtel:offset_s>0.0</camtel:offset_s>" in gpx.text
    thumb = await media.http.get(f"/api/v1/media/{mid}/thumbnail", headers=headers)
    assert thumb.status_code == 200 and thumb.content.startswith(b"\xff\xd8")

    # The karma clip ends on a jolt: one harsh event, linked to the clip, which is locked.
    assert body["event_count"] == 1 and body["locked"] and body["has_event"]
    async with media.services.database.session() as db:
        events = list(await db.scalars(select(Event).where(Event.device_id == uuid.UUID(device))))
    assert [e.type for e in events] == ["harsh_event"]
    assert events[0].attributes["media_id"] == mid and events[0].latitude is not None
    assert events[0].cause.startswith(f"gsensor:{mid}:")

    # Objects at rest are encrypted: the plaintext is nowhere in the store.
    stored = (media.services.settings.data_dir / "media").rglob("*")
    blobs = [p.read_bytes() for p in stored if p.is_file()]
    assert blobs and all(data[1000:1064] not in blob for blob in blobs)


async def test_range_and_conditional_requests(media):
    headers, _ = await sign_up(media.http, media.services, "range@example.com")
    data = os.urandom(200_000)  # spans several encryption segments
    made = await upload(media.http, headers, data, "raw.bin")
    mid = made.json()["id"]
    url = f"/api/v1/media/{mid}/content"
    whole = await media.http.get(url, headers=headers)
    assert whole.status_code == 200 and whole.content == data
    etag = whole.headers["etag"]
    assert etag == f'"{hashlib.sha256(data).hexdigest()}"'
    part = await media.http.get(url, headers={**headers, "Range": "bytes=65530-131080"})
    assert part.status_code == 206 and part.content == data[65530:131081]
    assert part.headers["content-range"] == f"bytes 65530-131080/{len(data)}"
    tail = await media.http.get(url, headers={**headers, "Range": "bytes=-10"})
    assert tail.content == data[-10:]
    past = await media.http.get(url, headers={**headers, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(data)}"
    same = await media.http.get(url, headers={**headers, "If-None-Match": etag})
    assert same.status_code == 304
    stale = await media.http.get(
        url, headers={**headers, "Range": "bytes=0-9", "If-Range": '"something-else"'}
    )
    assert stale.status_code == 200 and stale.content == data
    fresh = await media.http.get(url, headers={**headers, "Range": "bytes=0-9", "If-Range": etag})
    assert fresh.status_code == 206 and fresh.content == data[:10]
    multi = await media.http.get(url, headers={**headers, "Range": "bytes=0-1,100-101"})
    assert multi.status_code == 206 and multi.headers["content-type"].startswith(
        "multipart/byteranges"
    )
    assert data[100:102] in multi.content and len(multi.content) == int(
        multi.headers["content-length"]
    )
    head = await media.http.head(url, headers=headers)
    assert head.status_code == 200 and head.headers["content-length"] == str(len(data))
    # Not a video: analysis fails with a reason, and the bytes stay exactly as sent.
    body = await settled(media.http, headers, mid)
    assert body["status"] == "failed" and body["failure_reason"]
    assert (await media.http.get(url, headers=headers)).content == data


async def test_a_jpeg_named_mp4_fails_and_keeps_its_bytes(media):
    headers, _ = await sign_up(media.http, media.services, "jpeg@example.com")
    photo = jpeg()
    made = await upload(media.http, headers, photo, "holiday.mp4")
    body = await settled(media.http, headers, made.json()["id"])
    assert body["status"] == "failed" and "JPEG" in body["failure_reason"]
    content = await media.http.get(f"/api/v1/media/{body['id']}/content", headers=headers)
    assert content.content == photo
    real = await upload(media.http, headers, photo, "holiday.jpg")
    ready = await settled(media.http, headers, real.json()["id"])
    assert ready["status"] == "ready" and ready["kind"] == "photo" and ready["has_thumbnail"]


async def test_truncated_video_fails_with_a_reason(media, testdata):
    headers, _ = await sign_up(media.http, media.services, "cut@example.com")
    made = await upload(media.http, headers, shared_file(testdata, KARMA)[:100_000], "cut.mp4")
    body = await settled(media.http, headers, made.json()["id"])
    assert body["status"] == "failed" and "not a readable video" in body["failure_reason"]


async def test_file_names_cannot_climb(media):
    headers, _ = await sign_up(media.http, media.services, "names@example.com")
    made = await upload(media.http, headers, clip(), "../../etc/passwd.mp4")
    assert made.status_code == 201 and made.json()["filename"] == "passwd.mp4"
    refused = await upload(media.http, headers, clip(), "../..")
    assert refused.status_code == 422


async def test_quota(media):
    headers, _ = await sign_up(media.http, media.services, "quota@example.com")
    media.lib.limits = service.MediaLimits(quota_bytes=150_000, max_file_bytes=10**9)
    first = await upload(media.http, headers, os.urandom(100_000), "a.bin")
    assert first.status_code == 201
    over = await upload(media.http, headers, os.urandom(100_000), "b.bin")
    assert over.status_code == 413 and over.json()["type"].endswith("quota-exceeded")
    big = await media.http.post(
        "/api/v1/media/uploads",
        headers={**headers, **TUS, "Upload-Length": "100000"},
    )
    assert big.status_code == 413
    async with media.services.database.session() as db:
        assert len(list(await db.scalars(select(Media)))) == 1
    files = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert len(files) <= 2  # the first object (and maybe its thumbnail), nothing of the refused


async def test_tus_upload(media):
    headers, _ = await sign_up(media.http, media.services, "tus@example.com")
    options = await media.http.options("/api/v1/media/uploads")
    assert options.status_code == 204 and options.headers["tus-version"] == "1.0.0"
    assert "creation" in options.headers["tus-extension"]
    data = clip(2.0)
    created = await media.http.post(
        "/api/v1/media/uploads",
        headers={
            **headers,
            **TUS,
            "Upload-Length": str(len(data)),
            "Upload-Metadata": tus_metadata(filename="2024_0101_120000_001F.MP4", channel=""),
        },
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert (await media.http.post("/api/v1/media/uploads", headers={**headers})).status_code == 412
    patch = {**headers, **TUS, "Content-Type": "application/offset+octet-stream"}
    first = await media.http.patch(
        location, headers={**patch, "Upload-Offset": "0"}, content=data[:1000]
    )
    assert first.status_code == 204 and first.headers["upload-offset"] == "1000"
    wrong = await media.http.patch(
        location, headers={**patch, "Upload-Offset": "0"}, content=data[:10]
    )
    assert wrong.status_code == 409
    head = await media.http.head(location, headers={**headers, **TUS})
    assert head.headers["upload-offset"] == "1000" and head.headers["upload-length"] == str(
        len(data)
    )
    too_much = await media.http.patch(
        location, headers={**patch, "Upload-Offset": "1000"}, content=data[1000:] + b"extra"
    )
    assert too_much.status_code == 413
    head = await media.http.head(location, headers={**headers, **TUS})
    assert head.headers["upload-offset"] == "1000"
    last = await media.http.patch(
        location, headers={**patch, "Upload-Offset": "1000"}, content=data[1000:]
    )
    assert last.status_code == 204 and last.headers["upload-offset"] == str(len(data))
    mid = last.headers["camtel-media-id"]
    body = await settled(media.http, headers, mid)
    assert body["status"] == "ready" and body["channel"] == "front"
    assert body["filename"] == "2024_0101_120000_001F.MP4"
    content = await media.http.get(f"/api/v1/media/{mid}/content", headers=headers)
    assert content.content == data
    # No part objects stay behind once the upload is assembled.
    stored = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert not [p for p in stored if "uploads" in p.parts]


async def test_tus_termination(media):
    headers, _ = await sign_up(media.http, media.services, "tusdel@example.com")
    created = await media.http.post(
        "/api/v1/media/uploads", headers={**headers, **TUS, "Upload-Length": "10"}
    )
    location = created.headers["location"]
    await media.http.patch(
        location,
        headers={
            **headers,
            **TUS,
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": "0",
        },
        content=b"12345",
    )
    gone = await media.http.delete(location, headers={**headers, **TUS})
    assert gone.status_code == 204
    assert (await media.http.head(location, headers={**headers, **TUS})).status_code == 404
    stored = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert stored == []


async def test_other_organisations_see_nothing(media):
    alice, _ = await sign_up(media.http, media.services, "alice@example.com")
    mallory, _ = await sign_up(
        media.http, media.services, "mallory@example.com", phone="+4915123456788"
    )
    made = await upload(media.http, alice, clip(), "a.mp4")
    mid = made.json()["id"]
    for path in ("", "/content", "/thumbnail", "/track.geojson", "/track.gpx"):
        answer = await media.http.get(f"/api/v1/media/{mid}{path}", headers=mallory)
        assert answer.status_code == 404, path
    assert (await media.http.delete(f"/api/v1/media/{mid}", headers=mallory)).status_code == 404
    assert (await media.http.get("/api/v1/media", headers=mallory)).json() == []
    forged = await media.http.get(f"/api/v1/media/{uuid.uuid4()}", headers=alice)
    assert forged.status_code == 404
    bob_device = await _device(media, mallory, "990001")
    foreign = await upload(media.http, alice, clip(), "b.mp4", device_id=bob_device)
    assert foreign.status_code == 404


async def test_list_filters_lock_and_delete(media):
    headers, _ = await sign_up(media.http, media.services, "lib@example.com")
    device = await _device(media, headers)
    front = await upload(media.http, headers, clip(), "20240101_120000_NF.mp4", device_id=device)
    rear = await upload(media.http, headers, clip(), "20240101_120000_NR.mp4", device_id=device)
    photo = await upload(media.http, headers, jpeg(), "snap.jpg")
    for made in (front, rear, photo):
        await settled(media.http, headers, made.json()["id"])
    listed = (await media.http.get("/api/v1/media", headers=headers)).json()
    assert [m["id"] for m in listed] == [photo.json()["id"], rear.json()["id"], front.json()["id"]]
    by_device = (
        await media.http.get("/api/v1/media", params={"device_id": device}, headers=headers)
    ).json()
    assert len(by_device) == 2
    rears = (
        await media.http.get("/api/v1/media", params={"channel": "rear"}, headers=headers)
    ).json()
    assert [m["id"] for m in rears] == [rear.json()["id"]]
    photos = (
        await media.http.get("/api/v1/media", params={"kind": "photo"}, headers=headers)
    ).json()
    assert len(photos) == 1
    paged = await media.http.get("/api/v1/media", params={"limit": 2}, headers=headers)
    assert len(paged.json()) == 2 and 'rel="next"' in paged.headers["link"]
    nxt = paged.headers["link"].split("<", 1)[1].split(">", 1)[0]
    assert len((await media.http.get(nxt, headers=headers)).json()) == 1

    mid = front.json()["id"]
    locked = await media.http.patch(
        f"/api/v1/media/{mid}", headers=headers, json={"category": "locked"}
    )
    assert locked.json()["locked"] is True
    only = (
        await media.http.get("/api/v1/media", params={"locked": "true"}, headers=headers)
    ).json()
    assert [m["id"] for m in only] == [mid]
    assert (
        await media.http.patch(f"/api/v1/media/{mid}", headers=headers, json={"category": "secret"})
    ).status_code == 422

    thumbs = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert (await media.http.delete(f"/api/v1/media/{mid}", headers=headers)).status_code == 204
    assert (await media.http.get(f"/api/v1/media/{mid}", headers=headers)).status_code == 404
    left = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert len(left) == len(thumbs) - 2  # the object and its thumbnail


async def test_gsensor_peaks_become_events_once(media, monkeypatch):
    headers, _ = await sign_up(media.http, media.services, "crash@example.com")
    device = await _device(media, headers)
    original = analysis.extract_track

    def with_crash(path: str) -> analysis.Report:
        report = original(path)
        report.points = [[0.0, "2024-05-01T10:00:00+00:00", 52.5, 13.4, None, 50.0, 90.0]]
        samples = [(i / 50, 3.0 if 240 <= i < 250 else 0.0, 0.0, 1.0) for i in range(50 * 20)]
        report.gsensor = samples
        report.peaks = analysis.find_peaks(samples)
        return report

    monkeypatch.setattr(analysis, "extract_track", with_crash)
    made = await upload(media.http, headers, clip(), "crash.mp4", device_id=device)
    body = await settled(media.http, headers, made.json()["id"])
    assert body["status"] == "ready" and body["locked"] and body["event_count"] == 1
    assert body["start_time"].startswith("2024-05-01T10:00:00")
    window = {"device_id": device, "from": "2024-05-01T00:00:00Z", "to": "2024-05-02T00:00:00Z"}
    events = (await media.http.get("/api/v1/events", params=window, headers=headers)).json()
    assert [e["type"] for e in events] == ["collision"]
    # Analysing again (a restart mid-way) adds no second event.
    async with media.services.database.session() as db:
        row = await db.get(Media, uuid.UUID(body["id"]))
        row.status = "processing"
    await media.analyzer.analyse(uuid.UUID(body["id"]))
    again = (await media.http.get("/api/v1/events", params=window, headers=headers)).json()
    assert len(again) == 1


async def test_crypto_shredding(media):
    headers, user_id = await sign_up(media.http, media.services, "shred@example.com")
    made = await upload(media.http, headers, os.urandom(1000), "x.bin")
    mid = made.json()["id"]
    async with media.services.database.session() as db:
        count = await service.erase_owner(db, media.lib, uuid.UUID(user_id))
    assert count == 1
    assert (await media.http.get(f"/api/v1/media/{mid}", headers=headers)).status_code == 404
    stored = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert stored == []


async def test_front_and_rear_of_the_same_moment_are_grouped(media, monkeypatch):
    headers, _ = await sign_up(media.http, media.services, "pair@example.com")
    device = await _device(media, headers)
    original = analysis.extract_track

    def timed(path: str) -> analysis.Report:
        report = original(path)
        report.points = [[1.0, "2024-05-01T10:00:01+00:00", 52.5, 13.4, None, 50.0, 90.0]]
        return report

    monkeypatch.setattr(analysis, "extract_track", timed)
    front = await upload(media.http, headers, clip(), "2024_0501_100000_001F.MP4", device_id=device)
    rear = await upload(media.http, headers, clip(), "2024_0501_100000_001R.MP4", device_id=device)
    a = await settled(media.http, headers, front.json()["id"])
    b = await settled(media.http, headers, rear.json()["id"])
    assert (a["channel"], b["channel"]) == ("front", "rear")
    b = (await media.http.get(f"/api/v1/media/{b['id']}", headers=headers)).json()
    a = (await media.http.get(f"/api/v1/media/{a['id']}", headers=headers)).json()
    assert a["group_id"] and a["group_id"] == b["group_id"]


async def test_analysis_in_a_worker_process(services):
    import asyncio

    lib = services.media
    analyzer = media_helpers.analyzer(services, processes=True)
    task = asyncio.create_task(analyzer.run())
    try:
        from camtel.accounts.models import Organization, User
        from camtel.db.base import utcnow

        async with services.database.session() as db:
            user = User(email="proc@example.com", phone="+4915123456787", password_hash="x")
            org = Organization(name="Proc")
            db.add_all([user, org])
            await db.flush()
            key = await lib.keys.data_key(db, user.id, create=True)
            media_id = service.new_media_id()
            storage = service.object_key(user.id, str(media_id))
            data = clip()

            async def once():
                yield data

            size, sha = await service.put_object(
                lib, data_key=key, key=storage, object_id=media_id.bytes, chunks=once(), limit=10**6
            )
            db.add(
                Media(
                    id=media_id,
                    organization_id=org.id,
                    owner_id=user.id,
                    storage_key=storage,
                    size=size,
                    sha256=sha,
                    filename="c.mp4",
                    created_at=utcnow(),
                )
            )
        analyzer.submit(media_id)
        await analyzer.idle(60)
        async with services.database.session() as db:
            row = await db.get(Media, media_id)
            assert row.status == "ready" and row.duration_s and row.thumbnail_key
    finally:
        analyzer.stop()
        await asyncio.wait_for(task, 30)


def test_retention_rule():
    from datetime import UTC, datetime

    from camtel.media.cleanup import expires_at

    made = datetime(2026, 1, 1, tzinfo=UTC)
    assert expires_at("normal", made) == datetime(2026, 1, 31, tzinfo=UTC)
    assert (
        expires_at("locked", made) == expires_at("event", made) == datetime(2027, 1, 1, tzinfo=UTC)
    )


async def test_sweep_and_erasure_hook(media):
    from datetime import timedelta

    from camtel.media import cleanup
    from camtel.privacy.scope import scope_of

    headers, user_id = await sign_up(media.http, media.services, "sweep@example.com")
    old = await upload(media.http, headers, os.urandom(500), "old.bin")
    kept = await upload(media.http, headers, os.urandom(500), "kept.bin")
    await media.http.patch(
        f"/api/v1/media/{kept.json()['id']}", headers=headers, json={"category": "locked"}
    )
    later = media.services.clock() + timedelta(days=31)
    assert await cleanup.sweep(media.services.database, media.lib, now=later) == 1
    assert (
        await media.http.get(f"/api/v1/media/{old.json()['id']}", headers=headers)
    ).status_code == 404
    assert (
        await media.http.get(f"/api/v1/media/{kept.json()['id']}", headers=headers)
    ).status_code == 200
    async with media.services.database.session() as db:
        scope = await scope_of(db, uuid.UUID(user_id))
        counts = await cleanup.erasure_hook(media.lib)(db, scope)
    assert counts == {"media": 1}
    stored = [p for p in (media.services.settings.data_dir / "media").rglob("*") if p.is_file()]
    assert stored == []


async def test_media_retention_follows_organisation_days_and_legal_holds(media):
    """P14: an organisation's own days for normal and event recordings apply; a legal hold
    on a device keeps its recordings until released."""
    from datetime import timedelta

    from camtel.media import cleanup

    http, services = media.http, media.services
    headers, _ = await sign_up(http, services, "keep-days@example.com")
    org = (await http.get("/api/v1/organizations", headers=headers)).json()[0]["id"]
    devices = []
    for n in range(2):
        made = await http.post(
            "/api/v1/devices",
            headers=headers,
            json={"name": f"Cam {n}", "unique_id": f"88120{n}", "protocol": "osmand"},
        )
        devices.append(made.json()["id"])
    held_clip = (await upload(http, headers, os.urandom(500), "a.bin", device_id=devices[0])).json()
    normal = (await upload(http, headers, os.urandom(500), "b.bin", device_id=devices[1])).json()
    event = (await upload(http, headers, os.urandom(500), "c.bin", device_id=devices[1])).json()
    await http.patch(f"/api/v1/media/{event['id']}", headers=headers, json={"category": "event"})
    for target, days in (("media.normal", 7), ("media.event", 10)):
        put = await http.put(
            f"/api/v1/organizations/{org}/retention",
            headers=headers,
            json={"table": target, "days": days},
        )
        assert put.status_code == 200, put.text
    refused = await http.put(
        f"/api/v1/organizations/{org}/retention",
        headers=headers,
        json={"table": "consent_records", "days": 7},
    )
    assert refused.status_code == 422 and "media.normal" in refused.text
    hold = await http.post(
        f"/api/v1/organizations/{org}/legal-holds",
        headers=headers,
        json={"device_id": devices[0], "reason": "accident claim"},
    )
    assert hold.status_code == 201, hold.text

    async def left() -> set[str]:
        listed = await http.get("/api/v1/media", headers=headers)
        return {m["id"] for m in listed.json()}

    now = services.clock()
    assert await cleanup.sweep(services.database, media.lib, now=now + timedelta(days=6)) == 0
    assert await left() == {held_clip["id"], normal["id"], event["id"]}
    assert await cleanup.sweep(services.database, media.lib, now=now + timedelta(days=8)) == 1
    assert await left() == {held_clip["id"], event["id"]}, "7 days for normal clips, not 30"
    assert await cleanup.sweep(services.database, media.lib, now=now + timedelta(days=11)) == 1
    assert await left() == {held_clip["id"]}, "the held device's clip outlives its days"
    released = await http.delete(
        f"/api/v1/organizations/{org}/legal-holds/{hold.json()['id']}", headers=headers
    )
    assert released.status_code == 204
    assert await cleanup.sweep(services.database, media.lib, now=now + timedelta(days=11)) == 1
    assert await left() == set()
