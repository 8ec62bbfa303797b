"""Range and conditional-request decisions."""

from __future__ import annotations

import pytest

from camtel.media.ranges import ByteRange, Unsatisfiable, etag_matches, if_range_holds, parse_range


def test_ranges():
    assert parse_range(None, 100) is None
    assert parse_range("bytes=0-9", 100) == [ByteRange(0, 10)]
    assert parse_range("bytes=90-", 100) == [ByteRange(90, 100)]
    assert parse_range("bytes=-5", 100) == [ByteRange(95, 100)]
    assert parse_range("bytes=-500", 100) == [ByteRange(0, 100)]
    assert parse_range("bytes=95-200", 100) == [ByteRange(95, 100)]
    assert parse_range("bytes=0-0,50-59", 100) == [ByteRange(0, 1), ByteRange(50, 60)]
    assert parse_range("bytes=200-,10-19", 100) == [ByteRange(10, 20)]
    assert ByteRange(95, 100).content_range(100) == "bytes 95-99/100"


@pytest.mark.parametrize("header", ["items=0-1", "bytes=5-1", "bytes=x-", "bytes=1", "bytes="])
def test_ignored_headers(header):
    assert parse_range(header, 100) is None


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=150-200", "bytes=-0"])
def test_unsatisfiable(header):
    with pytest.raises(Unsatisfiable):
        parse_range(header, 100)


def test_conditionals():
    tag = '"abc"'
    assert etag_matches('"abc"', tag) and etag_matches('W/"abc", "x"', tag)
    assert etag_matches("*", tag) and not etag_matches('"x"', tag) and not etag_matches(None, tag)
    assert if_range_holds(None, tag) and if_range_holds('"abc"', tag)
    assert not if_range_holds('"old"', tag) and not if_range_holds('W/"abc"', tag)
    assert not if_range_holds("Wed, 21 Oct 2015 07:28:00 GMT", tag)
