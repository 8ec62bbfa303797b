"""The `camtel` command: accounts and outbox for operators, and `camtel demo` end to end."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from camtel.cli import app

runner = CliRunner()


def _env(tmp_path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"CAMTEL_DATA_DIR": str(tmp_path / "data"), "CAMTEL_DATABASE_URL": ""}


def test_user_create_and_outbox(tmp_path):
    env = _env(tmp_path)
    made = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "op@example.com",
            "--phone",
            "+49 151 23456789",
            "--password",
            "an operator passphrase",
            "--admin",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    assert "created account" in made.output
    again = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "OP@example.com",
            "--phone",
            "+49 151 23456789",
            "--password",
            "an operator passphrase",
        ],
        env=env,
    )
    assert again.exit_code == 1
    assert "already exists" in again.output
    weak = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "w@example.com",
            "--phone",
            "+49 151 23456789",
            "--password",
            "password",
        ],
        env=env,
    )
    assert weak.exit_code == 1 and "common" in weak.output
    empty = runner.invoke(app, ["outbox", "show"], env=env)
    assert empty.exit_code == 1, "a verified account gets no mail"
    listed = runner.invoke(app, ["outbox", "list"], env=env)
    assert listed.exit_code == 0
    shown = runner.invoke(app, ["config", "show"], env=env)
    assert "CAMTEL_DATA_DIR" in shown.output
    rebuilt = runner.invoke(app, ["db", "rebuild-latest"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "newest fix of 0 device(s)" in rebuilt.output


async def _first_live_position(port: int, token: str) -> dict:
    import json

    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live?token={token}") as ws:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            if message["type"] == "position":
                return message


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_demo_serves_a_working_api(tmp_path):
    port = _free_port()
    env = (
        os.environ
        | _env(tmp_path)
        | {
            "CAMTEL_HTTP_PORT": str(port),
            "CAMTEL_JT808_PORT": str(_free_port()),
            "CAMTEL_TELTONIKA_PORT": "0",
            "CAMTEL_OSMAND_PORT": "0",
            "CAMTEL_DEMO_DEVICES": "3",
            "COLUMNS": "200",
            "CAMTEL_LOG_LEVEL": "WARNING",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "camtel", "demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        login = None
        deadline = time.monotonic() + 60
        output = []
        while time.monotonic() < deadline and login is None:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            login = re.search(r"sign in as (\S+) with password (\S+)", line)
        assert login, "".join(output)
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/healthz").status_code == 200
        token = httpx.post(
            f"{base}/api/v1/auth/token", json={"email": login[1], "password": login[2]}
        )
        assert token.status_code == 200, token.text
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        devices = httpx.get(f"{base}/api/v1/devices", headers=headers).json()
        assert len(devices) == 3
        assert all(d["protocol"] == "jt808" for d in devices)
        fences = httpx.get(f"{base}/api/v1/geofences", headers=headers).json()
        kinds = sorted(f["kind"] for f in fences)
        assert kinds == ["circle"] * 5 + ["polygon"] * 5, "two fences around each city centre"
        token_only = headers["Authorization"].split()[1]
        live = asyncio.run(_first_live_position(port, token_only))
        assert live["device_id"] in {d["id"] for d in devices}
        assert -90 <= live["latitude"] <= 90 and live["time"]
        tracks = {}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(tracks) < 3:
            for device in devices:
                got = httpx.get(f"{base}/api/v1/devices/{device['id']}/positions",
                                headers=headers).json()
                if len(got) >= 2:
                    tracks[device["id"]] = got
            time.sleep(1)
        assert len(tracks) == 3, "every simulated dash cam reports through the gateway"
        for points in tracks.values():
            assert len({(p["latitude"], p["longitude"]) for p in points}) >= 2, "they move"
        # Recordings with embedded tracks are ready to play, the map and the video in sync.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            media = httpx.get(f"{base}/api/v1/media", headers=headers).json()
            if len(media) == 3 and all(m["status"] != "processing" for m in media):
                break
            time.sleep(1)
        assert sorted(m["filename"] for m in media) == [f"demo-drive-{n}.mp4" for n in (1, 2, 3)]
        for item in media:
            assert item["status"] == "ready", item
            assert item["track_points"] >= 30 and item["has_event"], item
        assert (tmp_path / "data" / "demo" / "demo-drive-1.mp4").is_file(), "made once, cached"
        page = httpx.get(f"{base}/login")
        assert page.status_code == 200 and "Sign in" in page.text
    finally:
        process.terminate()
        process.wait(timeout=20)
