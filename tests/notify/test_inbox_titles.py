"""Inbox titles: one line naming the device and, for fence events, the fence."""

from __future__ import annotations

from camtel.notify.inbox import title


def test_a_fence_event_names_the_fence_the_pipeline_wrote():
    # The geofence stage stores the fence's name as `fence_name`.
    attributes = {"fence_id": "f", "fence_name": "Depot", "breach": True, "distance_m": 40.0}
    assert title("geofence_exit", "Van 1", attributes) == "Van 1 left Depot"
    assert title("geofence_enter", "Van 1", attributes) == "Van 1 entered Depot"


def test_older_attribute_names_and_none_at_all():
    assert title("geofence_exit", "Van 1", {"geofence_name": "Yard"}) == "Van 1 left Yard"
    assert title("geofence_exit", "", {}) == "A device left a geofence"


def test_other_types_and_unknown_ones():
    assert title("overspeed", "Van 1", {}) == "Van 1 is speeding"
    assert title("tyre_pressure", "Van 1", {}) == "Van 1: tyre pressure"
