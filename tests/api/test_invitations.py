"""Joining an organisation takes the invited person's consent: an owner or manager invites an
address, the person accepts or declines, invitations expire, and the inviter's answer says
nothing about whether the address has an account."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from datetime import timedelta

from sqlalchemy import func, select

from camtel.accounts.models import OrganizationInvitation
from camtel.mail.models import OutboxMail
from camtel.privacy.retention import sweep
from helpers.accounts import join, sign_up

SHAPE = {"id", "organization_id", "email", "role", "status", "expires_at", "created_at"}


async def _org(client, headers) -> str:  # type: ignore[no-untyped-def]
    return (await client.get("/api/v1/organizations", headers=headers)).json()[0]["id"]


async def _mails_to(services, address: str) -> list[OutboxMail]:  # type: ignore[no-untyped-def]
    async with services.database.session() as db:
        return list(await db.scalars(select(OutboxMail).where(OutboxMail.to_address == address)))


async def _member_emails(client, headers, org: str) -> set[str]:  # type: ignore[no-untyped-def]
    listed = await client.get(f"/api/v1/organizations/{org}/members", headers=headers)
    return {m["email"] for m in listed.json()}


async def test_adding_a_member_invites_them_and_they_join_only_by_accepting(client, services):
    owner, _ = await sign_up(client, services, "inv-owner@example.com")
    bob, _ = await sign_up(client, services, "inv-bob@example.com")
    org = await _org(client, owner)

    # The old route keeps its body and now means "invite".
    invited = await client.post(
        f"/api/v1/organizations/{org}/members",
        headers=owner,
        json={"email": "INV-Bob@example.com", "role": "driver"},
    )
    assert invited.status_code == 202, invited.text
    assert set(invited.json()) == SHAPE
    assert invited.json()["email"] == "inv-bob@example.com"
    assert invited.json()["status"] == "pending"
    assert "inv-bob@example.com" not in await _member_emails(client, owner, org), "not yet"
    assert org not in {
        o["id"] for o in (await client.get("/api/v1/organizations", headers=bob)).json()
    }
    mails = await _mails_to(services, "inv-bob@example.com")
    [mail] = [m for m in mails if m.subject.startswith("You are invited")]
    assert invited.json()["id"] in mail.body and "accept" in mail.body

    pending = await client.get(f"/api/v1/organizations/{org}/invitations", headers=owner)
    assert [i["email"] for i in pending.json()] == ["inv-bob@example.com"]
    mine = (await client.get("/api/v1/me/invitations", headers=bob)).json()
    assert [(i["organization_id"], i["role"]) for i in mine] == [(org, "driver")]
    assert mine[0]["organization_name"]

    accepted = await client.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=bob)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json() == {"organization_id": org, "role": "driver"}
    assert "inv-bob@example.com" in await _member_emails(client, owner, org)
    roles = {
        o["id"]: o["role"] for o in (await client.get("/api/v1/organizations", headers=bob)).json()
    }
    assert roles[org] == "driver"
    again = await client.post(f"/api/v1/me/invitations/{mine[0]['id']}/accept", headers=bob)
    assert again.status_code == 404, "an invitation is used once"
    assert (
        await client.get(f"/api/v1/organizations/{org}/invitations", headers=owner)
    ).json() == []
    member = await client.post(
        f"/api/v1/organizations/{org}/invitations",
        headers=owner,
        json={"email": "inv-bob@example.com", "role": "viewer"},
    )
    assert member.status_code == 409, "a member (whom the owner sees listed) is not invited"


async def test_known_and_unknown_addresses_get_the_same_answer(client, services):
    owner, _ = await sign_up(client, services, "same-owner@example.com")
    await sign_up(client, services, "same-known@example.com")
    org = await _org(client, owner)
    url = f"/api/v1/organizations/{org}/members"
    known = await client.post(
        url, headers=owner, json={"email": "same-known@example.com", "role": "viewer"}
    )
    unknown = await client.post(
        url, headers=owner, json={"email": "same-ghost@example.com", "role": "viewer"}
    )
    assert known.status_code == unknown.status_code == 202
    assert set(known.json()) == set(unknown.json()) == SHAPE
    for field in ("organization_id", "role", "status"):
        assert known.json()[field] == unknown.json()[field]
    assert known.headers["content-type"] == unknown.headers["content-type"]
    [ghost_mail] = await _mails_to(services, "same-ghost@example.com")
    assert ghost_mail.user_id is None, "an address without an account is linked to no one"

    # The address registers later and finds the invitation waiting.
    ghost, ghost_id = await sign_up(client, services, "same-ghost@example.com")
    [waiting] = (await client.get("/api/v1/me/invitations", headers=ghost)).json()
    assert waiting["id"] == unknown.json()["id"]
    async with services.database.session() as db:
        row = await db.get(OrganizationInvitation, uuid.UUID(waiting["id"]))
    assert row.user_id == uuid.UUID(ghost_id), "linked to the person once they have an account"
    declined = await client.post(f"/api/v1/me/invitations/{waiting['id']}/decline", headers=ghost)
    assert declined.status_code == 204
    assert (await client.get("/api/v1/me/invitations", headers=ghost)).json() == []
    assert "same-ghost@example.com" not in await _member_emails(client, owner, org)
    late = await client.post(f"/api/v1/me/invitations/{waiting['id']}/accept", headers=ghost)
    assert late.status_code == 404, "a declined invitation cannot be accepted"


async def test_only_the_invited_address_answers_and_invitations_expire(client, services):
    owner, _ = await sign_up(client, services, "exp-owner@example.com")
    bob, _ = await sign_up(client, services, "exp-bob@example.com")
    carol, _ = await sign_up(client, services, "exp-carol@example.com")
    org = await _org(client, owner)
    url = f"/api/v1/organizations/{org}/invitations"
    made = (
        await client.post(
            url, headers=owner, json={"email": "exp-bob@example.com", "role": "viewer"}
        )
    ).json()
    for action in ("accept", "decline"):
        other = await client.post(f"/api/v1/me/invitations/{made['id']}/{action}", headers=carol)
        assert other.status_code == 404, "another address sees no such invitation"
    assert (await client.get("/api/v1/me/invitations", headers=carol)).json() == []
    nothing = await client.post(f"/api/v1/me/invitations/{uuid.uuid4()}/accept", headers=bob)
    assert nothing.status_code == 404

    real_clock = services.clock
    services.clock = lambda: real_clock() + timedelta(days=8)
    try:
        assert (await client.get("/api/v1/me/invitations", headers=bob)).json() == []
        expired = await client.post(f"/api/v1/me/invitations/{made['id']}/accept", headers=bob)
        assert expired.status_code == 404, "an invitation expires"
        assert (await client.get(url, headers=owner)).json() == []
    finally:
        services.clock = real_clock

    # Withdrawn by the organisation: gone for the invited person too.
    again = (
        await client.post(
            url, headers=owner, json={"email": "exp-bob@example.com", "role": "viewer"}
        )
    ).json()
    assert (await client.delete(f"{url}/{again['id']}", headers=owner)).status_code == 204
    assert (
        await client.post(f"/api/v1/me/invitations/{again['id']}/accept", headers=bob)
    ).status_code == 404


async def test_who_may_invite_whom(client, services):
    owner, _ = await sign_up(client, services, "who-owner@example.com")
    manager, _ = await sign_up(client, services, "who-manager@example.com")
    viewer, _ = await sign_up(client, services, "who-viewer@example.com")
    stranger, _ = await sign_up(client, services, "who-stranger@example.com")
    org = await _org(client, owner)
    await join(client, owner, org, "who-manager@example.com", "manager", manager)
    await join(client, owner, org, "who-viewer@example.com", "viewer", viewer)
    url = f"/api/v1/organizations/{org}/invitations"

    def body(role: str) -> dict[str, str]:
        return {"email": "who-new@example.com", "role": role}

    assert (await client.post(url, headers=manager, json=body("driver"))).status_code == 202
    assert (await client.post(url, headers=manager, json=body("owner"))).status_code == 403
    assert (await client.post(url, headers=viewer, json=body("viewer"))).status_code == 403
    assert (await client.get(url, headers=viewer)).status_code == 403
    assert (await client.post(url, headers=stranger, json=body("viewer"))).status_code == 404
    assert (await client.get(url, headers=stranger)).status_code == 404
    bad = await client.post(url, headers=owner, json={"email": "not an address", "role": "viewer"})
    assert bad.status_code == 422 and bad.json()["field"] == "email"
    # Inviting again renews the one invitation rather than piling them up.
    assert (await client.post(url, headers=owner, json=body("viewer"))).status_code == 202
    assert [(i["email"], i["role"]) for i in (await client.get(url, headers=owner)).json()] == [
        ("who-new@example.com", "viewer")
    ]


async def test_invitations_are_exported_erased_and_swept(client, services):
    owner, _ = await sign_up(client, services, "reg-owner@example.com")
    bob, _ = await sign_up(client, services, "reg-bob@example.com")
    org = await _org(client, owner)
    url = f"/api/v1/organizations/{org}/invitations"
    await client.post(url, headers=owner, json={"email": "reg-bob@example.com", "role": "viewer"})
    await client.post(url, headers=owner, json={"email": "reg-ghost@example.com", "role": "viewer"})

    archive = zipfile.ZipFile(
        io.BytesIO((await client.get("/api/v1/me/export", headers=bob)).content)
    )
    [exported] = json.loads(archive.read("data/organization_invitations.json"))
    assert exported["email"] == "reg-bob@example.com" and exported["organization_id"] == org

    assert (await client.delete("/api/v1/me", headers=bob)).status_code == 200
    async with services.database.session() as db:
        left = list(await db.scalars(select(OrganizationInvitation.email)))
    assert left == ["reg-ghost@example.com"], "the erased person's invitation went with them"

    async with services.database.session() as db:
        await sweep(db, now=services.clock() + timedelta(days=8))
    async with services.database.session() as db:
        count = await db.scalar(select(func.count()).select_from(OrganizationInvitation))
    assert count == 0, "expired invitations are swept"
