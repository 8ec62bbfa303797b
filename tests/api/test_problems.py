"""Bad requests get RFC 9457 problem details, never a 500 and never a partial write."""

from __future__ import annotations

from helpers.accounts import sign_up

PROBLEM = "application/problem+json"


async def test_malformed_json_wrong_types_unknown_fields(client, services):
    headers, _ = await sign_up(client, services, "prob@example.com")
    json_headers = headers | {"content-type": "application/json"}
    cases = [
        b'{"name": "x", "unique_id": ',  # truncated
        b"[1, 2, 3]",
        b'{"name": ["x"], "unique_id": "1", "protocol": "osmand"}',
        b'{"name": "x", "unique_id": "1", "protocol": "osmand", "admin": true}',
        b"\xff\xfe not even utf-8",
    ]
    for raw in cases:
        answer = await client.post("/api/v1/devices", headers=json_headers, content=raw)
        assert answer.status_code == 422, (raw, answer.status_code)
        assert answer.headers["content-type"].startswith(PROBLEM)
        body = answer.json()
        assert (
            body["status"] == answer.status_code
            and body["type"].startswith("https://")
            and body["title"]
        )
    assert (await client.get("/api/v1/devices", headers=headers)).json() == []


async def test_unparseable_json_is_422_saying_so(client, services):
    headers, _ = await sign_up(client, services, "unparseable@example.com")
    json_headers = headers | {"content-type": "application/json"}
    routes = [
        ("POST", "/api/v1/devices"),
        ("PATCH", "/api/v1/me"),
        ("POST", "/api/v1/webhooks"),
        ("POST", "/api/v1/contact"),  # public
        ("PATCH", "/api/v1/media/01900000-0000-7000-8000-000000000000"),
    ]
    bodies = [
        b'{"name": "x", "unique_id": ',  # truncated
        b"\xff\xfe not even utf-8",
        b'{"name": "\xe9t\xe9"}',  # latin-1, not UTF-8
        b'{"name": "x"} trailing',
        b"[" * 100_000,  # deeper than any parser goes
    ]
    for method, url in routes:
        for raw in bodies:
            answer = await client.request(method, url, headers=json_headers, content=raw)
            assert answer.status_code == 422, (url, raw[:20], answer.text)
            assert answer.headers["content-type"].startswith(PROBLEM)
            body = answer.json()
            assert body["status"] == 422 and body["type"].endswith("/invalid")
            assert body["detail"] == "the body is not valid JSON", body
            assert body["errors"][0]["type"] == "json_invalid"
    assert (await client.get("/api/v1/devices", headers=headers)).json() == []


async def test_absurd_sizes(client, services):
    headers, _ = await sign_up(client, services, "size@example.com")
    huge = b'{"name": "' + b"x" * (services.settings.max_request_bytes + 10) + b'"}'
    answer = await client.post(
        "/api/v1/devices", headers=headers | {"content-type": "application/json"}, content=huge
    )
    assert answer.status_code == 413
    assert answer.headers["content-type"].startswith(PROBLEM)

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(20):
            yield b"x" * 100_000

    streamed = await client.post(
        "/api/v1/devices", headers=headers | {"content-type": "application/json"}, content=chunks()
    )
    assert streamed.status_code == 413
    long_name = await client.post(
        "/api/v1/devices",
        headers=headers,
        json={"name": "x" * 5000, "unique_id": "1", "protocol": "osmand"},
    )
    assert long_name.status_code == 422
    too_many = await client.get("/api/v1/devices", headers=headers, params={"limit": 10_001})
    assert too_many.status_code == 422
    assert (await client.get("/api/v1/devices", headers=headers)).json() == []


async def test_unknown_routes_and_methods_are_problems(client, services):
    headers, _ = await sign_up(client, services, "route@example.com")
    missing = await client.get("/api/v1/nothing-here", headers=headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM)
    wrong = await client.put("/api/v1/devices", headers=headers, json={})
    assert wrong.status_code == 405
    bad_id = await client.get("/api/v1/devices/not-a-uuid", headers=headers)
    assert bad_id.status_code == 422


async def test_healthz_and_openapi(client):
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["checks"]["database"] == "ok"
    spec = (await client.get("/openapi.json")).json()
    for path in [
        "/api/v1/auth/token",
        "/api/v1/auth/register",
        "/api/v1/devices",
        "/api/v1/devices/{device_id}/positions",
    ]:
        assert path in spec["paths"], path
    token_body = spec["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/x-www-form-urlencoded"} <= set(token_body)
