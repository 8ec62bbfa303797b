"""JT/T 808 terminal parameters: 0x0104 answers and 0x8103 settings, typed as the standard says.

No capture of a 0x0104 is in tests/data/vectors, so the frames are built byte by byte from the
standard's layout (JT/T 808-2013 8.11 and table 10; JT/T 808-2019 8.12 and table 12): answered
serial WORD, count BYTE, then per parameter a DWORD id, a BYTE length and the value.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from camtel.messages import Command, CommandReply
from camtel.protocols import jt808
from camtel.protocols.jt808_parameters import (
    DWORD,
    OCTETS,
    PARAMETERS,
    STRING,
    WORD,
    decode_list,
    decode_value,
    encode_value,
)

NOW = datetime(2026, 12, 1, tzinfo=UTC)

# The types as the standard's tables give them, written out independently of the module.
STRINGS = {
    *range(0x0010, 0x0018),  # APN, dial user and password, address: main and backup
    0x001A, 0x001D,  # IC card authentication servers
    *range(0x0023, 0x0027),  # 2019: secondary server APN, user, password, backup address
    *range(0x0040, 0x0045), 0x0048, 0x0049,  # phone numbers
    0x0083,  # plate
}  # fmt: skip
WORDS = {0x0031, 0x005B, 0x005C, 0x005D, 0x005E, 0x0081, 0x0082, 0x0101, 0x0103}
BYTES = {0x0084, 0x0090, 0x0091, 0x0092, 0x0094}
OCTET_SIZES = {0x0032: 4, **dict.fromkeys(range(0x0110, 0x0200), 8)}
DWORDS = {
    *range(0x0001, 0x0008), 0x0018, 0x0019, 0x001B, 0x001C, 0x0020, 0x0021, 0x0022,
    *range(0x0027, 0x002A), *range(0x002C, 0x0031), *range(0x0045, 0x0048),
    *range(0x0050, 0x005B), 0x0064, 0x0065, *range(0x0070, 0x0075), 0x0080, 0x0093, 0x0095,
    0x0100, 0x0102,
}  # fmt: skip


def xor(data: bytes) -> int:
    result = 0
    for byte in data:
        result ^= byte
    return result


def item(parameter_id: int, value: bytes) -> bytes:
    return struct.pack(">IB", parameter_id, len(value)) + value


def answer_frame(answered: int, items: list[bytes], *, version_2019: bool = False) -> bytes:
    """An un-escaped 0x0104 frame from terminal 013912345678 (20 digits with 2019's header)."""
    body = struct.pack(">HB", answered, len(items)) + b"".join(items)
    properties = len(body) | (1 << 14 if version_2019 else 0)
    phone = bytes.fromhex("00000000013912345678" if version_2019 else "013912345678")
    header = struct.pack(">HH", 0x0104, properties) + (b"\x01" if version_2019 else b"")
    data = header + phone + struct.pack(">H", 42) + body
    return b"\x7e" + data + bytes([xor(data)]) + b"\x7e"


def test_the_table_types_every_parameter_of_2013_and_2019():
    expected = {
        **dict.fromkeys(STRINGS, (STRING, None)),
        **dict.fromkeys(WORDS, (WORD, 2)),
        **dict.fromkeys(BYTES, ("BYTE", 1)),
        **dict.fromkeys(DWORDS, (DWORD, 4)),
        **{n: (OCTETS, size) for n, size in OCTET_SIZES.items()},
    }
    assert {n: (p.kind, p.size) for n, p in PARAMETERS.items()} == expected
    added_2019 = {n for n, p in PARAMETERS.items() if p.since == 2019}
    assert added_2019 == {0x0023, 0x0024, 0x0025, 0x0026, 0x0032}
    assert len({p.name for p in PARAMETERS.values()}) == len(PARAMETERS)


def test_2013_answer_decodes_strings_as_text_and_numbers_as_numbers():
    items = [
        item(0x0001, struct.pack(">I", 30)),
        item(0x0010, b"CMNET"),
        item(0x0011, b"card"),  # the carriers' default dial user: 4 bytes, still text
        item(0x0013, b"gps.example.com"),
        item(0x0018, struct.pack(">I", 5015)),
        item(0x0031, struct.pack(">H", 500)),
        item(0x0083, "粤B12345".encode("gbk")),
        item(0x0084, b"\x02"),
        item(0x0110, bytes.fromhex("000003e8800001f4")),  # CAN2, 1 s, id 0x1f4
    ]
    decoded = jt808.decode(answer_frame(7, items), jt808.Session(), NOW)
    assert decoded.rejected is None and decoded.replies == []
    assert decoded.messages == [
        CommandReply(
            "jt808", "013912345678", 7, "ok",
            "0x0001=30;0x0010=CMNET;0x0011=card;0x0013=gps.example.com;0x0018=5015;0x0031=500;"
            "0x0083=粤B12345;0x0084=2;0x0110=000003e8800001f4",
        )
    ]  # fmt: skip
    values = dict(decode_list(answer_frame(7, items)[13:-2], 3, len(items)))
    assert values == {
        0x0001: 30, 0x0010: "CMNET", 0x0011: "card", 0x0013: "gps.example.com", 0x0018: 5015,
        0x0031: 500, 0x0083: "粤B12345", 0x0084: 2, 0x0110: bytes.fromhex("000003e8800001f4"),
    }  # fmt: skip


def test_2019_answer_types_the_2019_parameters():
    items = [
        item(0x0013, b"gps.example.com:5015;backup.example.com:5015\x00"),  # 2019: NUL-ended
        item(0x0023, b"cmnet"),
        item(0x0024, b"card"),
        item(0x0025, b"card"),
        item(0x0026, b"10.0.0.2:7611"),
        item(0x0032, bytes.fromhex("16320a1e")),  # 22:50 to 10:30
        item(0x005B, struct.pack(">H", 50)),
        item(0xF001, b"\x00\x00\x00\x07"),  # a vendor's own: its type is unknown
    ]
    frame = answer_frame(0x1234, items, version_2019=True)
    (reply,) = jt808.decode(frame, jt808.Session(), NOW).messages
    assert isinstance(reply, CommandReply) and reply.serial == 0x1234
    assert reply.text == (
        "0x0013=gps.example.com:5015;backup.example.com:5015;0x0023=cmnet;0x0024=card;"
        "0x0025=card;0x0026=10.0.0.2:7611;0x0032=16320a1e;0x005b=50;0xf001=00000007"
    )
    values = dict(decode_list(frame[18:-2], 3, len(items)))
    assert [type(values[n]) for n in (0x0013, 0x0023, 0x0024, 0x0025, 0x0026)] == [str] * 5
    assert (values[0x0032], values[0x005B], values[0xF001]) == (
        b"\x16\x32\x0a\x1e", 50, b"\x00\x00\x00\x07")  # fmt: skip


def test_answer_cut_short_is_a_malformed_body():
    frame = answer_frame(7, [item(0x0010, b"CMNET")])
    inner = bytearray(frame[1:-2])
    inner[2:4] = struct.pack(">H", len(inner) - 12 - 1)  # one byte of the value gone
    data = bytes(inner[:-1])
    decoded = jt808.decode(b"\x7e" + data + bytes([xor(data)]) + b"\x7e", jt808.Session(), NOW)
    assert decoded.rejected is not None and decoded.rejected.reason == "malformed_body"


def test_odd_sizes_stay_readable():
    assert decode_value(0x0001, b"\x00\x1e") == 30, "a DWORD sent in two bytes"
    assert decode_value(0x0001, b"") == b""
    assert decode_value(0x0083, b"") == ""
    assert decode_value(0x0032, b"\x16\x32") == b"\x16\x32"


def test_set_parameters_encodes_each_type():
    session = jt808.Session(unique_id="013912345678")
    command = Command("set_parameters", {"parameters": {
        0x0013: "gps.example.com", 0x0024: "card", 0x0001: 30, 0x0031: 500, 0x0084: 2,
        0x0032: bytes.fromhex("16320a1e"), 0x0083: "粤B12345",
    }})  # fmt: skip
    frame = jt808.encode_command(command, session)
    inner = jt808.unescape(frame[1:-1])
    header, body = jt808.parse_header(inner[:-1])
    assert header.message_id == 0x8103
    assert body == bytes([7]) + b"".join([
        item(0x0001, struct.pack(">I", 30)),
        item(0x0013, b"gps.example.com"),
        item(0x0024, b"card"),
        item(0x0031, struct.pack(">H", 500)),
        item(0x0032, bytes.fromhex("16320a1e")),
        item(0x0083, "粤B12345".encode("gbk")),
        item(0x0084, b"\x02"),
    ])  # fmt: skip


@pytest.mark.parametrize(
    ("parameter_id", "value"),
    [
        (0x0024, 1234),  # a STRING given a number
        (0x0001, "30"),  # a DWORD given text
        (0x0031, 70_000),  # past a WORD
        (0x0084, -1),
        (0x0032, b"\x16\x32"),  # BYTE[4] given two
        (0x0110, "000003e8800001f4"),  # BYTE[8] given text
        (0x0001, True),
        (0x0001, 1.5),
    ],
)
def test_set_parameters_refuses_a_value_of_the_wrong_type(parameter_id, value):
    with pytest.raises(ValueError):
        encode_value(parameter_id, value)


def test_every_parameter_round_trips():
    samples = {STRING: "card", WORD: 500, "BYTE": 2, DWORD: 30}
    for parameter_id, parameter in PARAMETERS.items():
        value = samples.get(parameter.kind) or bytes(range(parameter.size or 0))
        assert decode_value(parameter_id, encode_value(parameter_id, value)) == value
