"""The Novatek client's pure parts: answers in the firmware's own layout, paths, classification."""

from __future__ import annotations

from datetime import datetime

import pytest

from camtel.camera.novatek import (
    CMD_DELETE_ONE,
    CMD_DISK_FREE_SPACE,
    CMD_FILE_LIST,
    STATUS_FILE_LOCKED,
    BadAnswer,
    CameraFile,
    CommandFailed,
    UnsafePath,
    classify,
    fat_timecode,
    from_timecode,
    http_path,
    parse_file_list,
    parse_reply,
    path_parts,
)

# Byte for byte what WifiAppXML.c's XML_FileList writes (sprintf layout, one ALLFile per file).
FILE_LIST = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<LIST>\n'
    b"<ALLFile><File>\n<NAME>2019_0520_161413_001F.MP4</NAME>\n"
    b"<FPATH>A:\\Novatek\\Movie\\2019_0520_161413_001F.MP4</FPATH>\n"
    b"<SIZE>188743680</SIZE>\n<TIMECODE>1320452550</TIMECODE>\n"
    b"<TIME>2019/05/20 16:14:13</TIME>\n<ATTR>32</ATTR></File>\n</ALLFile>\n"
    b"<ALLFile><File>\n<NAME>2019_0520_161413_001R.MP4</NAME>\n"
    b"<FPATH>A:\\Novatek\\Movie\\2019_0520_161413_001R.MP4</FPATH>\n"
    b"<SIZE>94371840</SIZE>\n<TIMECODE>1320452550</TIMECODE>\n"
    b"<TIME>2019/05/20 16:14:13</TIME>\n<ATTR>32</ATTR></File>\n</ALLFile>\n"
    b"<ALLFile><File>\n<NAME>2019_0520_161713_004F.MP4</NAME>\n"
    b"<FPATH>A:\\Novatek\\Movie\\RO\\2019_0520_161713_004F.MP4</FPATH>\n"
    b"<SIZE>188743680</SIZE>\n<TIMECODE>1320452838</TIMECODE>\n"
    b"<TIME>2019/05/20 16:17:13</TIME>\n<ATTR>33</ATTR></File>\n</ALLFile>\n"
    b"</LIST>\n"
)


def _file(fpath: str, name: str | None = None, attr: int = 32) -> CameraFile:
    return CameraFile(name or fpath.split("\\")[-1], fpath, 10, None, None, attr)


