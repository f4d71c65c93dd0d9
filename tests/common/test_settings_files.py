"""Every setting can be read from a file: `<PREFIX><SETTING>_FILE` names it (Kubernetes mounts
Secrets as files, so no secret travels in the environment), and the database password can be
kept apart from the URL."""

from __future__ import annotations

import secrets

import pytest
from pydantic import SecretStr, ValidationError
from pydantic_settings import SettingsError

from alpr_access.settings import AccessSettings
from alpr_audit.settings import AuditSettings
from alpr_common.settings import BaseServiceSettings
from alpr_gateway.settings import GatewaySettings
from alpr_hotlist.settings import HotlistSettings
from alpr_ingest.settings import IngestSettings
from alpr_sharing.settings import SharingSettings

SERVICES = (AccessSettings, AuditSettings, IngestSettings, HotlistSettings, SharingSettings)


@pytest.mark.parametrize("cls", [*SERVICES, GatewaySettings], ids=lambda c: c.__name__)
def test_a_secret_is_read_from_the_file_its_FILE_variable_names(cls, monkeypatch, tmp_path):
    prefix = cls.model_config["env_prefix"]
    strong = secrets.token_urlsafe(32)
    (tmp_path / "client-secret").write_text(strong + "\n")  # as `echo` writes it
    (tmp_path / "client-id").write_text("ingest")
    monkeypatch.setenv(f"{prefix}CLIENT_SECRET_FILE", str(tmp_path / "client-secret"))
    monkeypatch.setenv(f"{prefix}CLIENT_ID_FILE", str(tmp_path / "client-id"))
    settings = cls()
    assert settings.client_secret.get_secret_value() == strong
    assert settings.client_id == "ingest"


def test_any_setting_of_any_type_can_come_from_a_file(monkeypatch, tmp_path):
    (tmp_path / "port").write_text("8123\n")
    (tmp_path / "shifts").write_text('["07:00", "19:00"]')
    monkeypatch.setenv("HOTLIST_PORT_FILE", str(tmp_path / "port"))
    monkeypatch.setenv("HOTLIST_SHIFT_END_TIMES_FILE", str(tmp_path / "shifts"))
    settings = HotlistSettings()
    assert settings.port == 8123
    assert settings.shift_end_times == ["07:00", "19:00"]


def test_a_setting_named_FILE_keeps_its_meaning_as_a_path(monkeypatch, tmp_path):
    key = tmp_path / "checkpoint-key.pem"
    monkeypatch.setenv("AUDIT_CHECKPOINT_KEY_FILE", str(key))
    assert str(AuditSettings().checkpoint_key_file) == str(key)  # the path, not its content


def test_both_the_value_and_its_file_are_refused(monkeypatch, tmp_path):
    (tmp_path / "secret").write_text(secrets.token_urlsafe(32))
    monkeypatch.setenv("INGEST_CLIENT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv("INGEST_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    with pytest.raises(SettingsError, match="INGEST_CLIENT_SECRET and INGEST_CLIENT_SECRET_FILE"):
        IngestSettings()


def test_a_missing_file_names_the_variable_and_what_to_do(monkeypatch, tmp_path):
    missing = tmp_path / "not-mounted"
    monkeypatch.setenv("SHARING_CLIENT_SECRET_FILE", str(missing))
    with pytest.raises(SettingsError, match=r"SHARING_CLIENT_SECRET_FILE=.*not-mounted.*mount"):
        SharingSettings()


def test_the_database_password_goes_into_the_url(monkeypatch, tmp_path):
    password = secrets.token_hex(32)
    (tmp_path / "password").write_text(password + "\n")
    monkeypatch.setenv("INGEST_ENVIRONMENT", "prod")
    monkeypatch.setenv("INGEST_CLIENT_SECRET", secrets.token_urlsafe(32))
    monkeypatch.setenv(
        "INGEST_DATABASE_URL", "postgresql+asyncpg://ingest@alpr-pg-rw:5432/ingest?ssl=require"
    )
    monkeypatch.setenv("INGEST_DATABASE_PASSWORD_FILE", str(tmp_path / "password"))
    settings = IngestSettings()
    assert settings.database_url == (
        f"postgresql+asyncpg://ingest:{password}@alpr-pg-rw:5432/ingest?ssl=require"
    )
    # A placeholder password is refused in prod wherever it came from.
    (tmp_path / "password").write_text("dev-placeholder-ingest-db-password")
    with pytest.raises(ValidationError, match=r"database_url \(password\)"):
        IngestSettings()


def test_a_password_in_both_places_is_refused():
    with pytest.raises(ValidationError, match="keep one"):
        BaseServiceSettings(
            database_url="postgresql+asyncpg://svc:one@db/alpr",
            database_password=SecretStr("two"),
        )


def test_without_a_password_setting_the_url_is_unchanged():
    url = "sqlite+aiosqlite:///var/alpr.db"
    assert BaseServiceSettings(database_url=url).database_url == url
