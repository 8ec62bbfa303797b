"""`camtel camera sync` against the simulated camera over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI, File, Form, Header, HTTPException, Request, Response, UploadFile
from rich.console import Console

from camtel.camera import sync as sync_module
from camtel.camera.novatek import NovatekCamera
from camtel.camera.sync import STATE_FILE, run_sync
from camtel.camera.upload import Uploader, UploadError
from camtel.sim.camera import Fault, populate, running_camera

FAST = {"backoff": 0.001, "timeout": 5.0}
TOKEN = "secret"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def card_files(card: Path) -> dict[str, str]:
    return {
        p.relative_to(card).as_posix(): sha(p) for p in card.rglob("*") if p.is_file()
    }


def synced_files(dest: Path) -> dict[str, str]:
    return {
        p.relative_to(dest).as_posix(): sha(p)
        for p in dest.rglob("*")
        if p.is_file() and p.suffix not in {".gpx", ".part", ".json"}
    }


@pytest.fixture
def console() -> Console:
    return Console(file=io.StringIO(), width=200)


def said(console: Console) -> str:
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.fixture
def card(tmp_path: Path, testdata: Path) -> Path:
    """A card like a Viofo's, with the GoPro sample standing in for a clip with a GPS track."""
    root = tmp_path / "card"
    populate(root)
    clip = root / "Novatek" / "Movie" / "2026_1126_090000_010F.MP4"
    shutil.copyfile(testdata / "fixtures" / "gopro_karma.mp4", clip)
    clip.chmod(stat.S_IRUSR | stat.S_IWUSR)
    return root


def one_file_card(tmp_path: Path, size: int = 1_000_000) -> tuple[Path, Path]:
    root = tmp_path / "card"
    clip = root / "Novatek" / "Movie" / "2026_1126_083001_001F.MP4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(os.urandom(size))
    return root, clip


def test_full_sync_then_a_second_sync_copies_nothing(
    card: Path, tmp_path: Path, console: Console
) -> None:
    dest = tmp_path / "dest"
    expected = card_files(card)
    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert synced_files(dest) == expected
        assert cam.camera.modes == [2, 1]  # playback to list, back to recording after
        served = cam.camera.downloads
        assert served == len(expected)

        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert cam.camera.downloads == served  # nothing downloaded twice
    assert "0 new file(s)" in said(console)
    # The GoPro clip has a GPS track: written next to it; random clips have none.
    gpx = dest / "Novatek" / "Movie" / "2026_1126_090000_010F.gpx"
    assert gpx.is_file() and "<trkpt" in gpx.read_text()
    assert not (dest / "Novatek" / "Movie" / "2026_1126_083001_001F.gpx").exists()
    state = json.loads((dest / STATE_FILE).read_text())
    categories = {v["local"]: v["category"] for v in state["files"].values()}
    assert categories["Novatek/Movie/RO/2026_1126_083301_004F.MP4"] == "locked"
    assert not state["partial"]


def test_resume_after_a_drop_mid_file(tmp_path: Path, console: Console) -> None:
    card, clip = one_file_card(tmp_path)
    dest = tmp_path / "dest"
    fault = Fault(drop_download=1, drop_after=100_000, drop_times=2)
    with running_camera(card, fault=fault) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert cam.camera.ranges == [None, "bytes=100000-", "bytes=200000-"]
    assert sha(dest / "Novatek" / "Movie" / clip.name) == sha(clip)


def test_gives_up_with_a_clear_message_and_resumes_next_time(
    tmp_path: Path, console: Console
) -> None:
    card, clip = one_file_card(tmp_path)
    dest = tmp_path / "dest"
    part = dest / "Novatek" / "Movie" / (clip.name + ".part")
    fault = Fault(drop_download=1, drop_after=100_000, drop_times=10)
    with running_camera(card, fault=fault) as cam:
        code = run_sync(cam.url, dest, False, None, None, True, console, attempts=3, **FAST)
        assert code == 1
        assert cam.camera.deleted == []  # never deleted without a verified copy
    text = said(console)
    assert "dropped the connection 3 time(s)" in text and "kept 300,000" in text
    assert part.stat().st_size == 300_000
    assert not (dest / "Novatek" / "Movie" / clip.name).exists()

    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert cam.camera.ranges == ["bytes=300000-"]
    assert sha(dest / "Novatek" / "Movie" / clip.name) == sha(clip)
    assert not part.exists()


def test_camera_that_ignores_range_still_gives_identical_bytes(
    tmp_path: Path, console: Console
) -> None:
    card, clip = one_file_card(tmp_path)
    dest = tmp_path / "dest"
    fault = Fault(drop_download=1, drop_after=250_000, ignore_range=True)
    with running_camera(card, fault=fault) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert cam.camera.downloads == 2
    assert sha(dest / "Novatek" / "Movie" / clip.name) == sha(clip)


