"""Data residency (P13): the region is shown, and a database or media store elsewhere stops
camtel from starting."""

from __future__ import annotations

import pytest

from camtel.app import serve
from camtel.config import Settings
from camtel.privacy.residency import residency_problems
from helpers.accounts import sign_up

GERMANY = "eu-central-1 / Germany"


def problems(
    region: str = GERMANY, *, database: str = "", media: str = "", endpoint: str = ""
) -> list[str]:
    return residency_problems(
        region=region, database_url=database, media_url=media, s3_endpoint=endpoint
    )


def test_a_database_host_naming_another_region_is_a_problem():
    rds = "postgresql://camtel:s3cret@camtel.c9akciq32.{}.rds.amazonaws.com:5432/camtel"
    assert problems(database=rds.format("eu-central-1")) == []
    [problem] = problems(database=rds.format("us-east-1"))
    assert problem.startswith("CAMTEL_DATABASE_URL:") and "us-east-1" in problem
    assert "s3cret" not in problem and "c9akciq32" not in problem, "no password, no host"
    for host in ("pg.europe-west3.example.com", "db.westeurope.cloudapp.azure.com"):
        assert problems(database=f"postgresql://u@{host}/camtel"), host  # Google Cloud, Azure
    assert problems("europe-west3 / Frankfurt", database="postgresql://u@pg.europe-west3.x/c") == []
    listed = "postgresql://u@a.eu-central-1.rds.amazonaws.com,b.us-west-2.rds.amazonaws.com/c"
    assert ["us-west-2" in p for p in problems(database=listed)] == [True], "every host counts"
    assert problems(database="postgresql://u@/c?host=a.ap-south-1.rds.amazonaws.com")


def test_a_local_private_or_unnamed_database_is_accepted():
    for url in (
        "",  # SQLite in the data directory
        "sqlite:////var/lib/camtel/camtel.db",
        "postgresql://camtel@localhost/camtel",
        "postgresql://camtel:pw@127.0.0.1:5432/camtel",
        "postgresql://camtel@[::1]/camtel",
        "postgresql://camtel@10.0.3.7/camtel",
        "postgresql://camtel@/camtel?host=/var/run/postgresql",  # unix socket
        "postgresql://camtel@%2Fvar%2Frun%2Fpostgresql/camtel",
        "postgresql://camtel@db-primary-1.internal/camtel",  # names no region: unknowable
    ):
        assert problems(database=url) == [], url
        assert problems("local", database=url) == [], url


def test_the_media_bucket_and_endpoint_must_name_the_declared_region():
    endpoint = "https://s3.{}.amazonaws.com"
    assert problems(media="s3://camtel-media", endpoint=endpoint.format("eu-central-1")) == []
    [problem] = problems(media="s3://camtel-media", endpoint=endpoint.format("us-east-1"))
    assert problem.startswith("CAMTEL_MEDIA_S3_ENDPOINT:") and "us-east-1" in problem
    [problem] = problems(media="s3://camtel-media-us-east-1/recordings")
    assert problem.startswith("CAMTEL_MEDIA_URL:") and "us-east-1" in problem
    assert problems(media="s3://camtel", endpoint="http://127.0.0.1:9000") == [], "a local MinIO"
    assert problems(media="s3://camtel", endpoint="https://minio.example.com") == [], "unknowable"
    # A declared region that names no cloud region cannot match one the store names.
    assert problems("Germany", media="s3://camtel", endpoint="https://s3.eu-west-3.amazonaws.com")


def test_a_local_media_store_is_here_whatever_the_endpoint():
    for media in ("", "file:///var/lib/camtel/media"):
        assert problems(media=media, endpoint="https://s3.us-east-1.amazonaws.com") == []


async def test_serve_refuses_to_start_naming_the_setting(tmp_path, monkeypatch):
    """What `camtel serve` calls first stops before it touches the data directory or the
    database, and says which setting contradicts the region, without the password."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CAMTEL_{name.upper()}", raising=False)
    settings = Settings(
        data_dir=tmp_path / "data",
        storage_region=GERMANY,
        database_url="postgresql://camtel:s3cret@camtel.c9akciq32.us-east-1.rds.amazonaws.com/c",
    )
    with pytest.raises(SystemExit) as refused:
        await serve(settings)
    message = str(refused.value.code)
    assert message.startswith("camtel: refusing to start: CAMTEL_DATABASE_URL:")
    assert "us-east-1" in message and "eu-central-1" in message
    assert "s3cret" not in message
    assert not settings.data_dir.exists()


async def test_privacy_centre_shows_region_and_requests(client, services):
    headers, _ = await sign_up(client, services, "centre@example.com")
    await client.get("/api/v1/me/export", headers=headers)
    centre = (await client.get("/api/v1/privacy/centre", headers=headers)).json()
    assert centre["storage_region"] == services.settings.storage_region
    assert centre["retention"]["positions"]
    assert [r["kind"] for r in centre["requests"]] == ["export"]
