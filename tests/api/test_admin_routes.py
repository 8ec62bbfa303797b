"""The routes the organisation admin pages use: legal holds and retention as they stand,
publishing a policy version (preview first), and people named by address in a disclosure."""

from __future__ import annotations

from sqlalchemy import select

from camtel.mail.models import OutboxMail
from helpers.accounts import join, sign_up
from helpers.privacy import make_operator

POLICY = "# Privacy policy\n\nWe keep positions **90 days**.\n\n<script>alert(1)</script>\n"


async def _org(client, headers) -> str:  # type: ignore[no-untyped-def]
    return (await client.get("/api/v1/organizations", headers=headers)).json()[0]["id"]


async def test_holds_and_retention_are_listed_as_they_stand(client, services):
    owner, _ = await sign_up(client, services, "holds-owner@example.com")
    viewer, viewer_id = await sign_up(client, services, "holds-viewer@example.com")
    org = await _org(client, owner)
    await join(client, owner, org, "holds-viewer@example.com", "viewer", viewer)
    holds = f"/api/v1/organizations/{org}/legal-holds"
    assert (await client.get(holds, headers=owner)).json() == []

    first = await client.post(holds, headers=owner, json={"user_id": viewer_id, "reason": "claim"})
    second = await client.post(holds, headers=owner, json={"user_id": viewer_id, "reason": "audit"})
    assert first.status_code == second.status_code == 201
    released = await client.delete(f"{holds}/{first.json()['id']}", headers=owner)
    assert released.status_code == 204
    listed = (await client.get(holds, headers=owner)).json()
    assert [(h["reason"], h["released_at"] is None) for h in listed] == [
        ("audit", True),
        ("claim", False),
    ]
    assert (await client.get(holds, headers=viewer)).status_code == 403

    retention = f"/api/v1/organizations/{org}/retention"
    shown = {row["table"]: row for row in (await client.get(retention, headers=owner)).json()}
    assert shown["positions"] == {"table": "positions", "default_days": 90, "days": None}
    assert shown["media.normal"]["default_days"] == 30
    assert shown["media.event"]["default_days"] == 365
    put = await client.put(retention, headers=owner, json={"table": "positions", "days": 7})
    assert put.status_code == 200
    shown = {row["table"]: row for row in (await client.get(retention, headers=owner)).json()}
    assert shown["positions"]["days"] == 7
    assert (await client.delete(f"{retention}/positions", headers=viewer)).status_code == 403
    assert (await client.delete(f"{retention}/positions", headers=owner)).status_code == 204
    shown = {row["table"]: row for row in (await client.get(retention, headers=owner)).json()}
    assert shown["positions"]["days"] is None
    assert (await client.get(retention, headers=viewer)).status_code == 403


async def test_an_operator_previews_then_publishes_a_policy_and_everyone_is_mailed(
    client, services
):
    operator, operator_id = await sign_up(client, services, "publisher@example.com")
    other, _ = await sign_up(client, services, "reader@example.com", phone="+4915123456790")
    body = {"kind": "privacy", "markdown": POLICY}
    assert (
        await client.post("/api/v1/privacy/policies/preview", headers=operator, json=body)
    ).status_code == 403
    refused = await client.post("/api/v1/privacy/policies", headers=other, json=body)
    assert refused.status_code == 403
    await make_operator(services, operator_id)

    preview = await client.post("/api/v1/privacy/policies/preview", headers=operator, json=body)
    assert preview.status_code == 200, preview.text
    shown = preview.json()
    assert shown["version"] == 1 and shown["title"] == "Privacy policy"
    assert shown["unchanged"] is False
    assert "<strong>90 days</strong>" in shown["html"]
    assert "<script>" not in shown["html"] and "&lt;script&gt;" in shown["html"]

    stale = await client.post(
        "/api/v1/privacy/policies", headers=operator, json=body | {"version": 2}
    )
    assert stale.status_code == 409 and stale.json()["field"] == "version"
    published = await client.post(
        "/api/v1/privacy/policies",
        headers=operator,
        json=body | {"version": 1, "summary": "Positions are kept for 90 days."},
    )
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1 and published.json()["mailed"] == 2
    async with services.database.session() as db:
        mails = list(
            await db.scalars(select(OutboxMail).where(OutboxMail.subject.contains("version 1")))
        )
    assert sorted(m.to_address for m in mails) == ["publisher@example.com", "reader@example.com"]
    assert all("Positions are kept for 90 days." in m.body for m in mails)

    again = await client.post("/api/v1/privacy/policies", headers=operator, json=body)
    assert again.status_code == 409 and again.json()["field"] == "markdown"
    same = await client.post("/api/v1/privacy/policies/preview", headers=operator, json=body)
    assert same.json()["unchanged"] is True and same.json()["version"] == 2
    for path in ("/api/v1/privacy/policies", "/api/v1/privacy/policies/preview"):
        empty = await client.post(path, headers=operator, json={"kind": "terms", "markdown": " "})
        assert empty.status_code == 422 and empty.json()["field"] == "markdown"
    current = (await client.get("/api/v1/policies/current")).json()["documents"]
    assert [(d["kind"], d["version"]) for d in current] == [("privacy", 1)]


async def test_a_disclosure_names_people_by_address(client, services):
    operator, operator_id = await sign_up(client, services, "dpo@example.com")
    await sign_up(client, services, "subject@example.com", phone="+4915123456791")
    await make_operator(services, operator_id)
    body = {
        "recipient": "Police Berlin",
        "purpose": "a hit-and-run inquiry",
        "categories": ["location"],
        "legal_basis": "Art. 6(1)(c) GDPR",
        "disclosed_at": "2026-01-05T10:00:00+00:00",
    }
    made = await client.post(
        "/api/v1/privacy/disclosures",
        headers=operator,
        json=body | {"subjects": [{"email": "Subject@Example.com"}]},
    )
    assert made.status_code == 201, made.text
    assert made.json()["told"] == 1
    unknown = await client.post(
        "/api/v1/privacy/disclosures",
        headers=operator,
        json=body | {"subjects": [{"email": "nobody@example.com"}]},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "subjects"
    neither = await client.post(
        "/api/v1/privacy/disclosures", headers=operator, json=body | {"subjects": [{}]}
    )
    assert neither.status_code == 422 and neither.json()["field"] == "subjects"
