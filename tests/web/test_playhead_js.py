"""The player's clock arithmetic (static/js/playhead.js), run in Chromium without the app:
the position at a play time is interpolated between the track points around it (found by
binary search on their offsets), clicks find the nearest point, play times read as m:ss, and
events land at their offset in the recording."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jsmodules import Runner, module_runner

MEDIA = "0190a2f0-0000-7000-8000-000000000001"
TRACK = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[13.0, 52.0], [13.002, 52.001], [13.004, 52.001], [13.004, 52.003]],
            },
            "properties": {
                "media_id": MEDIA,
                "offsets_s": [0.5, 1.5, 2.5, 4.5],
                "speeds_kmh": [36, 72, None, 0],
            },
        }
    ],
}


@pytest.fixture(scope="module")
def run() -> Iterator[Runner]:
    with module_runner("playhead.js", track=TRACK) as runner:
        yield runner


def test_position_at_play_time(run: Runner) -> None:
    out = run("const t = new m.PlayTrack(track);"
        " return [0, 0.5, 1.0, 1.5, 2.0, 3.5, 4.5, 9].map((s) => t.at(s));",
    )
    before, first, half, second, between, late, last, after = out
    assert before == {"lat": 52.0, "lon": 13.0, "speed": 36, "index": 0}  # held at the first
    assert first["lat"] == 52.0 and first["index"] == 0
    assert half["lat"] == pytest.approx(52.0005) and half["lon"] == pytest.approx(13.001)
    assert half["speed"] == pytest.approx(54)
    assert second["lat"] == pytest.approx(52.001) and second["index"] == 1
    assert between["lon"] == pytest.approx(13.003) and between["speed"] == 72  # one side unknown
    assert late["lat"] == pytest.approx(52.002) and late["index"] == 2
    assert last == after == {"lat": 52.003, "lon": 13.004, "speed": 0, "index": 3}


def test_no_track_and_one_point(run: Runner) -> None:
    out = run("const none = new m.PlayTrack(null), empty = new m.PlayTrack({features: []});"
        " const one = new m.PlayTrack({features: [{geometry: {type: 'Point',"
        " coordinates: [8.5, 47.4]}, properties: {offsets_s: [2]}}]});"
        " return [none.length, none.at(1), empty.length, one.at(0), one.at(5), one.latLngs()];",
    )
    assert out == [
        0,
        None,
        0,
        *[{"lat": 47.4, "lon": 8.5, "speed": None, "index": 0}] * 2,
        [[47.4, 8.5]],
    ]


def test_nearest_point_and_clock(run: Runner) -> None:
    out = run("const t = new m.PlayTrack(track);"
        " return [t.nearest(52.0009, 13.0021), t.nearest(52.0029, 13.0041), t.nearest(51, 12),"
        " ['0', '7.9', '65', '3600', '3725.2'].map((s) => m.clock(Number(s))), m.clock(-3)];",
    )
    assert out == [1, 3, 0, ["0:00", "0:07", "1:05", "1:00:00", "1:02:05"], "0:00"]


def test_events_land_at_their_offset(run: Runner) -> None:
    start = "Date.parse('2026-05-04T09:30:00Z')"
    out = run(f"const at = {{ mediaId: '{MEDIA}', startMs: {start}, durationS: 60 }};"
        " const peak = { time: '2026-05-04T09:30:12.400Z',"
        f" attributes: {{ media_id: '{MEDIA}', offset_s: 12.25 }} }};"
        " const alarm = { time: '2026-05-04T09:30:30Z', attributes: { alarm: 'sos' } };"
        " const sibling = { time: '2026-05-04T09:30:05Z',"
        " attributes: { media_id: 'another', offset_s: 40 } };"
        " const early = { time: '2026-05-04T09:29:59Z', attributes: {} };"
        " const late = { time: '2026-05-04T09:31:01Z', attributes: {} };"
        " return [peak, alarm, sibling, early, late].map((e) => m.eventOffset(e, at));",
    )
    assert out == [12.25, 30, 5, None, None]
