"""The simulated Novatek dash cam answers the way the firmware does (WifiAppXML.c layouts)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from camtel.camera.novatek import fat_timecode
from camtel.sim.camera import Fault, populate, running_camera, serve_camera

NAME = re.compile(r"^\d{4}_\d{4}_\d{6}_\d{3}[FR]\.(MP4|JPG)$")


@pytest.fixture
def card(tmp_path: Path) -> Path:
    root = tmp_path / "card"
    populate(root, start=datetime(2026, 11, 26, 8, 30, 1))
    return root


def test_populated_card_follows_the_novatek_layout(card: Path) -> None:
    files = sorted(p.relative_to(card).as_posix() for p in card.rglob("*") if p.is_file())
    assert all(NAME.match(Path(f).name) for f in files)
    assert {Path(f).parent.as_posix() for f in files} == {
        "Novatek/Movie", "Novatek/Movie/RO", "Novatek/Photo",
    }


def test_commands_answer_in_the_firmware_layout(card: Path) -> None:
    with running_camera(card) as cam, httpx.Client(base_url=cam.url) as http:
        head = '<?xml version="1.0" encoding="UTF-8" ?>\n'
        beat = http.get("/?custom=1&cmd=3016")
        assert beat.headers["content-type"] == "text/xml"
        assert beat.text == head + "<Function>\n<Cmd>3016</Cmd>\n<Status>0</Status>\n</Function>"
        free = http.get("/?custom=1&cmd=3017").text
        assert re.search(r"<Status>0</Status>\n<Value>\d+</Value>\n</Function>$", free)
        assert "<String>" in http.get("/?custom=1&cmd=3012").text
        assert "<Status>-256</Status>" in http.get("/?custom=1&cmd=9999").text
        assert "<Status>-13</Status>" in http.get("/?custom=1&cmd=3001&par=7").text
        assert "<Status>0</Status>" in http.get("/?custom=1&cmd=3001&par=2").text
        status = http.get("/?custom=1&cmd=3014").text
        assert "<Cmd>3001</Cmd>\n<Status>2</Status>" in status
        assert cam.camera.modes == [2]


def test_file_list_layout_timecode_and_attributes(card: Path) -> None:
    locked = card / "Novatek" / "Movie" / "RO"
    with running_camera(card) as cam:
        body = httpx.get(cam.url + "/?custom=1&cmd=3015").text
    assert body.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<LIST>\n<ALLFile><File>\n')
    assert body.endswith("</File>\n</ALLFile>\n</LIST>\n")
    entries = re.findall(
        r"<ALLFile><File>\n<NAME>(.+)</NAME>\n<FPATH>(.+)</FPATH>\n<SIZE>(\d+)</SIZE>\n"
        r"<TIMECODE>(\d+)</TIMECODE>\n<TIME>(.+)</TIME>\n<ATTR>(\d+)</ATTR></File>\n</ALLFile>",
        body,
    )
    assert len(entries) == 8
    times = []
    for name, fpath, size, timecode, when, attr in entries:
        local = card.joinpath(*fpath[3:].split("\\"))
        assert fpath.startswith("A:\\Novatek\\") and local.name == name
        assert int(size) == local.stat().st_size
        stamp = datetime.strptime(when, "%Y/%m/%d %H:%M:%S")
        assert int(timecode) == fat_timecode(stamp)
        assert int(attr) == (33 if local.parent == locked else 32)
        times.append(stamp)
    assert times == sorted(times)  # oldest first, as FileDB_SortBy(MODDATE) does


def test_downloads_honour_range(card: Path) -> None:
    clip = card / "Novatek" / "Movie" / "2026_1126_083001_001F.MP4"
    data = clip.read_bytes()
    path = "/Novatek/Movie/" + clip.name
    with running_camera(card) as cam, httpx.Client(base_url=cam.url) as http:
        whole = http.get(path)
        assert whole.status_code == 200 and whole.content == data
        assert whole.headers["accept-ranges"] == "bytes"
        part = http.get(path, headers={"Range": "bytes=1000-"})
        assert part.status_code == 206 and part.content == data[1000:]
        assert part.headers["content-range"] == f"bytes 1000-{len(data) - 1}/{len(data)}"
        tail = http.get(path, headers={"Range": "bytes=-10"})
        assert tail.status_code == 206 and tail.content == data[-10:]
        middle = http.get(path, headers={"Range": "bytes=5-9"})
        assert middle.content == data[5:10]
        beyond = http.get(path, headers={"Range": f"bytes={len(data)}-"})
        assert beyond.status_code == 416
        assert beyond.headers["content-range"] == f"bytes */{len(data)}"
        head = http.head(path)
        assert head.headers["content-length"] == str(len(data))
        assert cam.camera.ranges == [None, "bytes=1000-", "bytes=-10", "bytes=5-9",
                                     f"bytes={len(data)}-"]


def test_delete_refuses_locked_missing_and_outside_files(card: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.MP4"
    outside.write_bytes(b"keep me")
    clip = card / "Novatek" / "Movie" / "2026_1126_083001_001F.MP4"
    locked = next((card / "Novatek" / "Movie" / "RO").iterdir())
    with running_camera(card) as cam, httpx.Client(base_url=cam.url) as http:
        def delete(fpath: str) -> str:
            return http.get(f"/?custom=1&cmd=4003&str={fpath}").text

        assert "<Status>-4</Status>" in delete("A:\\Novatek\\Movie\\RO\\" + locked.name)
        assert "<Status>-1</Status>" in delete("A:\\Novatek\\Movie\\nothing.MP4")
        assert "<Status>-1</Status>" in delete("A:\\..\\outside.MP4")
        assert "<Status>0</Status>" in delete("A:\\Novatek\\Movie\\" + clip.name)
        assert cam.camera.deleted == ["A:\\Novatek\\Movie\\" + clip.name]
    assert not clip.exists() and locked.exists() and outside.read_bytes() == b"keep me"


def test_folder_pages_del_and_no_way_out(card: Path, tmp_path: Path) -> None:
    (tmp_path / "secret.MP4").write_bytes(b"secret")
    clip = card / "Novatek" / "Movie" / "2026_1126_083001_001R.MP4"
    with running_camera(card) as cam, httpx.Client(base_url=cam.url) as http:
        page = http.get("/Novatek/Movie/").text
        assert f'href="/Novatek/Movie/{clip.name}"' in page and 'href="/Novatek/Movie/RO/"' in page
        assert http.get("/%2e%2e/secret.MP4").status_code == 404
        assert http.get("/Novatek/..%2f..%2fsecret.MP4").status_code == 404
        assert http.get(f"/Novatek/Movie/{clip.name}?del=1").status_code == 200
    assert not clip.exists()


def test_fault_drops_the_connection_after_k_bytes_of_the_nth_download(card: Path) -> None:
    path = "/Novatek/Movie/2026_1126_083001_001F.MP4"
    fault = Fault(drop_download=2, drop_after=12_345)
    with running_camera(card, fault=fault) as cam, httpx.Client(base_url=cam.url) as http:
        assert http.get(path).status_code == 200
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", path) as response:
            for chunk in response.iter_raw():
                received += chunk
        assert len(received) == 12_345
        assert len(http.get(path).content) == 48_000  # the third is whole again


def test_bad_xml_and_extra_entries(card: Path) -> None:
    with running_camera(card, fault=Fault(bad_xml=True)) as cam:
        assert "</LIST>" not in httpx.get(cam.url + "/?custom=1&cmd=3015").text
    extra = [("evil.MP4", "A:\\..\\evil.MP4", 1)]
    with running_camera(card, fault=Fault(extra_entries=extra)) as cam:
        assert "<FPATH>A:\\..\\evil.MP4</FPATH>" in httpx.get(cam.url + "/?custom=1&cmd=3015").text


async def test_serve_camera_runs_until_cancelled(card: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    task = asyncio.create_task(serve_camera(card, "127.0.0.1", port))
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    answer = await http.get(f"http://127.0.0.1:{port}/?custom=1&cmd=3016")
                    break
                await asyncio.sleep(0.02)
        assert "<Status>0</Status>" in answer.text
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert os.listdir(card)
