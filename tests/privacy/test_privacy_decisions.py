"""Pure privacy decisions, tested without I/O: consent state, the minors' gate, policy
acceptance, k-anonymity, the 72-hour deadline, identifier scrubbing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest

from camtel.errors import Invalid
from camtel.privacy import analytics, breaches, diagnostics, disclosures, policies
from camtel.privacy.consent import is_given, latest
from camtel.privacy.minors import collection_decision

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
GUARDIAN = uuid.uuid4()


@dataclass
class Rec:
    purpose: str
    outcome: str
    time: datetime
    actor_id: uuid.UUID | None = None
    policy_version: int | None = None
    id: uuid.UUID = field(default_factory=uuid.uuid4)


def test_current_state_is_the_latest_record_per_purpose():
    records = [
        Rec("analytics", "given", T0),
        Rec("analytics", "withdrawn", T0 + timedelta(minutes=1)),
        Rec("marketing_email", "refused", T0),
        Rec("diagnostics", "withdrawn", T0),
        Rec("diagnostics", "given", T0 + timedelta(days=1)),
    ]
    state = latest(reversed(records))  # order of arrival does not matter
    assert state["analytics"].outcome == "withdrawn"
    assert state["diagnostics"].outcome == "given"
    assert not is_given(state["analytics"])
    assert not is_given(state["marketing_email"])
    assert is_given(state["diagnostics"])
    assert not is_given(state.get("share_location_with_organisation")), "no record: no consent"


@pytest.mark.parametrize(
    ("minor", "guardian", "decision", "erasing", "allowed"),
    [
        (False, None, None, False, True),  # adults are not gated here
        (False, None, None, True, False),  # nobody's data is collected while erasing
        (True, None, None, False, False),  # a minor without a guardian
        (True, GUARDIAN, None, False, False),  # the guardian has not decided
        (True, GUARDIAN, Rec("guardian_location", "given", T0, GUARDIAN), False, True),
        (True, GUARDIAN, Rec("guardian_location", "refused", T0, GUARDIAN), False, False),
        (True, GUARDIAN, Rec("guardian_location", "withdrawn", T0, GUARDIAN), False, False),
        (True, GUARDIAN, Rec("guardian_location", "given", T0, uuid.uuid4()), False, False),
        (True, GUARDIAN, Rec("guardian_location", "given", T0, GUARDIAN), True, False),
    ],
)
def test_minor_collection_gate(minor, guardian, decision, erasing, allowed):
    assert (
        collection_decision(
            minor=minor, guardian_id=guardian, guardian_decision=decision, erasure_pending=erasing
        )
        is allowed
    )


def test_policy_acceptance_is_pending_until_the_version_in_force_is_accepted():
    current = {"privacy": 2, "terms": 1}
    assert policies.pending(current, {}) == [("privacy", 2), ("terms", 1)]
    accepted = {
        "privacy_policy": Rec("privacy_policy", "given", T0, policy_version=1),
        "terms": Rec("terms", "given", T0, policy_version=1),
    }
    assert policies.pending(current, accepted) == [("privacy", 2)]
    accepted["privacy_policy"] = Rec("privacy_policy", "given", T0, policy_version=2)
    assert policies.pending(current, accepted) == []
    assert policies.title_of("\n# Privacy policy 2026\n\ntext", policies.Kind.PRIVACY) == (
        "Privacy policy 2026"
    )


def test_groups_smaller_than_k_are_suppressed():
    groups = {("/",): (10, 40), ("/map",): (9, 9), ("/about",): (1, 1), ("/x",): (25, 30)}
    kept, hidden = analytics.suppress(groups, k=10)
    assert kept == {("/",): (10, 40), ("/x",): (25, 30)}
    assert hidden == 2
    assert analytics.suppress({}, k=10) == ({}, 0)


def test_pages_lose_queries_and_identifiers():
    assert analytics.normalise_page("/share/Ab3dEf9hIjKlMnOp?token=secret#x") == "/share/:id"
    assert analytics.normalise_page("https://camtel.example/devices/12345/map") == (
        "/devices/:id/map"
    )
    assert analytics.normalise_page("/devices/0190a4b2-7c1e-7abc-8def-0123456789ab") == (
        "/devices/:id"
    )
    assert analytics.normalise_page("/pricing") == "/pricing"
    assert analytics.normalise_page("javascript:alert(1)") is None
    day = date(2026, 3, 1)
    one = analytics.visitor_hash("salt-a", day, "192.0.2.1", "UA")
    assert one == analytics.visitor_hash("salt-a", day, "192.0.2.1", "UA")
    assert one != analytics.visitor_hash("salt-b", day, "192.0.2.1", "UA"), "salt rotates"
    assert "192.0.2.1" not in one


def test_breach_authority_deadline_is_72_hours():
    detected = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert breaches.authority_deadline(detected) == datetime(2026, 3, 4, 9, 30, tzinfo=UTC)
    state = breaches.deadline_state(detected, None, detected + timedelta(hours=70))
    assert state["status"] == "open" and state["hours_left"] == 2.0
    assert breaches.deadline_state(detected, None, detected + timedelta(hours=73))["status"] == (
        "overdue"
    )
    on_time = breaches.deadline_state(detected, detected + timedelta(hours=5), detected)
    assert on_time["status"] == "notified"
    late = breaches.deadline_state(detected, detected + timedelta(hours=80), detected)
    assert late["status"] == "notified_late"


def test_disclosure_withheld_only_with_a_legal_reason():
    disclosures.check_subject(True, "")
    disclosures.check_subject(False, "criminal investigation, §95 StPO: notice would prejudice it")
    with pytest.raises(Invalid):
        disclosures.check_subject(False, "  ")
    assert disclosures.check_categories(["location", "location", "video"]) == ["location", "video"]
    with pytest.raises(Invalid):
        disclosures.check_categories(["shoe_size"])


def test_macs_are_normalised_hashed_and_scrubbed():
    key = b"k" * 32
    assert diagnostics.normalise_mac("AA:BB:CC:DD:EE:0F") == "aabbccddee0f"
    assert diagnostics.normalise_mac("aabb.ccdd.ee0f") == "aabbccddee0f"
    assert diagnostics.normalise_mac("aa-bb-cc-dd-ee-0f") == "aabbccddee0f"
    with pytest.raises(Invalid):
        diagnostics.normalise_mac("not a mac at all")
    one = diagnostics.pseudonym(key, "mac", "aabbccddee0f")
    assert one == diagnostics.pseudonym(key, "mac", "aabbccddee0f")
    assert one != diagnostics.pseudonym(b"x" * 32, "mac", "aabbccddee0f"), "keyed"
    text = (
        "wifi connect to AA:BB:CC:DD:EE:0F failed; peer aabb.ccdd.ee0f; phone PHONE-1234-XYZ; "
        "user a.person@example.com from 192.0.2.44"
    )
    clean = diagnostics.scrub(text, ("PHONE-1234-XYZ",))
    for raw in ("AA:BB:CC:DD:EE:0F", "aabb.ccdd.ee0f", "PHONE-1234-XYZ", "a.person@", "192.0.2.44"):
        assert raw not in clean
    assert "failed" in clean