def test_fat_timecode_is_the_firmware_formula() -> None:
    # (FAT date << 16) + FAT time, FAT seconds in 2-second units.
    when = datetime(2019, 5, 20, 16, 14, 12)
    date = ((2019 - 1980) << 9) | (5 << 5) | 20
    clock = (16 << 11) | (14 << 5) | (12 // 2)
    assert fat_timecode(when) == (date << 16) + clock == 1320452550
    assert from_timecode(1320452550) == when
    assert from_timecode(0) is None


def test_file_list_in_firmware_layout() -> None:
    files = parse_file_list(FILE_LIST)
    assert [f.name for f in files] == [
        "2019_0520_161413_001F.MP4",
        "2019_0520_161413_001R.MP4",
        "2019_0520_161713_004F.MP4",
    ]
    first = files[0]
    assert first.size == 188743680
    assert first.time == datetime(2019, 5, 20, 16, 14, 13)
    assert first.timecode == 1320452550
    assert not first.read_only and files[2].read_only
    assert first.key == "A:\\Novatek\\Movie\\2019_0520_161413_001F.MP4|188743680|1320452550"
    assert http_path(files[2]) == "/Novatek/Movie/RO/2019_0520_161713_004F.MP4"


def test_file_list_variants_cdata_single_wrapper_no_time() -> None:
    body = (
        b"<LIST><ALLFile>"
        b"<File><NAME><![CDATA[A&B_0001F.MP4]]></NAME>"
        b"<FPATH><![CDATA[A:\\DCIM\\Movie\\A&B_0001F.MP4]]></FPATH>"
        b"<SIZE>5</SIZE><TIMECODE>1320452550</TIMECODE><ATTR>32</ATTR></File>"
        b"<File><NAME>no-size.MP4</NAME><FPATH>A:\\DCIM\\no-size.MP4</FPATH></File>"
        b"</ALLFile></LIST>"
    )
    (only,) = parse_file_list(body)
    assert only.name == "A&B_0001F.MP4"
    assert only.time == datetime(2019, 5, 20, 16, 14, 12)  # from TIMECODE


@pytest.mark.parametrize(
    "body",
    [
        b"<LIST><ALLFile><File><NAME>x",
        b"",
        b"<html>camera busy</html>",
        b'<?xml version="1.0"?><!DOCTYPE LIST [<!ENTITY a "aaaa">]><LIST>&a;</LIST>',
    ],
)
def test_bad_file_list_is_a_clear_error(body: bytes) -> None:
    with pytest.raises(BadAnswer, match="cmd=3015"):
        parse_file_list(body)


def test_file_list_refused_with_a_status() -> None:
    body = b"<Function>\n<Cmd>3015</Cmd>\n<Status>-3</Status>\n</Function>"
    with pytest.raises(CommandFailed) as caught:
        parse_file_list(body)
    assert caught.value.cmd == CMD_FILE_LIST and caught.value.status == -3


def test_replies_value_string_and_status() -> None:
    value = parse_reply(
        b'<?xml version="1.0" encoding="UTF-8" ?>\n<Function>\n<Cmd>3017</Cmd>\n'
        b"<Status>0</Status>\n<Value>31914983424</Value>\n</Function>",
        CMD_DISK_FREE_SPACE,
    )
    assert value.status == 0 and value.value == 31914983424
    locked = parse_reply(
        b"<Function>\n<Cmd>4003</Cmd>\n<Status>-4</Status>\n</Function>", CMD_DELETE_ONE
    )
    assert locked.status == STATUS_FILE_LOCKED
    text = parse_reply(
        b"<Function><Cmd>3012</Cmd><Status>0</Status><String>V1.0</String></Function>", 3012
    )
    assert text.string == "V1.0"
    with pytest.raises(BadAnswer):
        parse_reply(b"<Function><Cmd>3016</Cmd></Function>", 3016)


@pytest.mark.parametrize(
    ("fpath", "name"),
    [
        ("A:\\Novatek\\Movie\\..\\..\\..\\etc\\evil.MP4", "evil.MP4"),
        ("A:\\..\\evil.MP4", "evil.MP4"),
        ("..\\evil.MP4", "evil.MP4"),
        ("A:\\Novatek\\Movie/../../evil.MP4", "evil.MP4"),
        ("A:\\Novatek\\C:\\evil.MP4", "evil.MP4"),
        ("A:\\Novatek\\.camtel-sync.json", ".camtel-sync.json"),
        ("A:\\Novatek\\Movie\\x.MP4", "..\\x.MP4"),
        ("A:\\Novatek\\Movie\\x\x00.MP4", "x\x00.MP4"),
        ("A:\\Novatek\\Movie\\run.sh", "run.sh"),
        ("A:\\", ""),
    ],
)
def test_hostile_paths_are_refused(fpath: str, name: str) -> None:
    with pytest.raises(UnsafePath):
        path_parts(_file(fpath, name))


def test_safe_paths_keep_their_folders() -> None:
    assert path_parts(_file("A:\\DCIM\\Movie\\Parking\\2026_0915_120000_000201PF.MP4")) == (
        "DCIM", "Movie", "Parking", "2026_0915_120000_000201PF.MP4",
    )


@pytest.mark.parametrize(
    ("fpath", "attr", "kind", "channel", "category"),
    [
        ("A:\\Novatek\\Movie\\2026_1126_083001_001F.MP4", 32, "video", "front", "normal"),
        ("A:\\Novatek\\Movie\\2026_1126_083001_001R.MP4", 32, "video", "rear", "normal"),
        ("A:\\DCIM\\Movie\\2026_0915_080000_000101I.MP4", 32, "video", "cabin", "normal"),
        ("A:\\DCIM\\Movie\\RO\\2026_0915_080130_000301F.MP4", 32, "video", "front", "locked"),
        ("A:\\Novatek\\Movie\\2026_1126_083001_001F.MP4", 33, "video", "front", "locked"),
        ("A:\\DCIM\\Movie\\Parking\\2026_0915_120000_000201F.MP4", 32, "video", "front", "parking"),
        ("A:\\DCIM\\Movie\\2026_0915_120000_000201PR.MP4", 32, "video", "rear", "parking"),
        ("A:\\CARDV\\EMR\\2026_1003_101500_001.MP4", 32, "video", None, "event"),
        ("A:\\Novatek\\Photo\\2026_1126_083301_005F.JPG", 32, "photo", "front", "normal"),
        ("A:\\Novatek\\Movie\\20250619070156_001134.TS", 32, "video", None, "normal"),
    ],
)
def test_classification(fpath: str, attr: int, kind: str, channel: str | None,
                        category: str) -> None:
    what = classify(_file(fpath, attr=attr))
    assert (what.kind, what.channel, what.category) == (kind, channel, category)


def test_bare_ampersand_from_sprintf_is_tolerated() -> None:
    body = (
        b"<LIST><ALLFile><File><NAME>A&B_0001F.MP4</NAME><FPATH>A:\\DCIM\\A&B_0001F.MP4</FPATH>"
        b"<SIZE>5</SIZE><TIME>2026/11/26 08:30:01</TIME><ATTR>32</ATTR></File></ALLFile></LIST>"
    )
    (only,) = parse_file_list(body)
    assert only.name == "A&B_0001F.MP4" and only.fpath == "A:\\DCIM\\A&B_0001F.MP4"
