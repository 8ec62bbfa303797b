"""OsmAnd / Traccar Client over HTTP: query-string reports and background-geolocation JSON."""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from camtel.messages import Position, Rejected
from camtel.protocols.base import Decoded, keep_plausible

PROTOCOL = "osmand"

OK = 200
BAD_REQUEST = 400
METHOD_NOT_ALLOWED = 405

KNOTS_TO_KMH = 1.852
MPS_TO_KMH = 3.6
#: Unix times above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
MS_THRESHOLD = 100_000_000_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_ID_LENGTH = 128
#: Extra parameters kept as attributes; a client sending more is cut off, not refused.
MAX_ATTRIBUTES = 64
MAX_ATTRIBUTE_LENGTH = 256

_INTEGER = re.compile(r"-?[0-9]{1,18}")
_NUMBER = re.compile(r"-?[0-9]{1,20}(\.[0-9]{1,20})?")
_DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")
_ID_KEYS = ("id", "deviceid")
# Query parameters given their own Position field (or consumed otherwise), not attributes.
_KNOWN = {"id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing",
          "heading", "altitude", "accuracy", "valid", "batt", "charge", "hdop"}  # fmt: skip


class _Refused(Exception):
    """A request camtel answers with an error status and a named reason."""

    def __init__(self, reason: str, detail: str = "", status: int = BAD_REQUEST) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail
        self.status = status


def decode_request(
    method: str, target: str, body: bytes, content_type: str, now: datetime
) -> tuple[int, Decoded]:
    """The HTTP status to answer and what the request reported; never raises."""
    try:
        positions = _decode(method, target, body, content_type, now)
    except _Refused as error:
        return error.status, Decoded(rejected=Rejected(error.reason, error.detail))
    except Exception as error:  # the last guard: a client's bytes must never crash a gateway
        return BAD_REQUEST, Decoded(rejected=Rejected("malformed", type(error).__name__))
    # An impossible fix (a clock years ahead, a jet's speed) is dropped but still answered 200:
    # the client would otherwise retry it forever, and retrying cannot make it plausible.
    return OK, keep_plausible(positions, now)


def _decode(
    method: str, target: str, body: bytes, content_type: str, now: datetime
) -> list[Position]:
    if method.upper() not in ("GET", "POST"):
        raise _Refused("method_not_allowed", method[:16], METHOD_NOT_ALLOWED)
    params = parse_qsl(urlsplit(target).query, keep_blank_values=True)
    media_type = content_type.split(";")[0].strip().lower()
    text = body.strip()
    if media_type == "application/json" or (not params and text[:1] in (b"{", b"[")):
        return _decode_json(body, now)
    if media_type == "application/x-www-form-urlencoded" and text:
        params += parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return [_decode_query(params, now)]


# ---------------------------------------------------------------------------------------------
# Query string (OsmAnd, Traccar Client for Android and iOS)


def _decode_query(pairs: list[tuple[str, str]], now: datetime) -> Position:
    params: dict[str, str] = {}
    extras: dict[str, Any] = {}
    for key, value in pairs:
        if key in _KNOWN:
            params.setdefault(key, value)
        elif key in extras:  # repeated parameters (cell=..., wifi=...) become a list
            kept = extras[key] if isinstance(extras[key], list) else [extras[key]]
            if len(kept) < MAX_ATTRIBUTES:
                extras[key] = [*kept, _scalar(value[:MAX_ATTRIBUTE_LENGTH])]
        elif len(extras) < MAX_ATTRIBUTES:
            extras[key] = _scalar(value[:MAX_ATTRIBUTE_LENGTH])

    unique_id = _unique_id(next((params[k] for k in _ID_KEYS if params.get(k)), None))
    latitude: str | None
    longitude: str | None
    if "location" in params and "lat" not in params:
        latitude, _, longitude = params["location"].partition(",")
    else:
        latitude, longitude = params.get("lat"), params.get("lon")
    lat, lon = _coordinates(latitude, longitude)
    time = _time(params["timestamp"]) if params.get("timestamp") else now

    attributes = extras
    if (battery := _number(params.get("batt"))) is not None:
        attributes["battery_level"] = battery
    if "charge" in params:
        attributes["charging"] = _flag(params["charge"])
    if (hdop := _number(params.get("hdop"))) is not None:
        attributes["hdop"] = hdop
    valid = _flag(params["valid"]) if "valid" in params else True
    speed = _non_negative(_number(params.get("speed")))
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=lat,
        longitude=lon,
        valid=valid and (lat, lon) != (0.0, 0.0),
        speed_kmh=None if speed is None else speed * KNOTS_TO_KMH,
        course=_course(_number(params.get("bearing") or params.get("heading"))),
        altitude=_number(params.get("altitude")),
        accuracy_m=_non_negative(_number(params.get("accuracy"))),
        attributes=attributes,
    )


