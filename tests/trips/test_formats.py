"""Exports parse back to what went in, whatever the device is called."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import timedelta

import pytest

from camtel.trips import formats
from camtel.trips.formats import FORMATS, render, stream
from helpers.trips import T0, Fix

GPX = "{http://www.topografix.com/GPX/1/1}"
TPX = "{http://www.garmin.com/xmlschemas/TrackPointExtension/v2}"
KML = "{http://www.opengis.net/kml/2.2}"
GX = "{http://www.google.com/kml/ext/2.2}"

HOSTILE = 'Van "7", <Anna> & Bob\'s; =cmd|x\n\x00\x07é漢'


def _fixes(n: int = 5) -> list[Fix]:
    return [
        Fix(
            T0 + timedelta(seconds=10 * i),
            52.5 + i / 1000,
            -13.4 - i / 1000,
            speed_kmh=36.0 + i,
            altitude=34.5 + i,
            course=90.0 + i,
            attributes={"odometer_m": 100.0 * i, "note": 'a,"b"<c>&', "motion": True},
        )
        for i in range(n)
    ]


def _text(name: str, fixes, title: str = "Van 1") -> str:  # type: ignore[no-untyped-def]
    return "".join(render(FORMATS[name].writer(title), fixes))


def test_gpx_parses_back_with_time_ele_and_speed():
    fixes = _fixes()
    root = ET.fromstring(_text("gpx", fixes, HOSTILE).encode())
    assert root.tag == f"{GPX}gpx" and root.get("version") == "1.1"
    name = root.find(f"{GPX}trk/{GPX}name").text
    assert name.startswith('Van "7", <Anna> & Bob\'s; =cmd|x\n')
    assert name.endswith("é漢"), "characters XML forbids are replaced, the rest kept"
    points = root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")
    assert len(points) == 5
    for fix, point in zip(fixes, points, strict=True):
        assert float(point.get("lat")) == pytest.approx(fix.latitude)
        assert float(point.get("lon")) == pytest.approx(fix.longitude)
        children = [c.tag for c in point]
        assert children == [f"{GPX}ele", f"{GPX}time", f"{GPX}extensions"], "schema order"
        assert float(point.find(f"{GPX}ele").text) == pytest.approx(fix.altitude)
        assert point.find(f"{GPX}time").text == formats.iso(fix.time)
        speed = point.find(f"{GPX}extensions/{TPX}TrackPointExtension/{TPX}speed").text
        assert float(speed) == pytest.approx(fix.speed_kmh / 3.6, abs=0.01)


def test_gpx_leaves_out_invalid_and_partial_fixes():
    fixes = _fixes(3)
    fixes[1] = replace(fixes[1], valid=False)
    fixes[2] = replace(fixes[2], altitude=None, speed_kmh=None, course=float("nan"))
    root = ET.fromstring(_text("gpx", fixes))
    points = root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")
    assert len(points) == 2
    assert [c.tag for c in points[1]] == [f"{GPX}time"]


def test_an_empty_export_is_still_a_document():
    for name in ("gpx", "kml"):
        ET.fromstring(_text(name, []))
    assert json.loads(_text("geojson", [])) == {
        "type": "FeatureCollection",
        "name": "Van 1",
        "features": [],
    }
    assert list(csv.reader(io.StringIO(_text("csv", [])))) == [list(formats.CSV_HEADER)]


def test_geojson_is_one_point_per_fix():
    fixes = _fixes()
    fixes[0] = replace(fixes[0], speed_kmh=float("inf"), attributes={"x": float("nan")})
    data = json.loads(_text("geojson", fixes, HOSTILE))
    assert data["type"] == "FeatureCollection"
    assert data["name"] == HOSTILE
    assert len(data["features"]) == 5
    first, last = data["features"][0], data["features"][-1]
    assert first["geometry"] == {"type": "Point", "coordinates": [-13.4, 52.5, 34.5]}
    assert first["properties"]["speed_kmh"] is None
    assert first["properties"]["attributes"] == {"x": None}
    assert last["properties"]["time"] == formats.iso(fixes[-1].time)
    assert last["properties"]["attributes"]["note"] == 'a,"b"<c>&'


def test_kml_track_has_every_when_then_every_coord():
    fixes = _fixes(7)
    root = ET.fromstring(_text("kml", fixes, HOSTILE).encode())
    placemark = root.find(f"{KML}Document/{KML}Placemark")
    assert placemark.find(f"{KML}name").text.startswith('Van "7", <Anna>')
    track = placemark.find(f"{GX}Track")
    tags = [c.tag for c in track]
    assert tags == [f"{KML}when"] * 7 + [f"{GX}coord"] * 7
    lon, lat, alt = map(float, track.findall(f"{GX}coord")[3].text.split())
    assert (lon, lat, alt) == (pytest.approx(fixes[3].longitude), pytest.approx(fixes[3].latitude),
                               pytest.approx(fixes[3].altitude))  # fmt: skip
    assert track.findall(f"{KML}when")[3].text == formats.iso(fixes[3].time)


def test_kml_spools_a_long_track_to_disk(monkeypatch):
    monkeypatch.setattr(formats, "SPOOL_BYTES", 1000)
    fixes = [replace(_fixes(1)[0], time=T0 + timedelta(seconds=i)) for i in range(500)]
    root = ET.fromstring(_text("kml", fixes))
    assert len(root.findall(f".//{GX}coord")) == 500


def test_csv_round_trips_hostile_values():
    fixes = _fixes()
    rows = list(csv.DictReader(io.StringIO(_text("csv", fixes, HOSTILE), newline="")))
    assert len(rows) == 5
    assert rows[0]["device"] == HOSTILE, "a name starting with letters is kept as it is"
    assert rows[2]["time"] == "2026-03-02T06:00:20Z"
    assert float(rows[2]["latitude"]) == pytest.approx(fixes[2].latitude)
    assert rows[2]["speed_kmh"] == "38"
    assert json.loads(rows[2]["attributes"])["note"] == 'a,"b"<c>&'
    formula = list(csv.DictReader(io.StringIO(_text("csv", fixes, "=HYPERLINK(1)"))))
    assert formula[0]["device"] == "'=HYPERLINK(1)", "a spreadsheet shows it, not runs it"


async def test_stream_chunks_an_async_source(monkeypatch):
    monkeypatch.setattr(formats, "CHUNK_BYTES", 200)
    fixes = _fixes(50)

    async def source():  # type: ignore[no-untyped-def]
        for fix in fixes:
            yield fix

    for name, spec in FORMATS.items():
        chunks = [c async for c in stream(spec.writer("Van"), source())]
        assert len(chunks) > 5, name
        assert b"".join(chunks).decode() == _text(name, fixes, "Van"), name
