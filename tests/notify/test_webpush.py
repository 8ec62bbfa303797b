"""Web Push end to end against a local push endpoint that checks VAPID and decrypts."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import time

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import select

from camtel.notify.models import PushSubscription
from camtel.notify.webpush import load_or_create_key, public_key_b64
from helpers.notify import (
    Receiver,
    add_rule,
    make_world,
    running,
    serve,
    store_event,
    with_settings,
)


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Browser:
    """The receiving side of a subscription: its ECDH key pair and auth secret."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)

    @property
    def p256dh(self) -> str:
        return _b64e(
            self.key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def decrypt(self, body: bytes) -> dict:
        return json.loads(
            http_ece.decrypt(body, private_key=self.key, auth_secret=self.auth, version="aes128gcm")
        )


def check_vapid(header: str, *, audience: str, expected_key: str) -> dict:
    """Verify `vapid t=<JWT>,k=<key>` the way a push service does; the JWT claims."""
    scheme, _, params = header.partition(" ")
    assert scheme == "vapid"
    parts = dict(p.split("=", 1) for p in params.split(","))
    assert parts["k"] == expected_key
    head, claims, signature = parts["t"].split(".")
    raw = _b64d(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _b64d(parts["k"]))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(_b64d(head))["alg"] == "ES256"
    decoded = json.loads(_b64d(claims))
    assert decoded["aud"] == audience
    assert time.time() < decoded["exp"] <= time.time() + 24 * 3600
    assert decoded["sub"].startswith(("mailto:", "https://"))
    return decoded


def test_the_vapid_key_is_made_once_and_kept_private(tmp_path):
    path = tmp_path / "keys" / "vapid.pem"
    first = load_or_create_key(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert public_key_b64(load_or_create_key(path)) == public_key_b64(first)
    assert len(_b64d(public_key_b64(first))) == 65


async def test_a_push_reaches_the_browser_encrypted_and_signed(services):
    pushing = with_settings(services, webhook_allow_private=True)
    browser, gone = Browser(), Browser()
    try:
        world = await make_world(pushing)
        owner = world.users["owner@example.com"]
        await add_rule(pushing, owner, channels=["webpush"])
        async with serve(Receiver(status=201)) as endpoint, serve(Receiver(status=410)) as old:
            async with pushing.database.session() as db:
                db.add(
                    PushSubscription(
                        user_id=owner,
                        endpoint=endpoint.url + "/abc",
                        p256dh=browser.p256dh,
                        auth=_b64e(browser.auth),
                    )
                )
                db.add(
                    PushSubscription(
                        user_id=owner,
                        endpoint=old.url + "/gone",
                        p256dh=gone.p256dh,
                        auth=_b64e(gone.auth),
                    )
                )
            async with running(pushing.dispatcher) as dispatcher:
                record = await store_event(
                    pushing, world, type="alarm", urgent=True, attributes={"alarm": "sos"}
                )
                dispatcher.events_stored([record])
                await asyncio.wait_for(endpoint.arrived.wait(), 5)
                await asyncio.wait_for(old.arrived.wait(), 5)
                await asyncio.sleep(0.2)
                public = dispatcher.webpush.public_key
        got = endpoint.requests[0]
        assert got.path == "/hook/abc"
        assert got.headers["content-encoding"] == "aes128gcm"
        assert got.headers["urgency"] == "high" and int(got.headers["ttl"]) > 0
        check_vapid(
            got.headers["authorization"],
            audience=f"http://127.0.0.1:{endpoint.port}",
            expected_key=public,
        )
        message = browser.decrypt(got.body)
        assert message["title"] == "Van 7: alarm sos"
        assert message["event_id"] == str(record.id) and message["urgent"] is True
        assert "latitude" not in message, "push services never see where the vehicle is"
        with pytest.raises(Exception):  # noqa: B017 - any failure: another browser can't read it
            Browser().decrypt(got.body)
        async with pushing.database.session() as db:
            left = list(await db.scalars(select(PushSubscription.endpoint)))
        assert left == [endpoint.url + "/abc"], "a 410 answer forgets the subscription"
    finally:
        await pushing.database.dispose()
