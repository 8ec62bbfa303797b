"""What a file is, from its first bytes (its magic numbers). Pure.

One answer for the analyser (is this upload the photo or video it claims to be?) and for track
extraction (which parser, and what to say when none applies). Callers read `HEAD_BYTES`.
"""

from __future__ import annotations

#: How many first bytes callers read: enough for three MPEG-TS packets.
HEAD_BYTES = 512

#: The top-level ISO BMFF (MP4, MOV, 3GP) boxes a file may start with.
ISOBMFF_BOXES = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"uuid", b"styp"}
)
#: An MPEG transport stream is 188-byte packets, each starting with this sync byte.
TS_SYNC = 0x47
TS_PACKET = 188

#: What each kind is called in a sentence ("this is ...").
DESCRIPTIONS = {
    "jpeg": "a JPEG image",
    "png": "a PNG image",
    "mp4": "an MP4/MOV file",
    "avi": "a RIFF (AVI/WAV) file",
    "riff": "a RIFF (AVI/WAV) file",
    "mkv": "a Matroska (MKV/WebM) file",
    "ts": "an MPEG transport stream",
    "unknown": "not an MP4/MOV file",
}
IMAGES = frozenset({"jpeg", "png"})


def is_isobmff(head: bytes) -> bool:
    """Whether the first bytes start with a plausible top-level ISO BMFF box."""
    return len(head) >= 8 and head[4:8] in ISOBMFF_BOXES


def is_mpeg_ts(head: bytes) -> bool:
    """Whether the first bytes are MPEG-TS packets: the sync byte at the start of every
    188-byte packet they reach, and at least two packets (one 'G' is not a stream)."""
    if len(head) <= TS_PACKET:
        return False
    return all(head[offset] == TS_SYNC for offset in range(0, len(head), TS_PACKET))


def sniff(head: bytes) -> str:
    """What the first bytes say the file is: jpeg, png, mp4, avi, riff (another RIFF: WAV,
    WebP), mkv, ts or unknown."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if is_isobmff(head):
        return "mp4"
    if head.startswith(b"RIFF"):
        return "avi" if head[8:12] == b"AVI " else "riff"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "mkv"
    if is_mpeg_ts(head):
        return "ts"
    return "unknown"


def describe(head: bytes) -> str:
    """What the file is, for a sentence: "a JPEG image", "an MPEG transport stream"..."""
    return DESCRIPTIONS[sniff(head)]
