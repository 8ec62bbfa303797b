"""Media on S3 across the roles of a split deployment (`camtel serve --role api|worker`, over
PostgreSQL and NATS): a real recording uploaded through one API node is analysed by the worker
process, not by the API node; the redacted copy a share link asks for is made by the worker
too; ANOTHER API node serves the link. The objects live in the bucket (a moto S3 server on
loopback), encrypted, and nowhere in the nodes' data directories."""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
import socket
import time
import uuid
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import httpx
import pytest
from sqlalchemy import select

from camtel.config import Settings
from camtel.db import migrate
from camtel.db.engine import Database
from camtel.media.models import Media
from helpers.accounts import sign_up
from helpers.env import DATA, free_port, missing
from helpers.media import KARMA
from test_roles_over_nats import (
    _delete_stream,
    _environment,
    _nats_reachable,
    _reachable,
    _start,
    _stop,
)

BUCKET = "camtel-media"
PREFIX = "clips"
AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server on loopback, with an empty bucket (camtel does not create one)."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto[server] is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    _s3(endpoint).create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def _s3(endpoint: str):  # type: ignore[no-untyped-def]
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
        region_name=AWS["AWS_DEFAULT_REGION"],
    )


def _pid(holder: str) -> int:
    """The process id in a claim's `claimed_by` (host:pid:random, camtel.db.claims.HOLDER)."""
    return int(holder.rsplit(":", 2)[1])


async def _watch_claims(database: Database, media_id: uuid.UUID, seen: dict[str, set[str]]) -> None:
    """Until cancelled: note every holder of the recording's analysis and redaction claims."""
    while True:
        async with database.session() as db:
            row = (
                await db.execute(
                    select(Media.analysis_claimed_by, Media.redaction_claimed_by).where(
                        Media.id == media_id
                    )
                )
            ).first()
        if row is not None:
            for work, holder in zip(("analysis", "redaction"), row, strict=True):
                if holder:
                    seen[work].add(holder)
        await asyncio.sleep(0.02)


def _frames(data: bytes) -> tuple[list[str], int]:
    """A video's stream types and how many frames decode from it."""
    with av.open(io.BytesIO(data)) as container:
        kinds = [s.type for s in container.streams]
        return kinds, sum(1 for _ in container.decode(video=0))


def _first_seconds(data: bytes, seconds: Fraction) -> bytes:
    """The recording's first `seconds` (cut at a keyframe), remuxed as it was recorded:
    H.264 video, AAC sound and the GoPro telemetry track with its GPS (redacting all 13 s
    takes the worker close to a minute on a busy two-core machine)."""
    out = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(out, "w", format="mp4") as target:
        kept = {
            s.index: target.add_stream_from_template(s)
            for s in source.streams
            if s.type in ("video", "audio")
            or s.metadata.get("handler_name", "").strip() == "GoPro MET"
        }
        for packet in source.demux(*(source.streams[i] for i in kept)):
            if packet.dts is None or packet.pts * packet.time_base >= seconds:
                continue
            packet.stream = kept[packet.stream.index]
            target.mux(packet)
    return out.getvalue()


