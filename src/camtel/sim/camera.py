"""A simulated Novatek-family Wi-Fi dash cam: serves a folder as the camera serves its SD card.

It answers what the vendor apps use, the way the Novatek SDK firmware does (WifiAppXML.c):
`GET /?custom=1&cmd=NNNN[&par=N|&str=S]` with `<Function>` XML, the 3015 `<LIST>` of files with
FAT TIMECODE and ATTR, file downloads at the FPATH turned into a URL path with `Range`, folder
pages, `?del=1`, delete by 4003 (refused for read-only files, status -4). `Fault` makes it
misbehave on purpose for tests: drop the connection mid-file, garbage XML, hostile names.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import shutil
import socket
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, unquote

import uvicorn
from rich.console import Console

from camtel.camera.novatek import (
    ATTR_ARCHIVE,
    ATTR_READ_ONLY,
    CMD_CARD_STATUS,
    CMD_DELETE_ONE,
    CMD_DISK_FREE_SPACE,
    CMD_FILE_LIST,
    CMD_HEARTBEAT,
    CMD_MODE_CHANGE,
    CMD_QUERY_STATUS,
    CMD_VERSION,
    LOCKED_FOLDERS,
    MEDIA_EXTENSIONS,
    MODE_MOVIE,
    MODE_PHOTO,
    MODE_PLAYBACK,
    STATUS_FAIL,
    STATUS_FILE_ERROR,
    STATUS_FILE_LOCKED,
    STATUS_NO_FILE,
    STATUS_NOT_FOUND,
    STATUS_OK,
    fat_timecode,
)

if TYPE_CHECKING:  # the ASGI shapes, as Starlette names them
    from starlette.types import Receive, Scope, Send

XML_HEAD = '<?xml version="1.0" encoding="UTF-8" ?>\n'
VERSION = "CAMTEL-SIM-NT96675 v1.0"
CHUNK = 64 * 1024


@dataclass
class Fault:
    """Misbehaviour on purpose. Downloads are counted from 1 in the order the camera serves them.

    `drop_download`/`drop_after`/`drop_times`: the Nth download (and the `drop_times - 1` after
    it) closes the connection after `drop_after` bytes of its body. `bad_xml`: the file list is
    broken XML. `extra_entries`: raw (NAME, FPATH, SIZE) rows added to the file list.
    `ignore_range`: answer every download 200 with the whole file.
    """

    drop_download: int | None = None
    drop_after: int = 0
    drop_times: int = 1
    bad_xml: bool = False
    extra_entries: list[tuple[str, str, int]] = field(default_factory=list)
    ignore_range: bool = False


class _Dropped(Exception):
    """Raised inside the app to make the server close the connection mid-response."""


class SimCamera:
    """The camera's state and its ASGI app."""

    def __init__(self, directory: Path, fault: Fault | None = None) -> None:
        self.root = Path(directory).resolve()
        self.fault = fault or Fault()
        self.mode = MODE_MOVIE  # a dash cam records from power-on
        self.modes: list[int] = []
        self.downloads = 0
        self.deleted: list[str] = []
        self.ranges: list[str | None] = []

    # -- the card ---------------------------------------------------------------------------

    def _local(self, parts: list[str]) -> Path | None:
        if any(p in {"", ".", ".."} or "\\" in p or "\x00" in p for p in parts):
            return None
        path = self.root.joinpath(*parts)
        try:
            path.resolve().relative_to(self.root)
        except ValueError:
            return None
        return path

    def _from_fpath(self, fpath: str) -> Path | None:
        if len(fpath) < 3 or fpath[1:3] != ":\\":
            return None
        return self._local([p for p in fpath[3:].split("\\")])

    @staticmethod
    def _attr(path: Path) -> int:
        parts = {p.lower() for p in path.parts[:-1]}
        locked = bool(parts & LOCKED_FOLDERS) or not (path.stat().st_mode & stat.S_IWUSR)
        return ATTR_ARCHIVE | (ATTR_READ_ONLY if locked else 0)

    def card(self) -> list[Path]:
        """Recordings on the card, oldest first (the firmware sorts by modification date)."""
        found = [
            p
            for p in self.root.rglob("*")
            if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS and not p.name.startswith(".")
        ]
        return sorted(found, key=lambda p: (p.stat().st_mtime, p.name))

    def file_list(self) -> str:
        if self.fault.bad_xml:
            return XML_HEAD + "<LIST>\n<ALLFile><File>\n<NAME>2026_1126_0830"
        rows = [XML_HEAD + "<LIST>\n"]
        for path in self.card():
            info = path.stat()
            when = datetime.fromtimestamp(info.st_mtime)
            fpath = "A:\\" + "\\".join(path.relative_to(self.root).parts)
            rows.append(_entry(path.name, fpath, info.st_size, when, self._attr(path)))
        for name, fpath, size in self.fault.extra_entries:
            rows.append(_entry(name, fpath, size, datetime(2026, 11, 26, 8, 30), ATTR_ARCHIVE))
        rows.append("</LIST>\n")
        return "".join(rows)

    # -- commands ---------------------------------------------------------------------------

    def command(self, cmd: int, par: str | None, text: str | None) -> str:
        if cmd == CMD_FILE_LIST:
            return self.file_list()
        if cmd == CMD_HEARTBEAT:
            return _ret(cmd, STATUS_OK)
        if cmd == CMD_MODE_CHANGE:
            if par not in {str(MODE_PHOTO), str(MODE_MOVIE), str(MODE_PLAYBACK)}:
                return _ret(cmd, STATUS_FAIL)
            self.mode = int(par)
            self.modes.append(self.mode)
            return _ret(cmd, STATUS_OK)
        if cmd == CMD_VERSION:
            return _ret(cmd, STATUS_OK, f"<String>{VERSION}</String>\n")
        if cmd == CMD_DISK_FREE_SPACE:
            return _ret(cmd, STATUS_OK, f"<Value>{shutil.disk_usage(self.root).free}</Value>\n")
        if cmd == CMD_CARD_STATUS:
            return _ret(cmd, STATUS_OK, "<Value>1</Value>\n")
        if cmd == CMD_QUERY_STATUS:
            recording = 1 if self.mode == MODE_MOVIE else 0
            pairs = f"<Cmd>{CMD_MODE_CHANGE}</Cmd>\n<Status>{self.mode}</Status>\n"
            pairs += f"<Cmd>2001</Cmd>\n<Status>{recording}</Status>\n"
            return XML_HEAD + f"<Function>\n{pairs}</Function>"
        if cmd == CMD_DELETE_ONE:
            return self._delete(text or "")
        return _ret(cmd, STATUS_NOT_FOUND)

    def _delete(self, fpath: str) -> str:
        path = self._from_fpath(fpath)
        if path is None or not path.is_file():
            return _ret(CMD_DELETE_ONE, STATUS_NO_FILE)
        if self._attr(path) & ATTR_READ_ONLY:
            return _ret(CMD_DELETE_ONE, STATUS_FILE_LOCKED)
        try:
            path.unlink()
        except OSError:
            return _ret(CMD_DELETE_ONE, STATUS_FILE_ERROR)
        self.deleted.append(fpath)
        return _ret(CMD_DELETE_ONE, STATUS_OK)

    # -- HTTP -------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw_query = scope.get("query_string", b"").decode("latin-1")
        query = parse_qs(raw_query, keep_blank_values=True)
        parts = [
            unquote(p)
            for p in scope.get("raw_path", scope["path"].encode())
            .decode("latin-1")
            .split("?")[0]
            .split("/")
            if p
        ]
        if not parts and query.get("custom") == ["1"] and "cmd" in query:
            try:
                cmd = int(query["cmd"][0])
            except ValueError:
                cmd = 0
            # The firmware takes everything after "&str=" as the argument, unescaped.
            text = unquote(raw_query.split("&str=", 1)[1]) if "&str=" in raw_query else None
            par = query.get("par", [None])[0]
            body = self.command(cmd, par, text).encode()
            await _respond(send, 200, body, "text/xml")
            return
        path = self._local(parts)
        if path is None or not path.exists():
            await _respond(send, 404, b"404 Not Found", "text/plain")
            return
        if path.is_dir():
            await _respond(send, 200, self._folder_page(path).encode(), "text/html")
            return
        if query.get("del") == ["1"]:
            fpath = "A:\\" + "\\".join(path.relative_to(self.root).parts)
            self._delete(fpath)
            await _respond(send, 200, self._folder_page(path.parent).encode(), "text/html")
            return
        await self._file(scope, send, path)

    def _folder_page(self, folder: Path) -> str:
        rel = folder.relative_to(self.root).parts
        base = "/" + "".join(quote(p) + "/" for p in rel)
        rows = []
        for child in sorted(folder.iterdir()):
            if child.name.startswith("."):
                continue
            label = html.escape(child.name) + ("/" if child.is_dir() else "")
            link = base + quote(child.name) + ("/" if child.is_dir() else "")
            extra = "" if child.is_dir() else f' <a href="{link}?del=1">Remove</a>'
            rows.append(f'<a href="{link}">{label}</a>{extra}<br>')
        return f"<html><body><h1>Index of {html.escape(base)}</h1>{''.join(rows)}</body></html>"

    async def _file(self, scope: Scope, send: Send, path: Path) -> None:
        size = _size(path)
        headers = dict(scope.get("headers", []))
        wanted = headers.get(b"range", b"").decode("latin-1") or None
        if scope["method"] == "HEAD":
            await _start(send, 200, "video/mp4", size, [(b"accept-ranges", b"bytes")])
            await send({"type": "http.response.body", "body": b""})
            return
        self.downloads += 1
        self.ranges.append(wanted)
        start, end = 0, size - 1
        status, extra = 200, [(b"accept-ranges", b"bytes")]
        if wanted and not self.fault.ignore_range:
            parsed = _parse_range(wanted, size)
            if parsed is None:
                extra.append((b"content-range", f"bytes */{size}".encode()))
                await _respond(send, 416, b"", "text/plain", extra)
                return
            start, end = parsed
            status = 206
            extra.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
        length = end - start + 1 if size else 0
        await _start(send, status, "video/mp4", length, extra)
        drop = self._drop_point()
        sent = 0
        with path.open("rb") as fh:
            fh.seek(start)
            while sent < length:
                chunk = fh.read(min(CHUNK, length - sent))
                if not chunk:
                    break
                if drop is not None and sent + len(chunk) >= drop:
                    part = chunk[: drop - sent]
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                    raise _Dropped(f"fault: dropped {path.name} after {drop} bytes")
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
                sent += len(chunk)
        await send({"type": "http.response.body", "body": b""})

    def _drop_point(self) -> int | None:
        first = self.fault.drop_download
        if first is None:
            return None
        if first <= self.downloads < first + self.fault.drop_times:
            return self.fault.drop_after
        return None


