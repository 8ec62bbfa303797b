"""Client for the Wi-Fi HTTP API of Novatek-based dash cams (Viofo, Vantrue, Kenwood, Rexing...).

The camera is an access point (usually at 192.168.1.254) running the Novatek SDK's small web
server. Commands are `GET /?custom=1&cmd=NNNN[&par=N | &str=TEXT]`; the firmware matches the
query string literally, so the parameters go in exactly that order. Answers are XML:
`<Function><Cmd>N</Cmd><Status>S</Status>[<Value>..</Value> | <String>..</String>]</Function>`,
and the file list (3015) is `<LIST><ALLFile><File><NAME>..<FPATH>..<SIZE>..<TIMECODE>..<TIME>..
<ATTR>..</File></ALLFile>...</LIST>`. A file's FPATH (`A:\\Novatek\\Movie\\x.MP4`) is also its
download path (`/Novatek/Movie/x.MP4`). docs/protocols.md lists the sources.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath
from typing import BinaryIO
from urllib.parse import quote

import httpx

log = logging.getLogger(__name__)

DEFAULT_URL = "http://192.168.1.254"

# WIFIAPP_CMD_* numbers of the Novatek SDK (WifiAppCmd.h).
CMD_MODE_CHANGE = 3001
CMD_VERSION = 3012
CMD_QUERY_STATUS = 3014
CMD_FILE_LIST = 3015
CMD_HEARTBEAT = 3016
CMD_DISK_FREE_SPACE = 3017
CMD_CARD_STATUS = 3024
CMD_DELETE_ONE = 4003

# WIFI_APP_MODE_CMD: the `par` of 3001.
MODE_PHOTO = 0
MODE_MOVIE = 1
MODE_PLAYBACK = 2

# WIFIAPP_RET_* and WIFI_CMD_* status codes.
STATUS_OK = 0
STATUS_NO_FILE = -1
STATUS_NO_BUFFER = -3
STATUS_FILE_LOCKED = -4
STATUS_FILE_ERROR = -5
STATUS_DELETE_FAILED = -6
STATUS_FAIL = -13
STATUS_STATE_ERROR = -22
STATUS_NOT_FOUND = -256
STATUS_TEXT = {
    STATUS_NO_FILE: "no such file",
    STATUS_NO_BUFFER: "camera out of memory",
    STATUS_FILE_LOCKED: "file is locked (read-only)",
    STATUS_FILE_ERROR: "file error",
    STATUS_DELETE_FAILED: "delete failed",
    STATUS_FAIL: "command failed",
    STATUS_STATE_ERROR: "not possible in the camera's current state",
    STATUS_NOT_FOUND: "command not supported by this camera",
}

# FAT attribute bits, as the camera reports them in ATTR (32 = archive, 33 = archive + locked).
ATTR_READ_ONLY = 0x01
ATTR_ARCHIVE = 0x20

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".ts", ".avi", ".mkv"})
PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg"})
SIDECAR_EXTENSIONS = frozenset({".nmea", ".gps"})
MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | PHOTO_EXTENSIONS | SIDECAR_EXTENSIONS

# Folders in which cameras keep protected clips: Viofo `Movie\RO`, others `EMR`, `Event`...
LOCKED_FOLDERS = frozenset({"ro", "lock", "locked", "protect", "protected"})
EVENT_FOLDERS = frozenset({"emr", "emer", "event", "events", "emergency"})
PARKING_FOLDERS = frozenset({"parking", "park"})

MAX_LIST_BYTES = 32 * 1024 * 1024
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHANNEL = re.compile(r"(?:_|\d)(P?)([FRI])$", re.IGNORECASE)
_ENTITY = re.compile(rb"&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9A-Fa-f]+);)")


class CameraError(Exception):
    """The camera could not be reached or gave an answer camtel cannot use."""


class BadAnswer(CameraError):
    """The camera answered with something that is not the XML the protocol promises."""


class CommandFailed(CameraError):
    """The camera understood a command and refused it with a negative status."""

    def __init__(self, cmd: int, status: int) -> None:
        self.cmd = cmd
        self.status = status
        reason = STATUS_TEXT.get(status, "error")
        super().__init__(f"camera refused cmd={cmd}: status {status} ({reason})")


class UnsafePath(ValueError):
    """A camera file path that would escape the destination folder or is not a recording."""


@dataclass(frozen=True, slots=True)
class Reply:
    """The answer to one command."""

    cmd: int
    status: int
    value: int | None = None
    string: str | None = None


@dataclass(frozen=True, slots=True)
class CameraFile:
    """One entry of the camera's file list, as the camera reported it (not yet validated)."""

    name: str
    fpath: str
    size: int
    timecode: int | None
    time: datetime | None
    attr: int

    @property
    def key(self) -> str:
        """What identifies this recording between syncs: path, size and time."""
        stamp = self.timecode if self.timecode is not None else self.time
        return f"{self.fpath}|{self.size}|{stamp}"

    @property
    def read_only(self) -> bool:
        return bool(self.attr & ATTR_READ_ONLY)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a file is: `kind` video/photo/sidecar, `channel` front/rear/cabin/None,
    `category` normal/parking/event/locked."""

    kind: str
    channel: str | None
    category: str


def fat_timecode(when: datetime) -> int:
    """TIMECODE as the firmware computes it: (FAT date << 16) + FAT time (2-second units)."""
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    clock = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    return (date << 16) + clock


def from_timecode(code: int) -> datetime | None:
    """The local time a TIMECODE stands for, or None when it is not a valid FAT stamp."""
    date, clock = code >> 16, code & 0xFFFF
    try:
        return datetime(
            ((date >> 9) & 0x7F) + 1980,
            (date >> 5) & 0x0F,
            date & 0x1F,
            clock >> 11,
            (clock >> 5) & 0x3F,
            (clock & 0x1F) * 2,
        )
    except ValueError:
        return None


def _parse_xml(body: bytes, what: str) -> ET.Element:
    # Entity declarations are how XML bombs work and no camera sends a DOCTYPE: refuse them.
    if b"<!DOCTYPE" in body.upper() or b"<!ENTITY" in body.upper():
        raise BadAnswer(f"camera answered {what} with a DOCTYPE, which cameras never send")
    try:
        return ET.fromstring(body)  # noqa: S314 - DOCTYPE/ENTITY refused above
    except ET.ParseError as exc:
        error = exc
    # Firmware builds the XML with sprintf, so a bare '&' in a name is possible: escape it.
    try:
        return ET.fromstring(_ENTITY.sub(b"&amp;", body))  # noqa: S314 - as above
    except ET.ParseError:
        raise BadAnswer(f"camera answered {what} with XML that does not parse ({error})") from None


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def parse_reply(body: bytes, cmd: int) -> Reply:
    """Read a `<Function><Cmd>..<Status>..` answer to command `cmd`."""
    root = _parse_xml(body, f"cmd={cmd}")
    if root.tag != "Function":
        raise BadAnswer(f"camera answered cmd={cmd} with <{root.tag}>, expected <Function>")
    # 3014 lists several Cmd/Status pairs; the pair for our command, else the first, answers.
    pairs = list(zip(root.findall("Cmd"), root.findall("Status"), strict=False))
    status = None
    for cmd_el, status_el in pairs:
        if _int(cmd_el.text) == cmd:
            status = _int(status_el.text)
            break
    if status is None and pairs:
        status = _int(pairs[0][1].text)
    if status is None:
        status = _int(root.findtext("Status"))
    if status is None:
        raise BadAnswer(f"camera answered cmd={cmd} without a <Status>")
    return Reply(
        cmd=cmd,
        status=status,
        value=_int(root.findtext("Value")),
        string=(root.findtext("String") or "").strip() or None,
    )


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text.strip(), "%Y/%m/%d %H:%M:%S")
    except ValueError:
        return None


def parse_file_list(body: bytes) -> list[CameraFile]:
    """Read the 3015 file list. Entries missing a name, path or size are left out."""
    root = _parse_xml(body, f"cmd={CMD_FILE_LIST}")
    if root.tag != "LIST":
        if root.tag == "Function":
            reply = parse_reply(body, CMD_FILE_LIST)
            raise CommandFailed(CMD_FILE_LIST, reply.status)
        raise BadAnswer(f"camera answered cmd={CMD_FILE_LIST} with <{root.tag}>, expected <LIST>")
    files = []
    # Most firmware wraps each <File> in its own <ALLFile>; some put all in one. Accept both.
    for entry in root.iter("File"):
        name = (entry.findtext("NAME") or "").strip()
        fpath = (entry.findtext("FPATH") or "").strip()
        size = _int(entry.findtext("SIZE"))
        if not name or not fpath or size is None or size < 0:
            log.warning("camera file list entry skipped", extra={"entry_name": name[:80]})
            continue
        timecode = _int(entry.findtext("TIMECODE"))
        time = _parse_time(entry.findtext("TIME"))
        if time is None and timecode is not None:
            time = from_timecode(timecode)
        attr = _int(entry.findtext("ATTR"))
        attr = ATTR_ARCHIVE if attr is None else attr
        files.append(CameraFile(name, fpath, size, timecode, time, attr))
    return files


def path_parts(file: CameraFile) -> tuple[str, ...]:
    """The folders and name of a camera file, safe to use below a local folder.

    Raises UnsafePath for anything that could escape it: `..`, absolute or drive parts,
    hidden names, control characters, a NAME that is not the last part of FPATH, or a file
    that is not a recording.
    """
    raw = _DRIVE.sub("", file.fpath, count=1)
    parts = tuple(p for p in re.split(r"[\\/]", raw) if p != "")
    if not parts:
        raise UnsafePath(f"empty camera path {file.fpath!r}")
    for part in parts:
        if part in {".", ".."} or part.startswith(".") or ":" in part or len(part) > 255:
            raise UnsafePath(f"unsafe camera path {file.fpath!r}")
        if any(ord(c) < 32 or c in '<>"|?*' for c in part):
            raise UnsafePath(f"unsafe camera path {file.fpath!r}")
    if parts[-1] != file.name:
        raise UnsafePath(f"camera name {file.name!r} does not match its path {file.fpath!r}")
    if PurePosixPath(file.name).suffix.lower() not in MEDIA_EXTENSIONS:
        raise UnsafePath(f"not a recording: {file.fpath!r}")
    return parts


def http_path(file: CameraFile) -> str:
    """The URL path the camera serves a file at: FPATH without the drive, with slashes."""
    return "/" + "/".join(quote(p) for p in path_parts(file))


def classify(file: CameraFile) -> Classification:
    """Kind, channel and category of a recording, from its name, folders and attributes."""
    parts = [p.lower() for p in re.split(r"[\\/]", _DRIVE.sub("", file.fpath))[:-1]]
    stem = PurePosixPath(file.name).stem
    suffix = PurePosixPath(file.name).suffix.lower()
    kind = "video"
    if suffix in PHOTO_EXTENSIONS:
        kind = "photo"
    elif suffix in SIDECAR_EXTENSIONS:
        kind = "sidecar"
    channel = None
    parking = False
    match = _CHANNEL.search(stem)
    if match:
        parking = bool(match.group(1))
        channel = {"F": "front", "R": "rear", "I": "cabin"}[match.group(2).upper()]
    if file.read_only or LOCKED_FOLDERS.intersection(parts):
        category = "locked"
    elif EVENT_FOLDERS.intersection(parts):
        category = "event"
    elif parking or PARKING_FOLDERS.intersection(parts):
        category = "parking"
    else:
        category = "normal"
    return Classification(kind=kind, channel=channel, category=category)


class NovatekCamera:
    """A connection to one camera. Not thread-safe; close() when done (or use `with`)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        timeout: float = 15.0,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout, follow_redirects=False)
        self._own_client = client is None

    def __enter__(self) -> NovatekCamera:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self._client.close()

    def _get(self, query: str, limit: int = 1024 * 1024) -> bytes:
        try:
            response = self._client.get(f"{self.url}/?{query}")
        except httpx.TransportError as exc:
            reason = exc.__class__.__name__
            raise CameraError(f"camera at {self.url} did not answer ({reason})") from exc
        if response.status_code != 200:
            raise BadAnswer(f"camera answered {query} with HTTP {response.status_code}")
        if len(response.content) > limit:
            raise BadAnswer(f"camera answer to {query} is larger than {limit} bytes")
        return response.content

    def command(self, cmd: int, *, par: int | None = None, text: str | None = None) -> Reply:
        """Send one command; raises CommandFailed on a negative status."""
        query = f"custom=1&cmd={cmd}"
        if par is not None:
            query += f"&par={par}"
        if text is not None:
            query += f"&str={text}"
        reply = parse_reply(self._get(query), cmd)
        if reply.status < 0:
            raise CommandFailed(cmd, reply.status)
        return reply

    def heartbeat(self) -> None:
        """Raises CameraError when the camera is not there."""
        self.command(CMD_HEARTBEAT)

    def set_mode(self, mode: int) -> None:
        """Switch between photo (0), movie/recording (1) and playback (2)."""
        self.command(CMD_MODE_CHANGE, par=mode)

    def free_space(self) -> int | None:
        """Free bytes on the card, when the camera says."""
        return self.command(CMD_DISK_FREE_SPACE).value

    def files(self) -> list[CameraFile]:
        """Every file on the card, in the camera's order (by modification time)."""
        return parse_file_list(self._get(f"custom=1&cmd={CMD_FILE_LIST}", MAX_LIST_BYTES))

    def delete(self, file: CameraFile) -> None:
        """Delete one file on the card (refused by the camera for locked files)."""
        path_parts(file)  # never send a path we would not download
        self.command(CMD_DELETE_ONE, text=file.fpath)

    def download(
        self,
        file: CameraFile,
        out: BinaryIO,
        *,
        offset: int = 0,
        on_bytes: Callable[[int], None] | None = None,
    ) -> int:
        """Write the file's bytes from `offset` on to `out` (positioned at `offset`).

        Returns the offset reached. Raises httpx.TransportError when the camera drops the
        connection (what was written stays written) and CameraError for a refusal. A camera
        that ignores `Range` answers 200: `out` is then rewound and truncated first.
        """
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        url = self.url + http_path(file)
        with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code == 416 and offset >= file.size:
                return offset
            if response.status_code == 206:
                start = _content_range_start(response.headers.get("content-range"))
                if start != offset:
                    raise BadAnswer(f"camera sent {file.name} from byte {start}, asked {offset}")
            elif response.status_code == 200:
                if offset:
                    log.info("camera ignored Range; downloading from the start")
                out.seek(0)
                out.truncate()
                offset = 0
            else:
                raise BadAnswer(f"camera answered {file.name} with HTTP {response.status_code}")
            for chunk in response.iter_raw():  # no chunk size: a drop loses no buffered bytes
                out.write(chunk)
                offset += len(chunk)
                if on_bytes:
                    on_bytes(len(chunk))
        return offset


def _content_range_start(value: str | None) -> int | None:
    match = re.match(r"bytes (\d+)-\d+/(?:\d+|\*)$", (value or "").strip())
    return int(match.group(1)) if match else None
