"""Object stores for media bytes: a local directory (the default) and any S3-compatible store.

Stores see only opaque keys and (already encrypted) bytes; they never hold a whole object in
memory. Blocking I/O runs in threads so the event loop never waits on a disk or a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlparse

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,299}$")


class StoreError(RuntimeError):
    """The store failed or an object is missing."""


class Store(Protocol):
    """Where media objects live, addressed by opaque keys."""

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        """Write a stream as the object `key` (replacing it); returns the bytes written."""
        ...

    def get(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes [start, end) of an object (end None: to the end), in chunks."""
        ...

    async def delete(self, key: str) -> None:
        """Remove an object; missing is fine."""
        ...

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int:
        """The object's size in bytes; StoreError when it does not exist."""
        ...

    async def sweep_unfinished(self, *, before: datetime) -> int:
        """Remove what writes that never finished left (a process killed mid-upload), last
        touched before `before`; returns how many went."""
        ...


def check_key(key: str) -> str:
    """Keys are made by camtel, but a bad one must never escape the store's root."""
    if not _KEY.match(key) or ".." in key.split("/") or "//" in key:
        raise StoreError(f"bad object key {key!r}")
    return key


class LocalStore:
    """Objects as files under a directory; writes land in a temporary file, then rename."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(key)
        await asyncio.to_thread(path.parent.mkdir, parents=True, exist_ok=True)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
        file = await asyncio.to_thread(open, temp, "wb")
        written = 0
        # Double buffering: a full buffer is written in a thread while the next one fills, so
        # receiving, hashing and sealing overlap the disk instead of waiting for it.
        writing: asyncio.Future[Any] | None = None
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= CHUNK:
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(asyncio.to_thread(file.write, buffer))
                    written += len(buffer)
                    buffer = bytearray()
            if writing is not None:
                await writing
                writing = None
            if buffer:
                await asyncio.to_thread(file.write, buffer)
                written += len(buffer)
            await asyncio.to_thread(file.flush)
            await asyncio.to_thread(os.fsync, file.fileno())
            await asyncio.to_thread(file.close)
            await asyncio.to_thread(os.replace, temp, path)
        except BaseException:
            if writing is not None:  # let the thread finish with the file before closing it
                await asyncio.gather(writing, return_exceptions=True)
            file.close()
            temp.unlink(missing_ok=True)
            raise
        return written

    async def get(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            file = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise StoreError(f"object {key} not found") from None
        try:
            await asyncio.to_thread(file.seek, start)
            left = None if end is None else max(0, end - start)
            while left is None or left > 0:
                data = await asyncio.to_thread(
                    file.read, CHUNK if left is None else min(CHUNK, left)
                )
                if not data:
                    break
                if left is not None:
                    left -= len(data)
                yield data
        finally:
            file.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def size(self, key: str) -> int:
        try:
            return (await asyncio.to_thread(self._path(key).stat)).st_size
        except FileNotFoundError:
            raise StoreError(f"object {key} not found") from None

    async def sweep_unfinished(self, *, before: datetime) -> int:
        """Delete temporary files that no write will finish: `put` removes its own on any
        error, but not when the process is killed. A write under way touches its file at
        every MiB, so one untouched since `before` (the retention chore passes a day ago)
        has no writer left."""
        cutoff = before.timestamp()

        def sweep() -> int:
            gone = 0
            for path in self.root.rglob(".*.part"):
                with contextlib.suppress(FileNotFoundError):
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        gone += 1
            return gone

        return await asyncio.to_thread(sweep)


class S3Store:
    """Objects in an S3-compatible bucket under a prefix (boto3, its calls run in threads).

    Large objects go up as multipart uploads of `part_size` bytes, so memory stays constant.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: Any = None,
        endpoint_url: str | None = None,
        part_size: int = 8 * 1024 * 1024,
    ) -> None:
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = max(part_size, 5 * 1024 * 1024)  # S3's smallest non-final part

    def _key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterable[bytes]) -> int:
        name = self._key(key)
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        made = await asyncio.to_thread(
                            self.client.create_multipart_upload, Bucket=self.bucket, Key=name
                        )
                        upload_id = made["UploadId"]
                    body = bytes(buffer[: self.part_size])
                    del buffer[: self.part_size]
                    number = len(parts) + 1
                    answer = await asyncio.to_thread(
                        self.client.upload_part,
                        Bucket=self.bucket,
                        Key=name,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=body,
                    )
                    parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                    written += len(body)
            if upload_id is None:
                await asyncio.to_thread(
                    self.client.put_object, Bucket=self.bucket, Key=name, Body=bytes(buffer)
                )
                return written + len(buffer)
            if buffer or not parts:
                number = len(parts) + 1
                answer = await asyncio.to_thread(
                    self.client.upload_part,
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=bytes(buffer),
                )
                parts.append({"PartNumber": number, "ETag": answer["ETag"]})
                written += len(buffer)
            await asyncio.to_thread(
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=name,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
            return written
        except BaseException:
            if upload_id is not None:
                await asyncio.to_thread(
                    self.client.abort_multipart_upload,
                    Bucket=self.bucket,
                    Key=name,
                    UploadId=upload_id,
                )
            raise

    async def get(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        if end is not None and end <= start:
            return
        wanted = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            answer = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=self._key(key), Range=wanted
            )
        except self.client.exceptions.NoSuchKey:
            raise StoreError(f"object {key} not found") from None
        except Exception as exc:
            if "InvalidRange" in str(exc):  # a range starting at the end of the object
                return
            raise
        body = answer["Body"]
        try:
            while True:
                data = await asyncio.to_thread(body.read, CHUNK)
                if not data:
                    break
                yield data
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self.size(key)
        except StoreError:
            return False
        return True

    async def size(self, key: str) -> int:
        try:
            head = await asyncio.to_thread(
                self.client.head_object, Bucket=self.bucket, Key=self._key(key)
            )
        except Exception as exc:
            if "404" in str(exc) or "Not Found" in str(exc):
                raise StoreError(f"object {key} not found") from None
            raise
        return int(head["ContentLength"])

    async def sweep_unfinished(self, *, before: datetime) -> int:
        """Nothing: `put` aborts its multipart upload on any error, and what a killed process
        left unfinished is for the bucket's lifecycle rule (AbortIncompleteMultipartUpload,
        docs/deployment.md)."""
        return 0


def open_store(url: str, data_dir: Path, *, s3_endpoint: str | None = None) -> Store:
    """The store for `CAMTEL_MEDIA_URL`: empty → `<data_dir>/media`, `file:///path`, or
    `s3://bucket/prefix` (credentials and region the usual AWS way: environment, profile)."""
    if not url:
        return LocalStore(data_dir / "media")
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalStore(Path(unquote(parsed.netloc + parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ValueError("an s3:// media URL needs a bucket: s3://bucket/prefix")
        return S3Store(parsed.netloc, parsed.path, endpoint_url=s3_endpoint)
    raise ValueError(f"unsupported media URL {url!r}: use file:///path or s3://bucket/prefix")
