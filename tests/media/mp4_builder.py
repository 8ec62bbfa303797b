"""Build minimal valid MP4 files carrying dash cam GPS in the documented layouts.

No small public Novatek, 70mai or BlackVue sample exists, so the tests write files with the
byte layouts ExifTool documents (QuickTimeStream.pl) and compare camtel with ExifTool on them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import xor

MAC_EPOCH = 2_082_844_800
BLOCK = 0x8000


def box(kind: str, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind.encode("latin-1")) + payload


def full(kind: str, payload: bytes, version: int = 0) -> bytes:
    return box(kind, struct.pack(">B3x", version) + payload)


def ftyp() -> bytes:
    return box("ftyp", b"isom\0\0\x02\0isomiso2mp41")


def mvhd(created: datetime | None, duration_s: int = 60) -> bytes:
    stamp = int(created.timestamp()) + MAC_EPOCH if created else 0
    body = struct.pack(">IIII", stamp, stamp, 1000, duration_s * 1000)
    body += struct.pack(">IH10x", 0x00010000, 0x0100) + b"\0" * 36 + b"\0" * 24
    body += struct.pack(">I", 2)
    return full("mvhd", body)


def trak(fmt: str, handler: str, sizes: list[int], offsets: list[int], delta: int,
         timescale: int = 1000, entry: bytes = b"") -> bytes:
    """A track whose samples sit one per chunk at `offsets`."""
    count = len(sizes)
    mdhd = full("mdhd", struct.pack(">IIIIHH", 0, 0, timescale, delta * count, 0x55C4, 0))
    hdlr = full("hdlr", b"\0\0\0\0" + handler.encode() + b"\0" * 12 + b"camtel test\0")
    sample_entry = box(fmt, b"\0" * 6 + struct.pack(">H", 1) + entry)
    stsd = full("stsd", struct.pack(">I", 1) + sample_entry)
    stts = full("stts", struct.pack(">III", 1, count, delta))
    stsc = full("stsc", struct.pack(">IIII", 1, 1, 1, 1))
    table = b"".join(struct.pack(">I", s) for s in sizes)
    stsz = full("stsz", struct.pack(">II", 0, count) + table)
    stco = full("stco", struct.pack(">I", count) + b"".join(struct.pack(">I", o) for o in offsets))
    stbl = box("stbl", stsd + stts + stsc + stsz + stco)
    minf = box("minf", box("dinf", b"") + stbl)
    tkhd = full("tkhd", b"\0" * 80)
    return box("trak", tkhd + box("mdia", mdhd + hdlr + minf))


def movie_with_samples(samples: list[bytes], fmt: str, handler: str, delta: int,
                       created: datetime | None = None) -> bytes:
    """ftyp, mdat holding the samples, moov with one track pointing at them."""
    head = ftyp()
    offsets, at = [], len(head) + 8
    for sample in samples:
        offsets.append(at)
        at += len(sample)
    mdat = box("mdat", b"".join(samples))
    moov = box("moov", mvhd(created) + trak(fmt, handler, [len(s) for s in samples], offsets,
                                             delta))
    return head + mdat + moov


# ---------------------------------------------------------------- Novatek freeGPS


@dataclass(frozen=True)
class Fix:
    time: datetime
    latitude: float
    longitude: float
    speed_kmh: float
    course: float


def to_ddmm(value: float) -> float:
    degrees = int(abs(value))
    return degrees * 100 + (abs(value) - degrees) * 60


def _block(body: bytes, length: int) -> bytes:
    head = struct.pack(">I", BLOCK) + b"freeGPS " + struct.pack("<I", length)
    data = head + body
    return data + b"\0" * (BLOCK - len(data))


def _refs(fix: Fix) -> tuple[bytes, bytes]:
    return (b"N" if fix.latitude >= 0 else b"S"), (b"E" if fix.longitude >= 0 else b"W")


def classic_block(fix: Fix) -> bytes:
    """The 0x4c record at 0x30 (Viofo A119S and most Novatek cameras)."""
    t = fix.time
    ns, ew = _refs(fix)
    body = b"\0" * (0x30 - 16)
    body += struct.pack("<6I", t.hour, t.minute, t.second, t.year - 2000, t.month, t.day)
    body += b"A" + ns + ew + b"\0"
    body += struct.pack("<4f", to_ddmm(fix.latitude), to_ddmm(fix.longitude),
                        fix.speed_kmh / 1.852, fix.course)
    return _block(body, 0x4C)


def type1_block(fix: Fix, accel: tuple[int, int, int] = (12, -34, 98)) -> bytes:
    """ExifTool type 1: ASCII XORed with 0xaa from byte 18 (Azdome GS63H)."""
    t = fix.time
    ns, ew = _refs(fix)
    lat = round(to_ddmm(fix.latitude) * 1e4)
    lon = round(to_ddmm(fix.longitude) * 1e4)
    plain = b"\0\0XKZD\xfe\xfe" + t.strftime("%Y%m%d%H%M%S").encode() + b"\x0c"
    plain += b"camtel-label".ljust(15) + ns + b"%08d" % lat + ew + b"%09d" % lon
    plain += b"%08d" % round(fix.speed_kmh)
    plain += b"".join(b"%+04d" % a for a in accel)
    plain = plain.ljust(0x101, b"\0")
    body = b"\x01\x03" + bytes(x ^ 0xAA for x in plain)
    return _block(body, 0x105)


def type3_block(fix: Fix, accel: tuple[int, int, int] = (256, -512, 128)) -> bytes:
    """ExifTool type 3: record at 0x10 (Viofo A119 v3)."""
    t = fix.time
    ns, ew = _refs(fix)
    body = struct.pack("<6I", t.hour, t.minute, t.second, t.year - 2000, t.month, t.day)
    body += b"A" + ns + ew + b"\0"
    body += struct.pack("<4f", to_ddmm(fix.latitude), to_ddmm(fix.longitude),
                        fix.speed_kmh / 1.852, fix.course)
    body += struct.pack("<3i", *accel)
    return _block(body, 0x3F0)


def type15_block(fix: Fix, accel: tuple[int, int, int] = (-20, 66, 2)) -> bytes:
    """ExifTool type 15: doubles (Vantrue N4)."""
    t = fix.time
    ns, ew = _refs(fix)
    body = struct.pack("<3I", t.hour, t.minute, t.second) + b"A\0\0\0"
    body += struct.pack("<d", to_ddmm(fix.latitude)) + ns + b"\0" * 7
    body += struct.pack("<d", to_ddmm(fix.longitude)) + ew + b"\0" * 7
    body += struct.pack("<dd", fix.speed_kmh / 1.852, fix.course)
    body += struct.pack("<3I", t.year - 2000, t.month, t.day) + struct.pack("<3i", *accel)
    return _block(body, 0x3F0)


def novatek_mp4(blocks: list[bytes], indexed: bool, created: datetime | None = None) -> bytes:
    """GPS blocks interleaved with filler 'video' in mdat; optionally a moov/gps index."""
    head = ftyp()
    filler = b"\x00\x00\x00\x10video-frame-data"
    payload, places, at = b"", [], len(head) + 8
    for block in blocks:
        payload += filler
        at += len(filler)
        places.append((at, len(block)))
        payload += block
        at += len(block)
    moov_children = mvhd(created)
    if indexed:
        index = struct.pack(">II", 0x00000101, len(places))
        index += b"".join(struct.pack(">II", o, s) for o, s in places)
        moov_children += box("gps ", index)
    return head + box("mdat", payload) + box("moov", moov_children)


# ---------------------------------------------------------------- NMEA, 70mai, BlackVue


def nmea(body: str) -> str:
    return f"${body}*{reduce(xor, body.encode(), 0):02X}"


def _nmea_coord(value: float, width: int) -> str:
    degrees = int(abs(value))
    minutes = (abs(value) - degrees) * 60
    return f"{degrees:0{width}d}{minutes:07.4f}"


def rmc(fix: Fix) -> str:
    t = fix.time
    ns, ew = _refs(fix)
    return nmea(
        f"GPRMC,{t:%H%M%S}.00,A,{_nmea_coord(fix.latitude, 2)},{ns.decode()},"
        f"{_nmea_coord(fix.longitude, 3)},{ew.decode()},{fix.speed_kmh / 1.852:.3f},"
        f"{fix.course:.2f},{t:%d%m%y},,,A"
    )


def gga(fix: Fix, altitude: float) -> str:
    t = fix.time
    ns, ew = _refs(fix)
    return nmea(
        f"GPGGA,{t:%H%M%S}.00,{_nmea_coord(fix.latitude, 2)},{ns.decode()},"
        f"{_nmea_coord(fix.longitude, 3)},{ew.decode()},1,09,0.9,{altitude:.1f},M,47.0,M,,"
    )


def seventymai_mp4(fixes: list[Fix], created: datetime) -> bytes:
    """A top-level 'GPS ' box of 36-byte records, then an all-zero terminator."""
    records = b""
    for second, fix in enumerate(fixes):
        ns, ew = _refs(fix)
        records += struct.pack(
            "<IIIIcIcI", 1, 1, second, round(fix.speed_kmh * 1000), ns,
            round(to_ddmm(fix.latitude) * 1000), ew, round(to_ddmm(fix.longitude) * 1000),
        ).ljust(36, b"\0")
    records += b"\0" * 36
    # After moov, so that ExifTool knows the creation date when it meets the records.
    return ftyp() + box("mdat", b"\0" * 64) + box("moov", mvhd(created)) + box("GPS ", records)


def blackvue_mp4(fixes: list[Fix], altitude: float = 120.5) -> tuple[bytes, int]:
    """A Pittasoft 'free' box: sttm, 'gps ' NMEA with [ms] timecodes, '3gf ' accelerometer."""
    start_ms = int(fixes[0].time.timestamp() * 1000) - 500
    lines = []
    for fix in fixes:
        stamp = int(fix.time.timestamp() * 1000)
        lines.append(f"[{stamp}]{rmc(fix)}\r\n[{stamp}]{gga(fix, altitude)}\r\n")
    gps = "".join(lines).encode() + b"\0\0"
    accel = b"".join(struct.pack(">Ihhh", i * 100, 1, -2, 10) for i in range(20))
    accel += b"\xff" * 10
    pittasoft = box("sttm", struct.pack(">Q", start_ms)) + box("gps ", gps) + box("3gf ", accel)
    created = datetime.fromtimestamp(start_ms // 1000, UTC)
    data = ftyp() + box("free", pittasoft) + box("mdat", b"\0" * 64) + box("moov", mvhd(created))
    return data, start_ms


def tx3g_sample(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">H", len(raw)) + raw
