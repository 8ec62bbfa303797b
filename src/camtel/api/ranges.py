"""Answers with stored bytes, for recordings and share links alike: the whole body, one range,
several ranges (`multipart/byteranges`), 304 for If-None-Match, If-Range, and 416 as problem
details with `Content-Range: bytes */size`.

The header decisions are `camtel.media.ranges`; `plan` turns them into an answer's status,
headers and parts without any I/O, and `answer` streams that plan from a reader."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from camtel.api.problems import problem
from camtel.media import service
from camtel.media.ranges import ByteRange, Unsatisfiable, etag_matches, if_range_holds, parse_range
from camtel.media.service import MediaLibrary

#: Reads bytes [start, end) of the stored object, decrypted.
Read = Callable[[int, int], AsyncIterator[bytes]]


@dataclass(frozen=True, slots=True)
class Part:
    """One piece of the body: `head` (a multipart part's delimiter and headers, else empty),
    then bytes `span` of the object."""

    head: bytes
    span: ByteRange


@dataclass(frozen=True, slots=True)
class Plan:
    """What to answer: status and headers, and for 200/206 the parts of the body in order,
    then `tail` (the closing delimiter of a multipart body). `send_body` is False for HEAD."""

    status: int
    headers: dict[str, str]
    size: int
    media_type: str | None = None
    parts: tuple[Part, ...] = ()
    tail: bytes = b""
    send_body: bool = True

    @property
    def reads(self) -> bool:
        """Whether the answer needs the stored bytes (or their key): 200 and 206."""
        return self.status in (200, 206)


def plan(
    *,
    method: str,
    range_header: str | None,
    if_range: str | None,
    if_none_match: str | None,
    size: int,
    etag: str,
    content_type: str,
    headers: dict[str, str],
    boundary: str | None = None,
) -> Plan:
    """The answer to a GET or HEAD of `size` bytes tagged `etag`; `headers` go on every
    answer (ETag, Accept-Ranges, Cache-Control...), `boundary` separates several ranges."""
    if etag_matches(if_none_match, etag):
        return Plan(status=304, headers=dict(headers), size=size)
    wanted: list[ByteRange] | None = None
    if if_range_holds(if_range, etag):
        try:
            wanted = parse_range(range_header, size)
        except Unsatisfiable:
            unsatisfied = {**headers, "Content-Range": f"bytes */{size}"}
            return Plan(status=416, headers=unsatisfied, size=size)
    sent = dict(headers)
    parts: tuple[Part, ...]
    if wanted is None:
        media_type, parts, tail = content_type, (Part(b"", ByteRange(0, size)),), b""
    elif len(wanted) == 1:
        media_type, parts, tail = content_type, (Part(b"", wanted[0]),), b""
        sent["Content-Range"] = wanted[0].content_range(size)
    else:
        boundary = boundary or secrets.token_hex(12)
        media_type = f"multipart/byteranges; boundary={boundary}"
        parts = tuple(
            Part(
                (
                    f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Range: {piece.content_range(size)}\r\n\r\n"
                ).encode(),
                piece,
            )
            for piece in wanted
        )
        tail = f"\r\n--{boundary}--\r\n".encode()
    sent["Content-Length"] = str(sum(len(p.head) + p.span.length for p in parts) + len(tail))
    return Plan(
        status=200 if wanted is None else 206,
        headers=sent,
        size=size,
        media_type=media_type,
        parts=parts,
        tail=tail,
        send_body=method != "HEAD",
    )


def for_request(
    request: Request, *, size: int, etag: str, content_type: str, headers: dict[str, str]
) -> Plan:
    """`plan` for this request's method, Range, If-Range and If-None-Match."""
    return plan(
        method=request.method,
        range_header=request.headers.get("range"),
        if_range=request.headers.get("if-range"),
        if_none_match=request.headers.get("if-none-match"),
        size=size,
        etag=etag,
        content_type=content_type,
        headers=headers,
    )


def stored(lib: MediaLibrary, *, data_key: bytes, key: str, object_id: bytes, size: int) -> Read:
    """A reader of a stored object of `size` plaintext bytes, decrypting only what is read."""

    def read(start: int, end: int) -> AsyncIterator[bytes]:
        return service.read_object(
            lib,
            data_key=data_key,
            key=key,
            object_id=object_id,
            start=start,
            end=end,
            total=size,
        )

    return read


def answer(decided: Plan, read: Read | None = None) -> Response:
    """The response for a plan; `read` is needed when the plan `reads` and sends a body."""
    if decided.status == 304:
        return Response(status_code=304, headers=decided.headers)
    if decided.status == 416:
        return problem(
            416,
            "range-not-satisfiable",
            "Range not satisfiable",
            f"the recording has {decided.size} bytes",
            headers=decided.headers,
        )
    if not decided.send_body:
        return Response(
            status_code=decided.status, headers=decided.headers, media_type=decided.media_type
        )
    if read is None:
        raise TypeError("a plan that sends bytes needs a reader")
    return StreamingResponse(
        body(decided, read),
        status_code=decided.status,
        headers=decided.headers,
        media_type=decided.media_type,
    )


async def body(decided: Plan, read: Read) -> AsyncIterator[bytes]:
    """The bytes of a plan: each part's head and its span, then the tail."""
    for part in decided.parts:
        if part.head:
            yield part.head
        async for chunk in read(part.span.start, part.span.end):
            yield chunk
    if decided.tail:
        yield decided.tail
