"""What the registration mail links to, and which field a refused registration names."""

from __future__ import annotations

import pytest

from helpers.accounts import PASSWORD, latest_token

REGISTER = "/api/v1/auth/register"


async def test_the_verification_mail_links_to_the_page_and_the_api_takes_its_token(
    client, services
):
    body = {"email": "link@example.com", "phone": "+4915123456789", "password": PASSWORD}
    assert (await client.post(REGISTER, json=body)).status_code == 202
    token = await latest_token(services, "link@example.com")
    assert await latest_token(
        services, "link@example.com", marker=f"{services.settings.base_url}/verify?token="
    ) == token, "people open the page, not the JSON route"
    answer = await client.get("/api/v1/auth/verify", params={"token": token})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "+49 000"}, "phone"),
        ({"email": "not an address"}, "email"),
        ({"password": "password"}, "password"),
    ],
)
async def test_a_refused_registration_names_its_field(client, change, field):
    body = {"email": "f@example.com", "phone": "+4915123456789", "password": PASSWORD} | change
    answer = await client.post(REGISTER, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
