"""Verification names the first broken entry: an edited, deleted or reordered row is found at
that entry (344.4(d))."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.policy("344.4(d)")


@pytest.fixture
async def five_entries(ev, send) -> None:
    events = []
    for minute in range(2):
        events.extend(ev.gateway_pair(minute=minute))
    events.append(ev.login_attempt())
    await send(events)


async def _verify(client, tokens, role: str = "risk_management") -> dict:
    resp = await client.get("/v1/log-verifications", headers=tokens.headers(role))
    assert resp.status_code == 200, resp.text
    return resp.json()


async def _event_id(db, seq: int) -> str:
    from sqlalchemy import text

    async with db.sessionmaker() as session:
        return (
            await session.execute(text("SELECT event_id FROM log_entry WHERE seq = :s"), {"s": seq})
        ).scalar_one()


@pytest.mark.parametrize("role", ["risk_management", "city_auditor", "chief_security_officer"])
async def test_intact_chain_verifies(client, tokens, five_entries, role):
    result = await _verify(client, tokens, role)
    assert result["ok"] is True
    assert result["entries_checked"] == 5
    assert result["last_seq"] == 5
    assert result["first_broken"] is None
    assert result["head"]["seq"] == 5
    assert result["head"]["hash"] == result["last_hash"]


async def test_empty_log_verifies(client, tokens):
    result = await _verify(client, tokens)
    assert result["ok"] is True
    assert result["entries_checked"] == 0


async def test_edited_data_breaks_the_chain_at_that_entry(
    client, tokens, db, five_entries, insider
):
    event_id = await _event_id(db, 3)
    async with db.sessionmaker() as session:
        await insider.tamper(
            session,
            f"UPDATE log_entry SET data = {insider.json_param(session)} WHERE seq = 3",
            data=json.dumps({"request_id": "forged", "status": 200}),
        )
        await session.commit()
    result = await _verify(client, tokens)
    assert result["ok"] is False
    broken = result["first_broken"]
    assert broken["seq"] == 3
    assert broken["event_id"] == event_id
    assert broken["problem"] == "hash_mismatch"
    assert result["broken_entries"] == 1


async def test_edited_column_breaks_the_chain_at_that_entry(
    client, tokens, db, five_entries, insider
):
    async with db.sessionmaker() as session:
        await insider.tamper(session, "UPDATE log_entry SET subject = 'user:1' WHERE seq = 2")
        await session.commit()
    broken = (await _verify(client, tokens))["first_broken"]
    assert (broken["seq"], broken["problem"]) == (2, "hash_mismatch")


async def test_deleted_row_breaks_the_chain_where_it_was(client, tokens, db, five_entries, insider):
    after = await _event_id(db, 4)
    async with db.sessionmaker() as session:
        await insider.tamper(session, "DELETE FROM log_entry WHERE seq = 3")
        await session.commit()
    result = await _verify(client, tokens)
    broken = result["first_broken"]
    assert broken["problem"] == "seq_gap"
    assert broken["expected_seq"] == 3
    assert broken["seq"] == 4
    assert broken["event_id"] == after
    assert "3..3 are missing" in broken["detail"]


async def test_deleted_and_renumbered_rows_break_the_chain_where_they_were(
    client, tokens, db, five_entries, insider
):
    async with db.sessionmaker() as session:
        await insider.tamper(
            session,
            "DELETE FROM log_entry WHERE seq = 3",
            "UPDATE log_entry SET seq = seq - 1 WHERE seq = 4",
            "UPDATE log_entry SET seq = seq - 1 WHERE seq = 5",
        )
        await session.commit()
    broken = (await _verify(client, tokens))["first_broken"]
    assert broken["seq"] == 3
    assert broken["problem"] in {"prev_hash_mismatch", "hash_mismatch"}


async def test_swapped_rows_break_the_chain_at_the_first_of_them(
    client, tokens, db, five_entries, insider
):
    async with db.sessionmaker() as session:
        await insider.tamper(
            session,
            "UPDATE log_entry SET seq = -2 WHERE seq = 2",
            "UPDATE log_entry SET seq = 2 WHERE seq = 3",
            "UPDATE log_entry SET seq = 3 WHERE seq = -2",
        )
        await session.commit()
    result = await _verify(client, tokens)
    assert result["first_broken"]["seq"] == 2
    assert result["first_broken"]["problem"] in {"prev_hash_mismatch", "hash_mismatch"}


async def test_deleted_last_row_is_caught_by_the_chain_head(
    client, tokens, db, five_entries, insider
):
    async with db.sessionmaker() as session:
        await insider.tamper(session, "DELETE FROM log_entry WHERE seq = 5")
        await session.commit()
    result = await _verify(client, tokens)
    assert result["ok"] is False
    assert result["first_broken"] is None
    assert "seq 5" in result["head_problem"]
    assert "entries were deleted" in result["head_problem"]


async def test_the_log_refuses_updates_and_deletes(db, five_entries):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    for statement in (
        "UPDATE log_entry SET subject = 'x' WHERE seq = 1",
        "DELETE FROM log_entry WHERE seq = 1",
    ):
        async with db.sessionmaker() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await session.rollback()


async def test_verification_is_refused_to_other_roles(client, tokens):
    for role in ("officer", "investigator", "camera", "admin"):
        resp = await client.get("/v1/log-verifications", headers=tokens.headers(role))
        assert resp.status_code == 403, role


async def _verified_at_startup(app) -> str:
    import asyncio

    from alpr_audit.main import startup_verification

    async with startup_verification(app):
        for _ in range(400):
            if not app.state.chain_at_startup.startswith("verifying"):
                break
            await asyncio.sleep(0.05)
        return str(app.state.chain_at_startup)


async def test_start_up_verification_makes_an_intact_log_ready(app, client, five_entries):
    assert await _verified_at_startup(app) == "ok"
    assert (await client.get("/readyz")).json()["checks"]["chain"] == "ok"


async def test_start_up_verification_keeps_a_broken_log_unready(
    app, client, db, five_entries, insider
):
    async with db.sessionmaker() as session:
        await insider.tamper(session, "DELETE FROM log_entry WHERE seq = 2")
        await session.commit()
    state = await _verified_at_startup(app)
    assert state.startswith("error: the transaction log does not verify")
    ready = await client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["chain"].startswith("error")
