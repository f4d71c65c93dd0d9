"""Signed checkpoints of the chain head, kept outside the database (344.4(d))."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from pydantic import ValidationError

from alpr_audit import verification
from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.errors import ChainBroken, CheckpointKeyUnavailable
from alpr_audit.settings import AuditSettings

pytestmark = pytest.mark.policy("344.4(d)")


@pytest.fixture
def store(app) -> CheckpointStore:
    return app.state.checkpoints


async def _checkpoint(db, store, *, force: bool = False, page_size: int = 2):
    async with db.sessionmaker() as session:
        return await verification.write_checkpoint(
            session, store=store, page_size=page_size, force=force
        )


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("checkpoint-*.json"))


async def _verify(client, tokens) -> dict:
    resp = await client.get("/v1/log-verifications", headers=tokens.headers("city_auditor"))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_checkpoint_is_signed_and_verifies_offline(
    client, tokens, db, ev, send, store, checkpoint_dir: Path
):
    await send([*ev.gateway_pair(), ev.login_attempt()])
    written = await _checkpoint(db, store)
    assert written is not None and written.seq == 3 and written.signature_valid

    [path] = _files(checkpoint_dir)
    document = json.loads(path.read_text())
    assert document["checkpoint"]["seq"] == 3
    assert document["signature"]["algorithm"] == "Ed25519"
    # An auditor's offline check, with the key the service publishes.
    keys = (await client.get("/v1/checkpoint-keys", headers=tokens.headers("city_auditor"))).json()
    [key] = keys
    assert key["current"] is True and key["key_id"] == document["signature"]["key_id"]
    message = json.dumps(document["checkpoint"], sort_keys=True, separators=(",", ":")).encode()
    load_pem_public_key(key["public_key_pem"].encode()).verify(
        base64.b64decode(document["signature"]["value"]), message
    )
    entry = (
        await client.get(
            "/v1/log-entries/3",
            headers={
                **tokens.headers("city_auditor"),
                "X-ALPR-Purpose": "audit_review",
                "X-ALPR-Case": "AUD-1",
                "X-ALPR-Reason": "checking a signed checkpoint",
            },
        )
    ).json()
    assert entry["hash"] == document["checkpoint"]["hash"]

    result = await _verify(client, tokens)
    assert result["ok"] is True
    assert result["checkpoints_checked"] == 1
    assert result["latest_checkpoint"]["seq"] == 3
    listed = (await client.get("/v1/checkpoints", headers=tokens.headers("risk_management"))).json()
    assert [c["seq"] for c in listed] == [3]


async def test_checkpoint_only_when_the_chain_grew(db, ev, send, store, checkpoint_dir):
    await send(list(ev.gateway_pair()))
    assert (await _checkpoint(db, store)).seq == 2
    assert await _checkpoint(db, store) is None
    assert (await _checkpoint(db, store, force=True)).seq == 2
    await send([ev.login_attempt()])
    assert (await _checkpoint(db, store)).seq == 3
    assert len(_files(checkpoint_dir)) == 3


async def test_tampered_checkpoint_file_is_reported(
    client, tokens, db, ev, send, store, checkpoint_dir
):
    await send(list(ev.gateway_pair()))
    await _checkpoint(db, store)
    [path] = _files(checkpoint_dir)
    document = json.loads(path.read_text())
    document["checkpoint"]["seq"] = 1
    path.write_text(json.dumps(document))
    result = await _verify(client, tokens)
    assert result["ok"] is False
    [problem] = result["checkpoint_problems"]
    assert problem["problem"] == "bad_signature"
    assert problem["file"] == path.name
    assert result["latest_checkpoint"] is None


async def test_unreadable_and_foreign_checkpoints_are_reported(
    client, tokens, db, ev, send, store, checkpoint_dir, tmp_path
):
    await send(list(ev.gateway_pair()))
    await _checkpoint(db, store)
    (checkpoint_dir / "checkpoint-0000000000000009-x.json").write_text("{not json")
    foreign = CheckpointStore(
        AuditSettings(
            environment="test",
            checkpoint_dir=checkpoint_dir,
            checkpoint_key_file=tmp_path / "other.pem",
        )
    )
    foreign.write(seq=1, hash="a" * 64, at=ev.BASE_TIME)
    problems = {p["problem"] for p in (await _verify(client, tokens))["checkpoint_problems"]}
    assert problems == {"unreadable", "unknown_key"}


async def test_rewritten_chain_is_caught_by_an_earlier_checkpoint(
    client, tokens, db, ev, send, store, insider
):
    """An insider who edits an entry and recomputes every later hash leaves a valid-looking
    chain; the signed checkpoint outside the database still holds the old hash."""
    from sqlalchemy import text

    from alpr_audit.chain import entry_hash

    await send([*ev.gateway_pair(), *ev.gateway_pair()])
    await _checkpoint(db, store)
    async with db.sessionmaker() as session:
        rows = [
            dict(r._mapping)
            for r in (await session.execute(text("SELECT * FROM log_entry ORDER BY seq"))).all()
        ]
        rows[1]["subject"] = "user:nobody"
        prev = rows[0]["hash"]
        for row in rows[1:]:
            row["prev_hash"] = prev
            row["occurred_at"] = _aware(row["occurred_at"])
            row["recorded_at"] = _aware(row["recorded_at"])
            row["data"] = row["data"] if isinstance(row["data"], dict) else json.loads(row["data"])
            row["hash"] = prev = entry_hash(row)
        await insider.tamper(
            session,
            *[
                f"UPDATE log_entry SET subject = '{r['subject']}', prev_hash = '{r['prev_hash']}', "
                f"hash = '{r['hash']}' WHERE seq = {r['seq']}"
                for r in rows[1:]
            ],
        )
        await session.execute(text("UPDATE chain_head SET hash = :h"), {"h": prev})
        await session.commit()
    result = await _verify(client, tokens)
    assert result["first_broken"] is None  # the chain itself now looks whole
    assert result["ok"] is False
    [problem] = result["checkpoint_problems"]
    assert problem["problem"] == "hash_mismatch"
    assert problem["seq"] == 4
    with pytest.raises(ChainBroken):
        await _checkpoint(db, store)


def _aware(value):
    from datetime import UTC, datetime

    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def test_deleted_tail_is_caught_by_the_checkpoint(
    client, tokens, db, ev, send, store, insider
):
    await send([*ev.gateway_pair(), ev.login_attempt()])
    await _checkpoint(db, store)
    async with db.sessionmaker() as session:
        await insider.tamper(session, "DELETE FROM log_entry WHERE seq = 3")
        from sqlalchemy import text

        await session.execute(
            text("UPDATE chain_head SET seq = 2, hash = (SELECT hash FROM log_entry WHERE seq = 2)")
        )
        await session.commit()
    result = await _verify(client, tokens)
    assert result["ok"] is False
    assert result["head_problem"] is None
    [problem] = result["checkpoint_problems"]
    assert problem["problem"] == "beyond_end"
    with pytest.raises(ChainBroken, match="entries were deleted"):
        await _checkpoint(db, store)


async def test_no_checkpoint_is_signed_over_a_broken_chain(
    db, ev, send, store, insider, checkpoint_dir
):
    await send(list(ev.gateway_pair()))
    async with db.sessionmaker() as session:
        await insider.tamper(session, "UPDATE log_entry SET type = 'x.y' WHERE seq = 2")
        await session.commit()
    with pytest.raises(ChainBroken, match="log entry 2"):
        await _checkpoint(db, store)
    assert not _files(checkpoint_dir)


async def test_verification_streams_in_pages(db, ev, send, store):
    events = [e for minute in range(7) for e in ev.gateway_pair(minute=minute)]
    await send(events)
    async with db.sessionmaker() as session:
        result = await verification.verify_log(
            session, store=store, checkpoint_count=10, page_size=3
        )
    assert result.ok and result.entries_checked == 14 and result.last_seq == 14


def test_prod_refuses_the_dev_key_path():
    with pytest.raises(ValidationError, match="AUDIT_CHECKPOINT_KEY_FILE"):
        AuditSettings(environment="prod", client_secret="s3cr3t-from-vault")


def test_prod_never_generates_a_missing_key(tmp_path):
    settings = AuditSettings(
        environment="prod",
        client_secret="s3cr3t-from-vault",
        checkpoint_key_file=tmp_path / "missing.pem",
        checkpoint_dir=tmp_path / "cp",
    )
    with pytest.raises(CheckpointKeyUnavailable, match="not found"):
        CheckpointStore(settings).signing_key()
    assert not (tmp_path / "missing.pem").exists()


def test_dev_key_is_generated_private(tmp_path):
    settings = AuditSettings(
        environment="dev",
        checkpoint_key_file=tmp_path / "k" / "cp.pem",
        checkpoint_dir=tmp_path / "cp",
    )
    key = CheckpointStore(settings).signing_key()
    path = tmp_path / "k" / "cp.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert (
        CheckpointStore(settings).public_key().public_bytes_raw()
        == key.public_key().public_bytes_raw()
    )


async def test_the_running_service_signs_checkpoints_periodically(app, ev, send, checkpoint_dir):
    import asyncio

    from alpr_audit.main import checkpoint_writer

    await send(list(ev.gateway_pair()))
    app.state.settings = app.state.settings.model_copy(update={"checkpoint_interval_seconds": 0.05})
    async with checkpoint_writer(app):
        for _ in range(100):
            if _files(checkpoint_dir):
                break
            await asyncio.sleep(0.05)
    [path] = _files(checkpoint_dir)
    assert json.loads(path.read_text())["checkpoint"]["seq"] == 2


async def test_the_service_does_not_start_in_prod_without_its_key(app, tmp_path):
    from alpr_audit.main import checkpoint_writer

    app.state.checkpoints = CheckpointStore(
        AuditSettings(
            environment="prod",
            client_secret="s3cr3t-from-vault",
            checkpoint_key_file=tmp_path / "absent.pem",
            checkpoint_dir=tmp_path / "cp",
        )
    )
    with pytest.raises(CheckpointKeyUnavailable):
        async with checkpoint_writer(app):
            pass
