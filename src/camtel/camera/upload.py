"""Sending synced recordings to a camtel server: multipart for small files, tus 1.0 for large.

`POST /api/v1/media` (multipart field `file`, optional `device_id`, `channel`) answers 201
`{"id", ...}`. Larger files go through `/api/v1/media/uploads` (tus core + creation), which
survives a dropped connection: the upload URL is handed to `on_created` so that the next
sync can ask the server where it stopped (HEAD) and go on from there.
"""

from __future__ import annotations

import base64
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
TUS_THRESHOLD = 16 * 1024 * 1024
TUS_CHUNK = 8 * 1024 * 1024
CONTENT_TYPES = {".mp4": "video/mp4", ".mov": "video/quicktime", ".ts": "video/mp2t",
                 ".avi": "video/x-msvideo", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class UploadError(Exception):
    """The server refused or lost an upload; the message says why in a sentence."""


class _NoTus(Exception):
    """The server has no tus endpoint: fall back to multipart."""


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _problem(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("title")
        if isinstance(detail, str):
            return f"HTTP {response.status_code}: {detail}"
    return f"HTTP {response.status_code}"


def _refusal(response: httpx.Response) -> UploadError:
    if response.status_code == 401:
        return UploadError("the server refused the token (401): sign in again or check --token")
    if response.status_code == 413:
        return UploadError(f"the server refused the file as too large or over quota "
                           f"({_problem(response)})")
    return UploadError(f"the server refused the upload ({_problem(response)})")


def _media_id(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for name in ("id", "media_id"):
            if isinstance(body.get(name), str | int):
                return str(body[name])
    return response.headers.get("camtel-media-id")


class Uploader:
    """Uploads to one camtel server with one token."""

    def __init__(self, server: str, token: str, *, client: httpx.Client | None = None,
                 timeout: float = 60.0, tus_threshold: int = TUS_THRESHOLD,
                 chunk: int = TUS_CHUNK) -> None:
        self.server = server.rstrip("/")
        self._client = client or httpx.Client(timeout=timeout)
        self._own = client is None
        self._auth = {"Authorization": f"Bearer {token}"}
        self.tus_threshold = tus_threshold
        self.chunk = chunk

    def close(self) -> None:
        if self._own:
            self._client.close()

    def upload(
        self,
        path: Path,
        *,
        device_id: str | None = None,
        channel: str | None = None,
        resume_url: str | None = None,
        on_created: Callable[[str], None] | None = None,
        on_bytes: Callable[[int], None] | None = None,
    ) -> str | None:
        """Upload one file; returns the media id when the server says it."""
        try:
            if path.stat().st_size > self.tus_threshold or resume_url:
                with contextlib.suppress(_NoTus):
                    return self._tus(path, device_id, channel, resume_url, on_created, on_bytes)
            return self._multipart(path, device_id, channel, on_bytes)
        except httpx.TransportError as exc:
            raise UploadError(f"lost the connection to {self.server} "
                              f"({exc.__class__.__name__})") from exc

    def _multipart(self, path: Path, device_id: str | None, channel: str | None,
                   on_bytes: Callable[[int], None] | None) -> str | None:
        data = {k: v for k, v in (("device_id", device_id), ("channel", channel)) if v}
        kind = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        with path.open("rb") as fh:
            response = self._client.post(
                f"{self.server}/api/v1/media",
                headers=self._auth,
                data=data,
                # a file in all but its type: `read` counts, the rest is `fh`'s
                files={"file": (path.name, cast(BinaryIO, _Counting(fh, on_bytes)), kind)},
            )
        if response.status_code not in (200, 201):
            raise _refusal(response)
        return _media_id(response)

    def _tus(self, path: Path, device_id: str | None, channel: str | None,
             resume_url: str | None, on_created: Callable[[str], None] | None,
             on_bytes: Callable[[int], None] | None) -> str | None:
        headers = {**self._auth, "Tus-Resumable": TUS_VERSION}
        size = path.stat().st_size
        url, offset = None, 0
        if resume_url:
            head = self._client.head(resume_url, headers=headers)
            if head.status_code in (200, 204) and head.headers.get("upload-offset", "").isdigit():
                url, offset = resume_url, int(head.headers["upload-offset"])
        if url is None:
            meta = {"filename": path.name, "device_id": device_id, "channel": channel,
                    "filetype": CONTENT_TYPES.get(path.suffix.lower())}
            pairs = ",".join(f"{k} {_b64(v)}" for k, v in meta.items() if v)
            created = self._client.post(
                f"{self.server}/api/v1/media/uploads",
                headers={**headers, "Upload-Length": str(size), "Upload-Metadata": pairs},
            )
            if created.status_code in (404, 405):
                raise _NoTus
            if created.status_code != 201 or "location" not in created.headers:
                raise _refusal(created)
            url = str(httpx.URL(f"{self.server}/").join(created.headers["location"]))
            if on_created:
                on_created(url)
        response = None
        with path.open("rb") as fh:
            while offset < size:
                fh.seek(offset)
                block = fh.read(self.chunk)
                response = self._client.patch(url, content=block, headers={
                    **headers, "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream"})
                if response.status_code == 409:  # we and the server disagree: ask and go on
                    head = self._client.head(url, headers=headers)
                    offset = int(head.headers.get("upload-offset", "0"))
                    continue
                if response.status_code not in (200, 204):
                    raise _refusal(response)
                reached = int(response.headers.get("upload-offset", offset + len(block)))
                if on_bytes:
                    on_bytes(reached - offset)
                offset = reached
        if response is None:  # resumed an upload that was already complete
            response = self._client.head(url, headers=headers)
        return _media_id(response)


class _Counting:
    """A read-only file wrapper that reports how much was read (multipart progress)."""

    def __init__(self, fh: BinaryIO, on_bytes: Callable[[int], None] | None) -> None:
        self._fh = fh
        self._on_bytes = on_bytes

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        if self._on_bytes and data:
            self._on_bytes(len(data))
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)