def _size(path: Path) -> int:
    return path.stat().st_size


def _entry(name: str, fpath: str, size: int, when: datetime, attr: int) -> str:
    # The firmware's sprintf layout, newline for newline.
    return (
        f"<ALLFile><File>\n<NAME>{html.escape(name, quote=False)}</NAME>\n"
        f"<FPATH>{html.escape(fpath, quote=False)}</FPATH>\n"
        f"<SIZE>{size}</SIZE>\n<TIMECODE>{fat_timecode(when)}</TIMECODE>\n"
        f"<TIME>{when:%Y/%m/%d %H:%M:%S}</TIME>\n<ATTR>{attr}</ATTR></File>\n</ALLFile>\n"
    )


def _ret(cmd: int, status: int, extra: str = "") -> str:
    return XML_HEAD + f"<Function>\n<Cmd>{cmd}</Cmd>\n<Status>{status}</Status>\n{extra}</Function>"


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; None when unsatisfiable."""
    if not value.startswith("bytes=") or "," in value:
        return None
    first, _, last = value[6:].strip().partition("-")
    try:
        if first == "":
            count = int(last)
            return (max(size - count, 0), size - 1) if count > 0 and size else None
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


async def _start(
    send: Send, status: int, kind: str, length: int, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    headers = [(b"content-type", kind.encode()), (b"content-length", str(length).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + list(extra)})


async def _respond(
    send: Send, status: int, body: bytes, kind: str, extra: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    await _start(send, status, kind, len(body), extra)
    await send({"type": "http.response.body", "body": body})


# -- running it ---------------------------------------------------------------------------


def _server(camera: SimCamera) -> uvicorn.Server:
    config = uvicorn.Config(
        camera, lifespan="off", log_level="critical", access_log=False, http="h11"
    )
    return uvicorn.Server(config)


async def serve_camera(
    directory: Path, host: str, port: int, *, fault: Fault | None = None
) -> None:
    """Serve `directory` as a camera's card on host:port until cancelled."""
    server = _server(SimCamera(directory, fault))
    server.config.host, server.config.port = host, port
    await server.serve()