async def test_a_recording_uploaded_on_one_api_node_is_shared_redacted_by_another(
    tmp_path: Path, empty_postgres_url: str, s3_endpoint: str
) -> None:
    await _nats_reachable()
    database_url = Settings(database_url=empty_postgres_url).sqlalchemy_url
    migrate.upgrade(database_url)  # once, before three processes start on the database
    database = Database(database_url)
    # The one master key of the deployment, made before the first start and given to every
    # node (docs/deployment.md, "Keys"): a node with a key of its own reads no one's media.
    master_key = tmp_path / "shared-keys" / "master.key"
    master_key.parent.mkdir(mode=0o700)
    master_key.write_bytes(secrets.token_bytes(32))
    master_key.chmod(0o600)

    suffix = secrets.token_hex(4)
    port_a, port_b = free_port(), free_port()
    env = {
        **_environment(empty_postgres_url, suffix, 0, port_a),
        **AWS,
        "CAMTEL_MEDIA_URL": f"s3://{BUCKET}/{PREFIX}",
        "CAMTEL_MEDIA_S3_ENDPOINT": s3_endpoint,
        "CAMTEL_MEDIA_MASTER_KEY": str(master_key),
        "CAMTEL_JOB_POLL_S": "0.5",
    }
    processes = {
        "api-a": _start(env, tmp_path, "api", "api-a"),
        "api-b": _start({**env, "CAMTEL_HTTP_PORT": str(port_b)}, tmp_path, "api", "api-b"),
    }
    # 64 frames: up to the keyframe at 2.135 s.
    original = _first_seconds((DATA / "fixtures" / KARMA).read_bytes(), Fraction(2_135_466, 10**6))
    seen: dict[str, set[str]] = {"analysis": set(), "redaction": set()}
    watching: asyncio.Task[None] | None = None
    try:
        await _reachable(port_a, processes["api-a"])
        await _reachable(port_b, processes["api-b"])
        a = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_a}", timeout=30)
        b = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port_b}", timeout=30)
        async with a, b:
            owner, _ = await sign_up(a, SimpleNamespace(database=database), "owner@fleet.example")

            # Uploaded through node A: stored in the bucket, waiting for a worker.
            made = await a.post(
                "/api/v1/media",
                headers=owner,
                files={"file": ("GOPR0001.MP4", original, "video/mp4")},
            )
            assert made.status_code == 201, made.text
            assert made.json()["status"] == "processing"
            media_id = made.json()["id"]
            watching = asyncio.create_task(_watch_claims(database, uuid.UUID(media_id), seen))

            # With API nodes only, nobody analyses it (four job polls' time).
            await asyncio.sleep(2)
            waiting = await b.get(f"/api/v1/media/{media_id}", headers=owner)
            assert waiting.status_code == 200, waiting.text
            assert waiting.json()["status"] == "processing", "an API node ran the analysis"
            assert seen["analysis"] == set(), "an API node claimed the analysis"

            processes["worker"] = _start(env, tmp_path, "worker", "worker")
            deadline = time.monotonic() + 40
            while (body := (await b.get(f"/api/v1/media/{media_id}", headers=owner)).json())[
                "status"
            ] == "processing":
                assert processes["worker"].poll() is None, "the worker ended"
                assert time.monotonic() < deadline, "the worker did not analyse the recording"
                await asyncio.sleep(0.1)
            assert body["status"] == "ready", body
            assert body["kind"] == "video" and body["probe"]["width"] == 854
            assert body["duration_s"] == pytest.approx(3.0, abs=0.1)  # the telemetry's 3 s
            assert body["track_points"] > 5 and body["has_thumbnail"]  # its GPS, found
            assert body["start_time"].startswith("2017-04-17T19:27:57")
            thumbnail = await b.get(f"/api/v1/media/{media_id}/thumbnail", headers=owner)
            assert thumbnail.status_code == 200 and thumbnail.content.startswith(b"\xff\xd8")
            # Node B reads the original node A stored.
            whole = await b.get(f"/api/v1/media/{media_id}/content", headers=owner)
            assert whole.status_code == 200 and whole.content == original

            # A redacted share link made on node A, served by node B once the worker made
            # the copy.
            shared = await a.post(f"/api/v1/media/{media_id}/shares", headers=owner, json={})
            assert shared.status_code == 201, shared.text
            assert shared.json()["redact"] and shared.json()["redaction"] == "pending"
            path = "/s/" + shared.json()["url"].rsplit("/s/", 1)[1]
            early = await b.get(path + "/content")
            assert early.status_code == 503, "served before the redacted copy was made"
            deadline = time.monotonic() + 40
            while (
                links := (await b.get(f"/api/v1/media/{media_id}/shares", headers=owner)).json()
            )[0]["redaction"] == "pending":
                assert processes["worker"].poll() is None, "the worker ended"
                assert time.monotonic() < deadline, "the worker did not make the redacted copy"
                await asyncio.sleep(0.2)
            assert links[0]["redaction"] == "ready", links

            page = await b.get(path)
            assert page.status_code == 200, page.text
            assert "<video" in page.text and "blurred" in page.text
            content = await b.get(path + "/content")
            assert content.status_code == 200, content.text
            assert content.headers["content-type"] == "video/mp4"
            redacted = content.content
            assert redacted != original and original[1000:1064] not in redacted
            kinds, frames = _frames(redacted)
            assert kinds == ["video"], "sound and data tracks are left out"
            assert frames == 64, frames
            part = await b.get(path + "/content", headers={"Range": "bytes=10-99"})
            assert part.status_code == 206 and part.content == redacted[10:100]

        # The worker did the work: every holder of the claims was its process.
        worker_pid = processes["worker"].pid
        assert seen["redaction"], "the redaction claim was never seen held"
        holders = seen["analysis"] | seen["redaction"]
        assert {_pid(holder) for holder in holders} == {worker_pid}, holders

        # The objects live in the bucket, encrypted: the original, its thumbnail, the copy.
        async with database.session() as db:
            media = await db.get(Media, uuid.UUID(media_id))
            assert media is not None and media.redacted_key and media.thumbnail_key
            keys = {media.storage_key, media.thumbnail_key, media.redacted_key}
            report = media.redaction_info["report"]
        assert report["frames"] == 64 and report["blurred_frames"] > 0, report
        s3 = _s3(s3_endpoint)
        listed = {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
        assert listed == {f"{PREFIX}/{key}" for key in keys}, listed
        for key in listed:
            stored = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert stored.startswith(b"CTM1"), key  # camtel.media.crypto's header
            assert original[1000:1064] not in stored and redacted[1000:1064] not in stored

        # ...and nowhere on the nodes' disks: keys at most. Only the worker has a work
        # folder (the API nodes ran no job), and it left nothing there.
        for name in ("api-a", "api-b", "worker"):
            data_dir = tmp_path / name
            files = [p.relative_to(data_dir) for p in data_dir.rglob("*") if p.is_file()]
            held = [p for p in files if p.parts[0] != "keys" and p != Path("vapid.pem")]
            assert held == [], f"{name} holds {held}"
            assert (data_dir / "work").is_dir() == (name == "worker"), name
    finally:
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        await _stop(processes)
        await database.dispose()
        await _delete_stream(f"CAMTEL_ROLES_{suffix}")
