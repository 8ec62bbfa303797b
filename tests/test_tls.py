"""P12: camtel serves HTTPS itself when given a certificate, and every HTTPS answer carries
HSTS; plain-HTTP answers do not (a browser ignores HSTS there anyway)."""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time

import httpx

from helpers.tls import certificate


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_over_https_with_hsts(tmp_path):
    cert_file, key_file = certificate(tmp_path)
    port = _free_port()
    env = os.environ | {
        "CAMTEL_DATA_DIR": str(tmp_path / "data"),
        "CAMTEL_DATABASE_URL": "",
        "CAMTEL_HTTP_PORT": str(port),
        "CAMTEL_JT808_PORT": "0",
        "CAMTEL_TELTONIKA_PORT": "0",
        "CAMTEL_OSMAND_PORT": "0",
        "CAMTEL_TLS_CERT_FILE": str(cert_file),
        "CAMTEL_TLS_KEY_FILE": str(key_file),
        "CAMTEL_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "camtel", "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        context = ssl.create_default_context(cafile=str(cert_file))
        answer = None
        for _ in range(120):
            try:
                answer = httpx.get(f"https://localhost:{port}/healthz", verify=context)
                break
            except httpx.HTTPError:
                time.sleep(0.25)
        assert answer is not None and answer.status_code == 200
        assert answer.headers["strict-transport-security"].startswith("max-age=31536000")
        try:
            plain = httpx.get(f"http://localhost:{port}/healthz", timeout=3)
        except httpx.HTTPError:
            plain = None
        assert plain is None or plain.status_code >= 400, "no plain HTTP on the TLS port"
    finally:
        server.terminate()
        server.wait(20)


async def test_hsts_only_over_https(client):
    assert "strict-transport-security" in (await client.get("/healthz")).headers
    plain = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with plain:
        assert "strict-transport-security" not in (await plain.get("/healthz")).headers