@dataclass
class RunningCamera:
    """A simulated camera running in a background thread (tests, `camtel demo`)."""

    camera: SimCamera
    url: str
    _server: uvicorn.Server
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


def start_camera(
    directory: Path, *, host: str = "127.0.0.1", port: int = 0, fault: Fault | None = None
) -> RunningCamera:
    """Start a simulated camera in a thread; port 0 picks a free port. Call stop() when done."""
    camera = SimCamera(directory, fault)
    server = _server(camera)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="sim-camera", daemon=True
    )
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    return RunningCamera(camera, f"http://{host}:{bound}", server, thread)


@contextlib.contextmanager
def running_camera(directory: Path, *, fault: Fault | None = None) -> Iterator[RunningCamera]:
    """`with running_camera(dir) as cam:` a camera on a free loopback port."""
    running = start_camera(directory, fault=fault)
    try:
        yield running
    finally:
        running.stop()


def populate(directory: Path, *, start: datetime | None = None, clips: int = 3) -> list[Path]:
    """Fill an empty card the way a Viofo-style camera does: front and rear clips in
    Novatek/Movie, a locked event in Novatek/Movie/RO, a photo in Novatek/Photo."""
    start = start or datetime(2026, 11, 26, 8, 30, 1)
    made = []
    for index in range(clips):
        when = start + timedelta(minutes=index)
        for channel in "FR":
            name = f"{when:%Y_%m%d_%H%M%S}_{index + 1:03d}{channel}.MP4"
            made.append(_write(directory / "Novatek" / "Movie" / name, when, 48_000 + index))
    when = start + timedelta(minutes=clips)
    stamp = f"{when:%Y_%m%d_%H%M%S}"
    locked = directory / "Novatek" / "Movie" / "RO" / f"{stamp}_{clips + 1:03d}F.MP4"
    made.append(_write(locked, when, 40_000))
    photo = directory / "Novatek" / "Photo" / f"{stamp}_{clips + 2:03d}F.JPG"
    made.append(_write(photo, when, 9_000))
    return made


def _write(path: Path, when: datetime, size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(size))
    stamp = when.timestamp()
    os.utime(path, (stamp, stamp))
    return path


def run_camera(directory: Path, port: int, console: Console, host: str = "127.0.0.1") -> int:
    """`camtel sim camera --dir DIR --port P`: serve DIR until Ctrl-C. Returns an exit code."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        console.print(f"[red]{directory} is not a folder[/red]")
        return 2
    directory.mkdir(parents=True, exist_ok=True)
    if not any(directory.iterdir()):
        made = populate(directory)
        console.print(f"{directory} was empty: wrote {len(made)} sample recordings")
    camera = SimCamera(directory)
    console.print(
        f"simulated dash cam serving [bold]{directory}[/bold] at [bold]http://{host}:{port}[/bold]"
        f" ({len(camera.card())} files); Ctrl-C stops"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_camera(directory, host, port))
    return 0
