"""Media stores: the local directory and an S3-compatible server (moto, on loopback)."""

from __future__ import annotations

import os
import socket

import pytest

from camtel.media.store import LocalStore, S3Store, StoreError, open_store
from helpers.env import missing


async def _chunks(data: bytes, size: int = 1 << 20):
    for i in range(0, len(data), size):
        yield data[i : i + size]


async def _read(store, key, start=0, end=None) -> bytes:
    return b"".join([c async for c in store.get(key, start, end)])


async def _exercise(store, big: int) -> None:
    data = os.urandom(big)
    assert await store.put("o/a/b", _chunks(data)) == len(data)
    assert await store.exists("o/a/b") and await store.size("o/a/b") == len(data)
    assert await _read(store, "o/a/b") == data
    assert await _read(store, "o/a/b", 10, 20) == data[10:20]
    assert await _read(store, "o/a/b", len(data) - 3) == data[-3:]
    assert await store.put("o/empty", _chunks(b"")) == 0
    assert await _read(store, "o/empty") == b""
    await store.delete("o/a/b")
    await store.delete("o/a/b")  # twice is fine
    assert not await store.exists("o/a/b")
    with pytest.raises(StoreError):
        await store.size("o/a/b")


async def test_local_store(tmp_path):
    store = LocalStore(tmp_path / "media")
    await _exercise(store, 3 * (1 << 20) + 5)
    for bad in ("../x", "o/../../x", "/abs", "o//x", ""):
        with pytest.raises(StoreError):
            await store.put(bad, _chunks(b"x"))


async def test_a_broken_stream_leaves_nothing(tmp_path):
    store = LocalStore(tmp_path / "media")

    async def broken():
        yield b"x" * 100
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.put("o/k", broken())
    assert not await store.exists("o/k")
    assert [p.name for p in (tmp_path / "media" / "o").iterdir()] == []


def test_open_store(tmp_path):
    assert isinstance(open_store("", tmp_path), LocalStore)
    assert open_store(f"file://{tmp_path}/m", tmp_path).root == tmp_path / "m"
    with pytest.raises(ValueError):
        open_store("ftp://x", tmp_path)


@pytest.fixture(scope="module")
def s3_endpoint():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError:
        missing("moto[server] is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


async def test_s3_store(s3_endpoint, monkeypatch):
    import boto3

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="camtel")
    store = S3Store("camtel", "/clips/", client=client, part_size=5 * 1024 * 1024)
    # Over two parts: exercises the multipart upload path.
    await _exercise(store, 11 * 1024 * 1024 + 3)
    assert await store.put("o/small", _chunks(b"hello")) == 5
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="camtel")["Contents"]]
    assert "clips/o/small" in keys


async def test_s3_store_from_url(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    store = open_store("s3://bucket2/p", None, s3_endpoint=s3_endpoint)  # type: ignore[arg-type]
    assert isinstance(store, S3Store)
    store.client.create_bucket(Bucket="bucket2")
    await store.put("o/x", _chunks(b"abc"))
    assert await _read(store, "o/x", 1) == b"bc"
