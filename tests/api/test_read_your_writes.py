"""What an answer confirms is already stored: the request's transaction commits before the
response starts, so a client that got 200/201 and asks again at once sees its write. (With
FastAPI's default scope for a `yield` dependency the commit would run after the response,
racing the client's next request; a sign-in right after verifying the address failed so.)"""

from __future__ import annotations

import httpx
from sqlalchemy import event

from camtel.app import build_api
from helpers.accounts import sign_up


async def test_the_commit_comes_before_the_answer(services):
    app = build_api(services)
    order: list[str] = []

    async def spied(scope, receive, send):  # type: ignore[no-untyped-def]
        async def spy(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                order.append("response")
            await send(message)

        await app(scope, receive, spy)

    engine = services.database.engine.sync_engine
    listener = lambda _conn: order.append("commit")  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        transport = httpx.ASGITransport(app=spied)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
            headers, _ = await sign_up(http, services, "read-own@example.com")
            for method, url, body in (
                (
                    "POST",
                    "/api/v1/devices",
                    {"name": "Van", "unique_id": "70001", "protocol": "osmand"},
                ),
                ("PATCH", "/api/v1/me", {"display_name": "Ana"}),
                ("POST", "/api/v1/me/consents/analytics/give", None),
            ):
                order.clear()
                answer = await http.request(method, url, headers=headers, json=body)
                assert answer.status_code in (200, 201), answer.text
                assert "commit" in order and order[-1] == "response", (url, order)
    finally:
        event.remove(engine, "commit", listener)
