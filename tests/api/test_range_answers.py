"""Answers with stored bytes (api/ranges.py), planned and streamed without a database or a
store: statuses, headers, single and multipart bodies, on examples and random ranges."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from hypothesis import given
from hypothesis import strategies as st

from camtel.api import ranges

ETAG = '"abc"'
BASE = {"ETag": ETAG, "Accept-Ranges": "bytes"}


def _plan(
    size: int,
    range_header: str | None = None,
    *,
    method: str = "GET",
    if_range: str | None = None,
    if_none_match: str | None = None,
) -> ranges.Plan:
    return ranges.plan(
        method=method,
        range_header=range_header,
        if_range=if_range,
        if_none_match=if_none_match,
        size=size,
        etag=ETAG,
        content_type="video/mp4",
        headers=BASE,
        boundary="BOUNDARY",
    )


def _assembled(plan: ranges.Plan, data: bytes) -> bytes:
    """The body a plan describes, read from `data` the way `ranges.body` reads the store."""
    pieces = [part.head + data[part.span.start : part.span.end] for part in plan.parts]
    return b"".join(pieces) + plan.tail


def _memory(data: bytes, calls: list[tuple[int, int]] | None = None) -> ranges.Read:
    async def read(start: int, end: int) -> AsyncIterator[bytes]:
        if calls is not None:
            calls.append((start, end))
        for at in range(start, end, 7):  # in small chunks, as a store may answer
            yield data[at : min(end, at + 7)]

    return read


async def _streamed(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join([chunk async for chunk in response.body_iterator])


def _parts(body: bytes, boundary: str) -> list[tuple[dict[str, str], bytes]]:
    """Split a multipart/byteranges body into (headers, bytes) per part (RFC 9110 §14.6)."""
    delimiter = f"\r\n--{boundary}".encode()
    assert body.startswith(delimiter) and body.endswith(delimiter + b"--\r\n")
    found = []
    for chunk in body[len(delimiter) : -len(delimiter + b"--\r\n")].split(delimiter):
        head, _, content = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        found.append((fields, content))
    return found


# Examples


def test_the_whole_body_without_a_range():
    plan = _plan(100)
    assert plan.status == 200 and plan.reads and plan.send_body
    assert plan.headers == {**BASE, "Content-Length": "100"} and plan.media_type == "video/mp4"
    assert [(p.head, p.span.start, p.span.end) for p in plan.parts] == [(b"", 0, 100)]


def test_one_range():
    plan = _plan(100, "bytes=10-19")
    assert plan.status == 206 and plan.media_type == "video/mp4"
    assert plan.headers["Content-Range"] == "bytes 10-19/100"
    assert plan.headers["Content-Length"] == "10" and not plan.tail


def test_several_ranges_are_one_multipart_body():
    data = bytes(range(100))
    plan = _plan(100, "bytes=0-1,50-52")
    assert plan.status == 206
    assert plan.media_type == "multipart/byteranges; boundary=BOUNDARY"
    body = _assembled(plan, data)
    assert int(plan.headers["Content-Length"]) == len(body)
    assert _parts(body, "BOUNDARY") == [
        ({"Content-Type": "video/mp4", "Content-Range": "bytes 0-1/100"}, data[0:2]),
        ({"Content-Type": "video/mp4", "Content-Range": "bytes 50-52/100"}, data[50:53]),
    ]


def test_a_range_past_the_end_is_416_with_the_size():
    plan = _plan(100, "bytes=100-")
    assert plan.status == 416 and not plan.reads
    assert plan.headers == {**BASE, "Content-Range": "bytes */100"}
    answer = ranges.answer(plan)
    assert answer.status_code == 416
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["content-range"] == "bytes */100" and answer.headers["etag"] == ETAG
    problem = json.loads(bytes(answer.body))
    assert problem["status"] == 416 and problem["type"].endswith("/range-not-satisfiable")
    assert problem["detail"] == "the recording has 100 bytes"


def test_conditionals():
    # If-None-Match wins over Range: 304 with the validators and nothing read.
    same = _plan(100, "bytes=0-9", if_none_match=f'W/{ETAG}, "other"')
    assert same.status == 304 and not same.reads and same.headers == BASE
    assert ranges.answer(same).status_code == 304
    # If-Range with another validator: the Range no longer applies, the whole body does.
    stale = _plan(100, "bytes=0-9", if_range='"old"')
    assert stale.status == 200 and stale.headers["Content-Length"] == "100"
    # ...even a Range that could not be served.
    assert _plan(100, "bytes=500-", if_range='"old"').status == 200
    assert _plan(100, "bytes=0-9", if_range=ETAG).status == 206
    # A header camtel ignores (another unit, bad syntax, too many ranges) sends it all.
    for ignored in ("items=0-1", "bytes=5-1", ",".join(["bytes=0-0"] + ["1-1"] * 16)):
        assert _plan(100, ignored).status == 200


def test_head_has_the_headers_of_get_and_no_body():
    for header in (None, "bytes=0-9", "bytes=0-1,5-6"):
        get, head = _plan(100, header), _plan(100, header, method="HEAD")
        assert head.headers == get.headers and head.status == get.status
        assert not head.send_body
        answer = ranges.answer(head)
        assert (
            answer.body == b"" and answer.headers["content-length"] == get.headers["Content-Length"]
        )


async def test_the_answer_streams_only_the_ranges_asked_for():
    data = bytes(range(256)) * 4
    calls: list[tuple[int, int]] = []
    plan = _plan(len(data), "bytes=1000-,3-40", if_range=ETAG)
    answer = ranges.answer(plan, _memory(data, calls))
    body = await _streamed(answer)
    assert answer.status_code == 206 and calls == [(1000, 1024), (3, 41)]
    assert len(body) == int(answer.headers["content-length"])
    assert [content for _, content in _parts(body, "BOUNDARY")] == [data[1000:], data[3:41]]

    whole = ranges.answer(_plan(len(data)), _memory(data))
    assert await _streamed(whole) == data


def test_each_answer_has_its_own_boundary():
    def plan() -> ranges.Plan:
        return ranges.plan(
            method="GET",
            range_header="bytes=0-0,2-2",
            if_range=None,
            if_none_match=None,
            size=10,
            etag=ETAG,
            content_type="video/mp4",
            headers={},
        )

    first, second = plan(), plan()
    assert first.media_type != second.media_type
    assert first.media_type and first.media_type.startswith("multipart/byteranges; boundary=")


# Properties over random sizes and ranges

specs = st.one_of(
    st.tuples(st.integers(0, 5000), st.one_of(st.none(), st.integers(0, 5000))).map(
        lambda p: f"{p[0]}-" if p[1] is None else f"{p[0]}-{p[0] + p[1]}"
    ),
    st.integers(0, 5000).map(lambda n: f"-{n}"),
)


@given(size=st.integers(1, 4000), wanted=st.lists(specs, min_size=1, max_size=16))
def test_a_planned_body_is_what_its_headers_say(size: int, wanted: list[str]) -> None:
    data = bytes(i % 251 for i in range(size))
    plan = _plan(size, "bytes=" + ",".join(wanted))
    if plan.status == 416:
        assert plan.headers["Content-Range"] == f"bytes */{size}" and not plan.parts
        return
    body = _assembled(plan, data)
    assert int(plan.headers["Content-Length"]) == len(body)
    assert all(0 <= p.span.start < p.span.end <= size for p in plan.parts)
    if plan.status == 200:
        assert body == data
    elif len(plan.parts) == 1:
        span = plan.parts[0].span
        assert body == data[span.start : span.end]
        assert plan.headers["Content-Range"] == f"bytes {span.start}-{span.end - 1}/{size}"
    else:
        assert len(plan.parts) == len(_parts(body, "BOUNDARY")) > 1
        for (fields, content), part in zip(_parts(body, "BOUNDARY"), plan.parts, strict=True):
            start, end = part.span.start, part.span.end
            assert fields["Content-Range"] == f"bytes {start}-{end - 1}/{size}"
            assert content == data[start:end]


@given(size=st.integers(1, 4000), start=st.integers(0, 8000))
def test_a_range_from_beyond_the_end_is_416_and_from_within_is_the_tail(
    size: int, start: int
) -> None:
    plan = _plan(size, f"bytes={start}-")
    if start >= size:
        assert plan.status == 416 and plan.headers["Content-Range"] == f"bytes */{size}"
    else:
        assert plan.status == 206 and plan.headers["Content-Length"] == str(size - start)
