"""`python -m alpr_audit verify | checkpoint | public-key | keygen` against a migrated SQLite
file, as an operator or the Kubernetes CronJob runs them (344.4(d))."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from alpr_audit.intake import record_event
from alpr_audit.main import SPEC
from alpr_common.db import Database
from alpr_common.events import Event
from alpr_common.migrations import upgrade

pytestmark = pytest.mark.policy("344.4(d)")


@pytest.fixture
async def audit_db(tmp_path: Path, ev) -> dict[str, str]:
    """A migrated SQLite audit database with six entries, and the environment that points the
    commands at it."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    await upgrade(SPEC.migrations_dir, url)
    db = Database.from_url(url)
    async with db.sessionmaker() as session:
        for minute in range(3):
            for e in ev.gateway_pair(minute=minute):
                await record_event(session, event=Event.model_validate(e))
        await session.commit()
    await db.dispose()
    return {
        **os.environ,
        "AUDIT_ENVIRONMENT": "test",
        "AUDIT_DATABASE_URL": url,
        "AUDIT_CHECKPOINT_DIR": str(tmp_path / "checkpoints"),
        "AUDIT_CHECKPOINT_KEY_FILE": str(tmp_path / "keys" / "checkpoint.pem"),
    }


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("checkpoint-*.json"))


async def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alpr_audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _raw(env: dict[str, str], *statements: str) -> None:
    db = Database.from_url(env["AUDIT_DATABASE_URL"])
    async with db.sessionmaker() as session:
        await session.execute(text("DROP TRIGGER log_entry_no_update"))
        for statement in statements:
            await session.execute(text(statement))
        await session.commit()
    await db.dispose()


async def test_verify_passes_on_an_intact_log(audit_db):
    done = await _run(audit_db, "verify")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checked 6 entries, last seq 6" in done.stdout
    assert "OK" in done.stdout


async def test_verify_fails_and_names_the_broken_entry(audit_db):
    await _raw(audit_db, "UPDATE log_entry SET data = '{\"status\": 200}' WHERE seq = 4")
    done = await _run(audit_db, "verify")
    assert done.returncode == 1
    assert "BROKEN at seq 4" in done.stdout
    assert "hash_mismatch" in done.stdout
    as_json = await _run(audit_db, "verify", "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["first_broken"]["seq"] == 4


async def test_checkpoint_writes_a_signed_file_that_verify_checks(audit_db):
    done = await _run(audit_db, "checkpoint")
    assert done.returncode == 0, done.stderr
    assert "signed seq 6" in done.stdout
    files = _files(Path(audit_db["AUDIT_CHECKPOINT_DIR"]))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["checkpoint"]["seq"] == 6

    again = await _run(audit_db, "checkpoint")
    assert again.returncode == 0 and "nothing signed" in again.stdout

    verified = await _run(audit_db, "verify")
    assert verified.returncode == 0 and "1 checkpoints" in verified.stdout

    files[0].write_text(files[0].read_text().replace('"seq": 6', '"seq": 5'))
    tampered = await _run(audit_db, "verify")
    assert tampered.returncode == 1
    assert "bad_signature" in tampered.stdout


async def test_checkpoint_refuses_a_broken_chain(audit_db):
    await _raw(audit_db, "UPDATE log_entry SET subject = 'user:1' WHERE seq = 2")
    done = await _run(audit_db, "checkpoint")
    assert done.returncode == 1
    assert "log entry 2" in done.stderr


async def test_public_key_and_keygen(audit_db, tmp_path):
    shown = await _run(audit_db, "public-key")
    assert shown.returncode == 0
    assert "BEGIN PUBLIC KEY" in shown.stdout
    refused = await _run(audit_db, "keygen")
    assert refused.returncode == 1 and "not replaced" in refused.stderr
    fresh = {**audit_db, "AUDIT_CHECKPOINT_KEY_FILE": str(tmp_path / "new" / "key.pem")}
    made = await _run(fresh, "keygen")
    assert made.returncode == 0 and (tmp_path / "new" / "key.pem").exists()
