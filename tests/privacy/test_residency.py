"""Data residency: the region is shown, and an endpoint elsewhere is caught."""

from __future__ import annotations

from camtel.privacy.residency import residency_problem
from support import sign_up


def test_endpoint_region_must_match():
    assert (
        residency_problem("eu-central-1 / Germany", "https://s3.eu-central-1.amazonaws.com") is None
    )
    assert "us-east-1" in residency_problem(
        "eu-central-1 / Germany", "https://s3.us-east-1.amazonaws.com"
    )
    assert residency_problem("eu-central-1", "http://127.0.0.1:9000") is None, "unknowable"
    assert residency_problem("Germany", "https://s3.eu-west-3.amazonaws.com") is not None


async def test_privacy_centre_shows_region_and_requests(client, services):
    headers, _ = await sign_up(client, services, "centre@example.com")
    await client.get("/api/v1/me/export", headers=headers)
    centre = (await client.get("/api/v1/privacy/centre", headers=headers)).json()
    assert centre["storage_region"] == services.settings.storage_region
    assert centre["retention"]["positions"]
    assert [r["kind"] for r in centre["requests"]] == ["export"]
