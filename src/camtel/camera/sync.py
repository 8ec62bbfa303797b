"""`camtel camera sync`: copy new recordings from a Wi-Fi dash cam, once and only once.

The camera is put in playback mode (as the vendor apps do), its file list is compared with a
small JSON state file in the destination, and each new file is downloaded to `<name>.part`
with `Range` resumes, checked against the size the camera listed, then renamed. Afterwards the
embedded GPS track is written next to it as `<stem>.gpx`, or the file is uploaded to a camtel
server; with `delete_after` the camera's copy is deleted once the local copy is verified (and
uploaded, when uploading). The camera is put back in recording mode at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from camtel.camera.novatek import (
    MODE_MOVIE,
    MODE_PLAYBACK,
    CameraError,
    CameraFile,
    Classification,
    CommandFailed,
    NovatekCamera,
    UnsafePath,
    classify,
    path_parts,
)
from camtel.camera.upload import Uploader, UploadError

log = logging.getLogger(__name__)

STATE_FILE = ".camtel-sync.json"
PART_SUFFIX = ".part"
EXIT_OK, EXIT_INCOMPLETE, EXIT_NO_CAMERA = 0, 1, 2
SPACE_MARGIN = 64 * 1024 * 1024

Processor = Callable[[Path], "Path | None"]


# -- the state file ---------------------------------------------------------------------------


@dataclass
class SyncState:
    """What earlier syncs did: `files` by CameraFile.key, `partial` .part owner by local path."""

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    partial: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, dest: Path) -> SyncState:
        try:
            data = json.loads((dest / STATE_FILE).read_text())
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            raise SyncError(
                f"cannot read {dest / STATE_FILE} ({exc}); move it away to start over"
            ) from None
        return cls(files=dict(data.get("files", {})), partial=dict(data.get("partial", {})))

    def save(self, dest: Path) -> None:
        body = json.dumps({"version": 1, "files": self.files, "partial": self.partial}, indent=1)
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=".camtel-sync-", suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            fh.write(body)
        os.replace(tmp, dest / STATE_FILE)


class SyncError(Exception):
    """Something that stops the whole sync (not one file)."""


# -- the plan: a pure decision ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """A camera file that is safe to copy, where it goes and what it is."""

    file: CameraFile
    local: str  # path below dest, with forward slashes
    what: Classification


@dataclass
class Plan:
    todo: list[Item] = field(default_factory=list)
    done: list[Item] = field(default_factory=list)
    refused: list[tuple[CameraFile, str]] = field(default_factory=list)


def plan(files: list[CameraFile], state: SyncState) -> Plan:
    """Split the camera's list into new files, files synced before and refused entries.

    Locked and event clips come first (they matter most), then the oldest, which loop
    recording overwrites first. Two entries for the same local path: the first one wins.
    """
    result = Plan()
    seen: set[str] = set()
    for file in files:
        try:
            local = "/".join(path_parts(file))
        except UnsafePath as exc:
            result.refused.append((file, str(exc)))
            continue
        if local in seen:
            result.refused.append((file, f"listed twice: {file.fpath!r}"))
            continue
        seen.add(local)
        item = Item(file, local, classify(file))
        (result.done if file.key in state.files else result.todo).append(item)
    urgent = {"locked": 0, "event": 1}
    result.todo.sort(key=lambda i: urgent.get(i.what.category, 2))
    return result


# -- the work -----------------------------------------------------------------------------------


@dataclass
class Report:
    downloaded: int = 0
    bytes: int = 0
    skipped: int = 0
    refused: int = 0
    failed: int = 0
    tracks: int = 0
    uploaded: int = 0
    deleted: int = 0

    def table(self) -> Table:
        table = Table(title="camtel camera sync", show_header=False)
        for name in ("downloaded", "skipped", "refused", "failed", "tracks", "uploaded",
                     "deleted"):
            table.add_row(name, str(getattr(self, name)))
        table.add_row("bytes", f"{self.bytes:,}")
        return table


def write_track(path: Path) -> Path | None:
    """Write the recording's embedded GPS track as <stem>.gpx next to it; None without one."""
    try:
        from camtel.media.extract import run_extract
    except ImportError:  # the extraction feature is not installed in this build
        return None
    out = path.with_suffix(".gpx")
    quiet = Console(file=io.StringIO(), width=200)
    code = run_extract([path], "gpx", out, quiet)
    return out if code in (0, 3) and out.is_file() else None


