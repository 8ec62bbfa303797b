"""G-sensor peaks as a pure function: bumps, crashes and rattles, no file or database."""

from __future__ import annotations

import math

from camtel.media.peaks import COLLISION_G, HARSH_G, Peak, find_peaks


def _series(seconds: float, rate: int, bumps: dict[float, float]) -> list[tuple]:
    """Gravity on z, a little noise, and short bumps (time → extra g on x)."""
    out = []
    for i in range(int(seconds * rate)):
        t = i / rate
        x = sum(g for at, g in bumps.items() if abs(t - at) < 0.15)
        out.append((t, x + 0.02 * math.sin(i * 1.7), 0.01, 1.0))
    return out


def test_quiet_driving_has_no_peaks():
    assert find_peaks(_series(30, 50, {})) == []


def test_a_bump_and_a_crash():
    peaks = find_peaks(_series(60, 50, {10.0: 0.8, 40.0: 3.5}))
    assert [p.type for p in peaks] == ["harsh_event", "collision"]
    assert abs(peaks[0].offset_s - 10.0) < 0.2 and abs(peaks[1].offset_s - 40.0) < 0.2
    assert peaks[1].g > 2.0


def test_vibration_spikes_are_not_events():
    # One-sample spikes of 2 g at 200 Hz (a rattle) vanish in the 0.1 s smoothing.
    samples = [(i / 200, 2.0 if i % 97 == 0 else 0.0, 0.0, 1.0) for i in range(200 * 20)]
    assert find_peaks(samples) == []


def test_fewer_than_two_samples_have_no_peaks():
    assert find_peaks([]) == []
    assert find_peaks([(0.0, 9.0, 9.0, 9.0)]) == []


def test_peaks_closer_than_the_gap_are_one_event_the_strongest():
    peaks = find_peaks(_series(60, 50, {10.0: 0.8, 11.5: 1.5, 30.0: 0.9}))
    assert [p.type for p in peaks] == ["harsh_event", "harsh_event"]
    assert abs(peaks[0].offset_s - 11.5) < 0.2 and peaks[0].g > 1.0
    assert abs(peaks[1].offset_s - 30.0) < 0.2


def test_thresholds_are_parameters_and_results_are_rounded():
    samples = _series(30, 50, {15.0: 0.8})
    assert find_peaks(samples, harsh_g=HARSH_G * 4) == []
    (peak,) = find_peaks(samples, collision_g=HARSH_G)
    assert peak.type == "collision" and COLLISION_G > HARSH_G
    assert isinstance(peak, Peak) and peak.offset_s == round(peak.offset_s, 3)
    assert peak.g == round(peak.g, 3)
