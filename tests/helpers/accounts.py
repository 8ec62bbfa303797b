"""People for tests: sign up through the API (verified, with an organisation), sign in
tokens from the outbox, members joining an organisation."""

from __future__ import annotations

PASSWORD = "a long and private passphrase"


async def latest_token(services, email: str, marker: str = "token=") -> str:  # type: ignore[no-untyped-def]
    """The token in the newest mail to `email`, read from the outbox as a person would."""
    from sqlalchemy import select

    from camtel.mail.models import OutboxMail

    async with services.database.session() as db:
        mail = await db.scalar(
            select(OutboxMail)
            .where(OutboxMail.to_address == email)
            .order_by(OutboxMail.created_at.desc(), OutboxMail.id.desc())
            .limit(1)
        )
    assert mail is not None, "no mail was sent"
    return mail.body.split(marker, 1)[1].split()[0]


async def sign_up(client, services, email: str, phone: str = "+4915123456789", **extra):  # type: ignore[no-untyped-def]
    """Register, verify through the mailed link, sign in; returns auth headers and the user id
    (read from GET /me: the register answer names no account, known or new)."""
    answer = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "phone": phone, "password": PASSWORD, **extra},
    )
    assert answer.status_code == 202, answer.text
    token = await latest_token(services, email)
    verified = await client.get("/api/v1/auth/verify", params={"token": token})
    assert verified.status_code == 200, verified.text
    login = await client.post("/api/v1/auth/token", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    return headers, me.json()["id"]


async def join(client, owner: dict, org: str, email: str, role: str, member: dict) -> None:  # type: ignore[no-untyped-def]
    """Invite a signed-up person into an organisation and accept as them: a membership."""
    invited = await client.post(
        f"/api/v1/organizations/{org}/invitations",
        headers=owner,
        json={"email": email, "role": role},
    )
    assert invited.status_code == 202, invited.text
    accepted = await client.post(
        f"/api/v1/me/invitations/{invited.json()['id']}/accept", headers=member
    )
    assert accepted.status_code == 200, accepted.text
