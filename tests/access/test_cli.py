"""The admin commands: create the first CSO, rotate and retire signing keys."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from alpr_access import repository, tokens
from alpr_access.cli import COMMANDS
from alpr_access.main import SPEC
from alpr_access.security import KeyStore, Passwords
from alpr_access.settings import AccessSettings
from alpr_common.cli import main
from alpr_common.db import Database
from alpr_common.migrations import upgrade
from tests.helpers.access import STRONG_PASSWORD

LOW_COST = {
    "ACCESS_ARGON2_TIME_COST": "1",
    "ACCESS_ARGON2_MEMORY_KIB": "1024",
    "ACCESS_ARGON2_PARALLELISM": "1",
}


@pytest.fixture
def access_env(tmp_path, monkeypatch) -> dict[str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'access.db'}"
    asyncio.run(upgrade(SPEC.migrations_dir, url))
    env = {
        "ACCESS_DATABASE_URL": url,
        "ACCESS_SIGNING_KEY_DIR": str(tmp_path / "keys"),
        "ACCESS_ENVIRONMENT": "test",
        **LOW_COST,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def run_cli(argv: list[str], monkeypatch, capsys, stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(SPEC, commands=COMMANDS, argv=argv)
    out, err = capsys.readouterr()
    return code, out, err


CREATE = [
    "create-cso",
    "--username",
    "sgt.rivera",
    "--full-name",
    "Ana Rivera",
    "--badge",
    "5120",
    "--password-stdin",
]


def test_create_cso_prints_the_totp_seed_once_and_the_cso_can_log_in(
    access_env, monkeypatch, capsys
):
    code, out, err = run_cli(CREATE, monkeypatch, capsys, stdin=STRONG_PASSWORD + "\n")

    assert code == 0, err
    created = json.loads(out)
    assert set(created) == {"user_id", "username", "totp_secret", "otpauth_uri"}
    assert STRONG_PASSWORD not in out

    async def login() -> tuple[list[str], str]:
        settings = AccessSettings()
        db = Database.from_url(settings.database_url)
        try:
            async with db.sessionmaker() as session:
                token = await tokens.login_person(
                    session,
                    settings=settings,
                    passwords=Passwords.from_settings(settings),
                    keys=KeyStore(settings.signing_key_dir, create=True),
                    username="sgt.rivera",
                    password=STRONG_PASSWORD,
                    totp=pyotp.TOTP(created["totp_secret"]).now(),
                    source_address=None,
                )
                roles = await repository.roles_of(session, [created["user_id"]])
                await session.commit()
            return roles[created["user_id"]], token.access_token
        finally:
            await db.dispose()

    roles, token = asyncio.run(login())
    assert roles == ["chief_security_officer"]
    assert token


def test_a_second_cso_needs_the_recovery_flag(access_env, monkeypatch, capsys):
    assert run_cli(CREATE, monkeypatch, capsys, stdin=STRONG_PASSWORD)[0] == 0
    second = [*CREATE, "--username", "lt.chen", "--full-name", "Li Chen"]

    refused, _, err = run_cli(second, monkeypatch, capsys, stdin=STRONG_PASSWORD)
    allowed, out, _ = run_cli(
        [*second, "--allow-additional"], monkeypatch, capsys, stdin=STRONG_PASSWORD
    )

    assert refused == 1 and "RoleConflict" in err
    assert allowed == 0 and json.loads(out)["username"] == "lt.chen"


@pytest.mark.parametrize("password", ["", "short", "password1234567", "riveraAna-2026!"])
def test_create_cso_refuses_weak_or_missing_passwords(access_env, monkeypatch, capsys, password):
    code, out, err = run_cli(CREATE, monkeypatch, capsys, stdin=password + "\n")

    assert code == 1
    assert out == ""
    assert "WeakPassword" in err
    assert not password or password not in err


def test_create_cso_as_a_real_command(access_env):
    env = {**os.environ, **access_env}

    result = subprocess.run(
        [sys.executable, "-m", "alpr_access", *CREATE],
        input=STRONG_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["otpauth_uri"].startswith("otpauth://totp/")


def test_rotate_key_adds_a_key_and_retire_keeps_recent_ones(access_env, monkeypatch, capsys):
    key_dir = Path(access_env["ACCESS_SIGNING_KEY_DIR"])

    first = json.loads(run_cli(["rotate-key"], monkeypatch, capsys)[1])
    second = json.loads(run_cli(["rotate-key"], monkeypatch, capsys)[1])
    retired = json.loads(run_cli(["retire-keys"], monkeypatch, capsys)[1])

    assert second["published"] == sorted([first["kid"], second["kid"]])
    assert KeyStore(key_dir, create=False).ring.active.kid == second["kid"]
    assert retired == {"retired": [], "dry_run": False}
    # Backdate the second key's creation: the first is then superseded long ago.
    old = (datetime.now(UTC) - timedelta(hours=1)).timestamp()
    os.utime(key_dir / f"{second['kid']}.pem", (old, old))
    dry = json.loads(run_cli(["retire-keys", "--dry-run"], monkeypatch, capsys)[1])
    assert dry == {"retired": [first["kid"]], "dry_run": True}
    assert (key_dir / f"{first['kid']}.pem").exists()
    run_cli(["retire-keys"], monkeypatch, capsys)
    assert sorted(p.stem for p in key_dir.glob("*.pem")) == [second["kid"]]