# ---------------------------------------------------------------------------------------------
# JSON (Traccar Client 9+, transistorsoft background-geolocation)


def _decode_json(body: bytes, now: datetime) -> list[Position]:
    try:
        root = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise _Refused("bad_json", type(error).__name__) from error
    if not isinstance(root, dict):
        raise _Refused("bad_json", "not an object")
    raw_id = root.get("device_id", root.get("id"))
    unique_id = _unique_id(str(raw_id) if isinstance(raw_id, str | int) else None)
    locations = root.get("location")
    if isinstance(locations, dict):
        locations = [locations]
    if not isinstance(locations, list) or not locations:
        raise _Refused("bad_coordinates", "no location")
    return [_decode_location(location, unique_id, now) for location in locations]


def _decode_location(location: Any, unique_id: str, now: datetime) -> Position:
    if not isinstance(location, dict):
        raise _Refused("bad_coordinates", "location is not an object")
    coords = location.get("coords")
    if not isinstance(coords, dict):
        raise _Refused("bad_coordinates", "no coords")
    lat, lon = _coordinates(coords.get("latitude"), coords.get("longitude"))
    stamp = location.get("timestamp")
    time = _time(str(stamp)) if isinstance(stamp, str | int | float) and stamp != "" else now

    attributes: dict[str, Any] = {}
    extras = location.get("extras")
    if isinstance(extras, dict):
        for key, value in list(extras.items())[:MAX_ATTRIBUTES]:
            if isinstance(value, float) and not math.isfinite(value):
                continue
            if isinstance(value, bool | int | float) or value is None:
                attributes[str(key)] = value
            else:
                attributes[str(key)] = str(value)[:MAX_ATTRIBUTE_LENGTH]
    if isinstance(location.get("is_moving"), bool):
        attributes["motion"] = location["is_moving"]
    if (odometer := _number(location.get("odometer"))) is not None:
        attributes["odometer_m"] = odometer
    if isinstance(location.get("event"), str):
        attributes["event"] = location["event"][:MAX_ATTRIBUTE_LENGTH]
    if location.get("mock") is True:
        attributes["mock"] = True
    battery = location.get("battery")
    if isinstance(battery, dict):
        level = _non_negative(_number(battery.get("level")))  # a fraction; -1 means unknown
        if level is not None:
            attributes["battery_level"] = round(level * 100, 1)
        if isinstance(battery.get("is_charging"), bool):
            attributes["charging"] = battery["is_charging"]
    activity = location.get("activity")
    if isinstance(activity, dict) and isinstance(activity.get("type"), str):
        attributes["activity"] = activity["type"][:MAX_ATTRIBUTE_LENGTH]

    speed = _non_negative(_number(coords.get("speed")))  # metres per second; -1 means unknown
    return Position(
        protocol=PROTOCOL,
        unique_id=unique_id,
        time=time,
        latitude=lat,
        longitude=lon,
        valid=(lat, lon) != (0.0, 0.0),
        speed_kmh=None if speed is None else speed * MPS_TO_KMH,
        course=_course(_number(coords.get("heading"))),
        altitude=_number(coords.get("altitude")),
        accuracy_m=_non_negative(_number(coords.get("accuracy"))),
        attributes=attributes,
    )


# ---------------------------------------------------------------------------------------------
# Values


def _unique_id(value: str | None) -> str:
    if value is None or not value.strip():
        raise _Refused("missing_id")
    value = value.strip()
    if len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise _Refused("bad_id")
    return value


def _number(value: Any) -> float | None:
    """A finite number from a query value or JSON field; None when absent or not a number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
        return None  # float() would also take "nan", "1_0" and non-ASCII digits
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _non_negative(value: float | None) -> float | None:
    return value if value is not None and value >= 0 else None


def _course(value: float | None) -> float | None:
    """Heading in [0, 360); negative values are the platforms' way of saying unknown."""
    return None if value is None or value < 0 else value % 360.0


def _coordinates(latitude: Any, longitude: Any) -> tuple[float, float]:
    lat, lon = _number(latitude), _number(longitude)
    if lat is None or lon is None:
        raise _Refused("bad_coordinates", "missing or not a number")
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _Refused("bad_coordinates", "out of range")
    return lat, lon


def _time(value: str) -> datetime:
    """Unix seconds or milliseconds, or ISO 8601 (UTC when it names no zone)."""
    value = value.strip()
    try:
        if _NUMBER.fullmatch(value):
            number = float(value)
            seconds = number / 1000 if abs(number) >= MS_THRESHOLD else number
            return EPOCH + timedelta(seconds=seconds)
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise _Refused("bad_time", type(error).__name__) from error


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _scalar(value: str) -> Any:
    """An extra query value as the bool or number it spells, else the text itself."""
    lowered = value.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if _INTEGER.fullmatch(value):
        return int(value)
    if _NUMBER.fullmatch(value):
        return float(value)
    return value