def test_delete_after_a_verified_copy_keeps_locked_files(
    card: Path, tmp_path: Path, console: Console
) -> None:
    dest = tmp_path / "dest"
    expected = card_files(card)
    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, True, console, **FAST) == 0
        deleted = cam.camera.deleted
    assert synced_files(dest) == expected
    left = card_files(card)
    assert list(left) == ["Novatek/Movie/RO/2026_1126_083301_004F.MP4"]  # locked stays
    assert len(deleted) == len(expected) - 1
    state = json.loads((dest / STATE_FILE).read_text())
    assert sum(bool(v.get("deleted")) for v in state["files"].values()) == len(deleted)


def test_a_file_that_changed_on_the_camera_is_copied_again(
    card: Path, tmp_path: Path, console: Console
) -> None:
    dest = tmp_path / "dest"
    grown = card / "Novatek" / "Movie" / "2026_1126_083001_001F.MP4"
    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        before = cam.camera.downloads
        with grown.open("ab") as fh:
            fh.write(os.urandom(5_000))
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 0
        assert cam.camera.downloads == before + 1
    assert sha(dest / "Novatek" / "Movie" / grown.name) == sha(grown)
    state = json.loads((dest / STATE_FILE).read_text())
    assert [v["size"] for v in state["files"].values() if v["fpath"].endswith(grown.name)] == [
        53_000
    ]


def test_a_file_that_grows_between_list_and_download_is_not_kept(
    tmp_path: Path, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    card, clip = one_file_card(tmp_path, size=50_000)
    dest = tmp_path / "dest"
    listed = NovatekCamera.files

    def files_then_grow(self: NovatekCamera):  # type: ignore[no-untyped-def]
        found = listed(self)
        with clip.open("ab") as fh:
            fh.write(b"still recording")
        return found

    monkeypatch.setattr(NovatekCamera, "files", files_then_grow)
    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, True, console, **FAST) == 1
        assert cam.camera.deleted == []
    assert "listed 50,000" in said(console)
    assert not any(dest.rglob("*.MP4")) and not any(dest.rglob("*.part"))


def test_bad_xml_is_a_clear_error(card: Path, tmp_path: Path, console: Console) -> None:
    dest = tmp_path / "dest"
    with running_camera(card, fault=Fault(bad_xml=True)) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 2
        assert cam.camera.modes == [2, 1]  # recording again even so
    assert "does not parse" in said(console)
    assert not any(dest.rglob("*.MP4"))


def test_hostile_names_are_refused_and_nothing_is_written_outside(
    card: Path, tmp_path: Path, console: Console
) -> None:
    dest = tmp_path / "sub" / "dest"
    hostile = [
        ("evil.MP4", "A:\\Novatek\\Movie\\..\\..\\..\\..\\evil.MP4", 10),
        ("evil2.MP4", "A:\\..\\evil2.MP4", 10),
        ("..\\evil3.MP4", "A:\\Novatek\\..\\evil3.MP4", 10),
        (STATE_FILE, "A:\\" + STATE_FILE, 10),
    ]
    with running_camera(card, fault=Fault(extra_entries=hostile)) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 1
    refused = [line for line in said(console).splitlines() if line.startswith("refused")]
    assert len(refused) == len(hostile)
    assert not [p for p in tmp_path.rglob("evil*")]
    assert synced_files(dest) == card_files(card)  # the honest files were copied


def test_no_camera_is_a_clear_error(tmp_path: Path, console: Console) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = run_sync(f"http://127.0.0.1:{port}", tmp_path, False, None, None, False, console)
    assert code == 2
    assert "did not answer" in said(console) and "Wi-Fi" in said(console)


def test_upload_needs_a_server_and_a_token(tmp_path: Path, console: Console) -> None:
    assert run_sync("http://127.0.0.1:9", tmp_path, True, None, None, False, console) == 2
    assert "--server" in said(console)


# -- uploads to a stand-in camtel server ---------------------------------------------------------


