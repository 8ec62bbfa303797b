"""Settings: every one documented, bad values refused, the TOML file read."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from camtel.config import Settings, async_url

DOCS = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented():
    text = DOCS.read_text()
    undocumented = [
        f"CAMTEL_{name.upper()}"
        for name in Settings.model_fields
        if f"`CAMTEL_{name.upper()}`" not in text
    ]
    assert undocumented == []


def test_every_setting_has_a_description():
    assert [n for n, f in Settings.model_fields.items() if not f.description] == []


def test_contract_defaults(monkeypatch):
    for name in Settings.model_fields:
        monkeypatch.delenv(f"CAMTEL_{name.upper()}", raising=False)
    settings = Settings()
    assert (settings.http_host, settings.http_port) == ("127.0.0.1", 8080)
    assert (settings.jt808_port, settings.teltonika_port, settings.osmand_port) == (
        5015,
        5027,
        5055,
    )
    assert settings.bus_url == "memory://"
    assert settings.webhook_allow_private is False
    assert settings.data_dir == Path("./camtel-data")


def test_environment_and_bad_values(monkeypatch):
    monkeypatch.setenv("CAMTEL_HTTP_PORT", "9000")
    monkeypatch.setenv("CAMTEL_WEBHOOK_ALLOW_PRIVATE", "1")
    settings = Settings()
    assert settings.http_port == 9000 and settings.webhook_allow_private is True
    monkeypatch.setenv("CAMTEL_HTTP_PORT", "70000")
    with pytest.raises(ValidationError):
        Settings()
    with pytest.raises(ValidationError):
        Settings(no_such_setting=1)


def test_toml_file(monkeypatch, tmp_path):
    path = tmp_path / "camtel.toml"
    path.write_text('http_port = 8181\nlog_level = "debug"\n')
    monkeypatch.setenv("CAMTEL_CONFIG_FILE", str(path))
    monkeypatch.delenv("CAMTEL_HTTP_PORT", raising=False)
    settings = Settings()
    assert settings.http_port == 8181 and settings.log_level == "DEBUG"
    monkeypatch.setenv("CAMTEL_HTTP_PORT", "8282")
    assert Settings().http_port == 8282, "the environment wins over the file"


def test_database_urls_pick_drivers():
    assert async_url("postgresql://u@h:5432/db") == "postgresql+psycopg://u@h:5432/db"
    assert async_url("sqlite:///x/camtel.db") == "sqlite+aiosqlite:///x/camtel.db"
    settings = Settings(data_dir=Path("/srv/camtel"))
    assert settings.sqlalchemy_url == "sqlite+aiosqlite:////srv/camtel/camtel.db"