class Syncer:
    """One sync of one camera into one folder."""

    def __init__(
        self,
        camera: NovatekCamera,
        dest: Path,
        console: Console,
        *,
        uploader: Uploader | None = None,
        device_id: str | None = None,
        delete_after: bool = False,
        processor: Processor | None = write_track,
        attempts: int = 5,
        backoff: float = 1.0,
    ) -> None:
        self.camera = camera
        self.dest = dest
        self.console = console
        self.uploader = uploader
        self.device_id = device_id
        self.delete_after = delete_after
        self.processor = processor
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.report = Report()
        self.state = SyncState()

    def say(self, text: str) -> None:
        self.console.print(text, highlight=False)

    def run(self) -> Report:
        self.dest.mkdir(parents=True, exist_ok=True)
        self.state = SyncState.load(self.dest)
        self.camera.heartbeat()
        switched = self._mode(MODE_PLAYBACK)
        try:
            self._sync()
        finally:
            if switched:
                self._mode(MODE_MOVIE)
        return self.report

    def _mode(self, mode: int) -> bool:
        try:
            self.camera.set_mode(mode)
        except CommandFailed as exc:  # some models list and serve files in any mode
            log.info("camera mode change refused", extra={"mode": mode, "status": exc.status})
            return False
        except CameraError:
            if mode == MODE_PLAYBACK:
                raise
            self.say("[yellow]could not put the camera back in recording mode[/]")
            return False
        return True

    def _sync(self) -> None:
        with contextlib.suppress(CameraError):
            free = self.camera.free_space()
            if free is not None:
                log.info("camera card free space", extra={"bytes": free})
        work = plan(self.camera.files(), self.state)
        self.report.skipped = len(work.done)
        self.report.refused = len(work.refused)
        for _file, reason in work.refused:
            self.say(f"[red]refused[/] {escape(reason)}")
        total = sum(i.file.size for i in work.todo)
        self.say(f"{len(work.todo)} new file(s), {total:,} bytes; {len(work.done)} already synced")
        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TransferSpeedColumn(), TimeRemainingColumn(), console=self.console,
        ) as progress:
            overall = progress.add_task("all files", total=total)
            for item in work.todo:
                if self._download(item, progress, overall):
                    self._after(item)
        for item in work.done:  # synced before: upload, track or delete what is still owed
            self._after(item)

    def _download(self, item: Item, progress: Progress, overall: Any) -> bool:
        file, target = item.file, self.dest / item.local
        part = target.with_name(target.name + PART_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        if shutil.disk_usage(target.parent).free < file.size + SPACE_MARGIN:
            raise SyncError(f"not enough free space in {self.dest} for {file.name}")
        if self.state.partial.get(item.local) != file.key or not part.is_file():
            part.write_bytes(b"")  # a .part of another version of the file starts over
        if part.stat().st_size > file.size:
            part.write_bytes(b"")
        self.state.partial[item.local] = file.key
        self.state.save(self.dest)
        task = progress.add_task(escape(file.name), total=file.size, completed=part.stat().st_size)
        progress.advance(overall, part.stat().st_size)

        def advance(count: int) -> None:
            progress.advance(task, count)
            progress.advance(overall, count)

        try:
            reached = self._fetch(file, part, advance)
        finally:
            progress.remove_task(task)
        if reached is None:
            return False
        if reached != file.size:
            part.unlink(missing_ok=True)
            self.state.partial.pop(item.local, None)
            self.state.save(self.dest)
            self.report.failed += 1
            self.say(f"[red]{escape(file.name)}: received {reached:,} bytes but the camera "
                     f"listed {file.size:,}; not kept (still recording? sync again later)[/]")
            return False
        os.replace(part, target)
        self.state.partial.pop(item.local, None)
        for key in [k for k, v in self.state.files.items() if v.get("fpath") == file.fpath]:
            del self.state.files[key]  # an older version of this file
        self.state.files[file.key] = {
            "fpath": file.fpath, "size": file.size, "local": item.local,
            "time": file.time.isoformat() if file.time else None,
            "kind": item.what.kind, "channel": item.what.channel,
            "category": item.what.category,
            "synced_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.state.save(self.dest)
        self.report.downloaded += 1
        self.report.bytes += file.size
        return True

    def _fetch(self, file: CameraFile, part: Path, advance: Callable[[int], None]) -> int | None:
        """Download into `part`, resuming after drops with back-off; None when giving up."""
        failures = 0
        with part.open("r+b") as out:
            while True:
                offset = out.seek(0, os.SEEK_END)
                try:
                    return self.camera.download(file, out, offset=offset, on_bytes=advance)
                except CameraError as exc:  # a refusal or a wrong answer: retrying won't help
                    self.report.failed += 1
                    self.say(f"[red]{escape(file.name)}: {escape(str(exc))}[/]")
                    return None
                except httpx.TransportError as exc:
                    out.flush()
                    kept = out.seek(0, os.SEEK_END)
                    failures += 1
                    if failures < self.attempts:
                        delay = min(self.backoff * 2 ** (failures - 1), 30.0)
                        log.info("download interrupted, resuming",
                                 extra={"file": file.name, "offset": kept, "delay": delay})
                        time.sleep(delay)
                        continue
                    self.report.failed += 1
                    self.say(
                        f"[red]{escape(file.name)}: the camera dropped the connection "
                        f"{failures} time(s) ({exc.__class__.__name__}); kept {kept:,} of "
                        f"{file.size:,} bytes in {escape(part.name)} to resume next time[/]"
                    )
                    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                        raise SyncError(f"lost the camera at {self.camera.url}") from exc
                    return None

    def _after(self, item: Item) -> None:
        entry = self.state.files.get(item.file.key)
        if entry is None or entry.get("deleted"):
            return
        target = self.dest / item.local
        if not target.is_file() or target.stat().st_size != item.file.size:
            return  # moved or changed locally since: nothing more to do with it
        if self.uploader is not None:
            if "media_id" not in entry and not self._upload(item, entry, target):
                return
        elif self.processor is not None and item.what.kind == "video" and "track" not in entry:
            track = self.processor(target)
            entry["track"] = track.name if track else None
            self.report.tracks += bool(track)
            self.state.save(self.dest)
        if self.delete_after:
            self._delete(item, entry)

    def _upload(self, item: Item, entry: dict[str, Any], target: Path) -> bool:
        assert self.uploader is not None

        def created(url: str) -> None:
            entry["upload_url"] = url
            self.state.save(self.dest)

        try:
            media_id = self.uploader.upload(
                target, device_id=self.device_id, channel=item.what.channel,
                resume_url=entry.get("upload_url"), on_created=created,
            )
        except UploadError as exc:
            self.report.failed += 1
            self.say(f"[red]{escape(item.file.name)}: upload failed: {escape(str(exc))}[/]")
            return False
        entry["media_id"] = media_id
        entry.pop("upload_url", None)
        self.state.save(self.dest)
        self.report.uploaded += 1
        return True

    def _delete(self, item: Item, entry: dict[str, Any]) -> None:
        if item.file.read_only or item.what.category == "locked":
            return  # the camera refuses (status -4) and the driver locked it for a reason
        try:
            self.camera.delete(item.file)
        except CameraError as exc:
            name, why = escape(item.file.name), escape(str(exc))
            self.say(f"[yellow]{name}: kept on the camera ({why})[/]")
            return
        entry["deleted"] = True
        self.state.save(self.dest)
        self.report.deleted += 1


def run_sync(
    url: str,
    dest: Path,
    upload: bool,
    server: str | None,
    token: str | None,
    delete_after: bool,
    console: Console,
    *,
    device_id: str | None = None,
    attempts: int = 5,
    backoff: float = 1.0,
    timeout: float = 15.0,
    processor: Processor | None = write_track,
) -> int:
    """`camtel camera sync`. Exit codes: 0 everything copied, 1 some file was not (refused,
    failed or left partial), 2 no usable camera or a usage problem."""
    if upload and not (server and token):
        console.print("[red]--upload needs --server URL and --token TOKEN[/]")
        return EXIT_NO_CAMERA
    dest = Path(dest)
    uploader = Uploader(server, token) if upload and server and token else None
    try:
        with NovatekCamera(url, timeout=timeout) as camera:
            syncer = Syncer(
                camera, dest, console, uploader=uploader, device_id=device_id,
                delete_after=delete_after, processor=processor, attempts=attempts,
                backoff=backoff,
            )
            try:
                report = syncer.run()
            except CameraError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                console.print(f"(is this computer on the camera's Wi-Fi, and is {url} right?)")
                return EXIT_NO_CAMERA
            except SyncError as exc:
                console.print(f"[red]{escape(str(exc))}[/]")
                console.print(syncer.report.table())
                return EXIT_INCOMPLETE
    finally:
        if uploader is not None:
            uploader.close()
    console.print(report.table())
    return EXIT_INCOMPLETE if report.failed or report.refused else EXIT_OK