class StandIn:
    """POST /api/v1/media (multipart) and tus under /api/v1/media/uploads, in memory."""

    def __init__(self, tus: bool = True) -> None:
        token = TOKEN
        self.media: dict[str, dict] = {}
        self.uploads: dict[str, dict] = {}
        self.patches = 0
        api = FastAPI()

        def check(authorization: str | None) -> None:
            if authorization != f"Bearer {token}":
                raise HTTPException(401, "bad token")

        @api.post("/api/v1/media", status_code=201)
        async def create(
            file: UploadFile = File(...),
            device_id: str | None = Form(None),
            channel: str | None = Form(None),
            authorization: str | None = Header(None),
        ) -> dict:
            check(authorization)
            media_id = f"m{len(self.media) + 1}"
            self.media[media_id] = {"name": file.filename, "data": await file.read(),
                                    "device_id": device_id, "channel": channel}
            return {"id": media_id, "status": "processing"}

        if tus:
            @api.post("/api/v1/media/uploads")
            async def tus_create(request: Request) -> Response:
                check(request.headers.get("authorization"))
                upload_id = f"u{len(self.uploads) + 1}"
                self.uploads[upload_id] = {
                    "length": int(request.headers["upload-length"]), "data": b"",
                    "meta": request.headers.get("upload-metadata", "")}
                return Response(status_code=201, headers={
                    "Location": f"/api/v1/media/uploads/{upload_id}", "Tus-Resumable": "1.0.0"})

            @api.head("/api/v1/media/uploads/{upload_id}")
            async def tus_head(upload_id: str) -> Response:
                held = self.uploads[upload_id]
                return Response(headers={"Upload-Offset": str(len(held["data"])),
                                         "Upload-Length": str(held["length"])})

            @api.patch("/api/v1/media/uploads/{upload_id}")
            async def tus_patch(upload_id: str, request: Request) -> Response:
                check(request.headers.get("authorization"))
                held = self.uploads[upload_id]
                if int(request.headers["upload-offset"]) != len(held["data"]):
                    return Response(status_code=409)
                held["data"] += await request.body()
                self.patches += 1
                headers = {"Upload-Offset": str(len(held["data"]))}
                if len(held["data"]) == held["length"]:
                    headers["Camtel-Media-Id"] = f"t-{upload_id}"
                return Response(status_code=204, headers=headers)

        self.app = api


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    server_state = StandIn()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(server_state.app, log_level="critical", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                              daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.01)
    yield server_state, f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)


def test_upload_then_delete_on_the_camera(
    card: Path, tmp_path: Path, console: Console, stand_in: tuple[StandIn, str]
) -> None:
    server_state, server = stand_in
    dest = tmp_path / "dest"
    expected = card_files(card)
    with running_camera(card) as cam:
        code = run_sync(cam.url, dest, True, server, "secret", True, console, **FAST)
        assert code == 0
        deleted = len(cam.camera.deleted)
        assert run_sync(cam.url, dest, True, server, "secret", True, console, **FAST) == 0
    uploaded = {m["name"]: hashlib.sha256(m["data"]).hexdigest()
                for m in server_state.media.values()}
    assert uploaded == {Path(k).name: v for k, v in expected.items()}  # each exactly once
    assert {m["channel"] for m in server_state.media.values()} == {"front", "rear"}
    assert deleted == len(expected) - 1
    state = json.loads((dest / STATE_FILE).read_text())
    assert all(v["media_id"].startswith("m") for v in state["files"].values())


def test_a_refused_upload_keeps_the_file_on_the_camera(
    card: Path, tmp_path: Path, console: Console, stand_in: tuple[StandIn, str]
) -> None:
    _, server = stand_in
    with running_camera(card) as cam:
        code = run_sync(cam.url, tmp_path / "dest", True, server, "wrong", True, console, **FAST)
        assert code == 1
        assert cam.camera.deleted == []
    assert "refused the token" in said(console)


def test_large_files_go_through_tus_and_resume(
    tmp_path: Path, stand_in: tuple[StandIn, str]
) -> None:
    server_state, server = stand_in
    big = tmp_path / "2026_1126_083001_001F.MP4"
    big.write_bytes(os.urandom(300_000))
    created: list[str] = []
    uploader = Uploader(server, "secret", tus_threshold=100_000, chunk=64_000)
    try:
        media_id = uploader.upload(big, channel="front", on_created=created.append)
        assert media_id == "t-u1"
        held = server_state.uploads["u1"]
        assert held["data"] == big.read_bytes() and server_state.patches == 5
        assert "filename " in held["meta"] and "channel " in held["meta"]
        # An upload cut short resumes where the server says it stopped.
        held["data"] = held["data"][:100_000]
        held_patches = server_state.patches
        assert uploader.upload(big, resume_url=created[0]) == "t-u1"
        assert held["data"] == big.read_bytes()
        assert server_state.patches == held_patches + 4
        with pytest.raises(UploadError, match="token"):
            Uploader(server, "wrong", tus_threshold=10).upload(big)
    finally:
        uploader.close()


def test_state_file_keeps_going_when_unreadable(tmp_path: Path, console: Console) -> None:
    card, _ = one_file_card(tmp_path, size=1000)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / STATE_FILE).write_text("{not json")
    with running_camera(card) as cam:
        assert run_sync(cam.url, dest, False, None, None, False, console, **FAST) == 1
    assert "move it away" in said(console)
    assert sync_module.SyncState.load  # the file is left for the user to look at
    assert (dest / STATE_FILE).read_text() == "{not json"
