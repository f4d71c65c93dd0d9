"""Concurrent intake keeps one unbroken chain (344.4(d)): appends take turns on the chain head
(SELECT ... FOR UPDATE on PostgreSQL, the single writer on SQLite)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from alpr_audit import models
from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.intake import record_events
from alpr_audit.main import handle_event
from alpr_audit.settings import AuditSettings
from alpr_audit.verification import verify_log
from alpr_common.db import Database
from alpr_common.events import Event
from alpr_common.outbox import consume

pytestmark = pytest.mark.policy("344.4(d)")


@pytest.fixture
async def committed_db(migrated):
    """Sessions that really commit (not the per-test rollback), cleaned up afterwards."""
    db = Database(migrated.engine)
    yield db
    async with db.sessionmaker() as session:
        if session.bind.dialect.name == "postgresql":
            await session.execute(text("ALTER TABLE log_entry DISABLE TRIGGER USER"))
            await session.execute(text("DELETE FROM log_entry"))
            await session.execute(text("ALTER TABLE log_entry ENABLE TRIGGER USER"))
        else:
            await session.execute(text("DROP TRIGGER log_entry_no_delete"))
            await session.execute(text("DELETE FROM log_entry"))
            await session.execute(
                text(
                    "CREATE TRIGGER log_entry_no_delete BEFORE DELETE ON log_entry "
                    "BEGIN SELECT RAISE(ABORT, 'log_entry is append-only (GO 344.4(d))'); END"
                )
            )
        await session.execute(text("DELETE FROM processed_event"))
        await session.execute(text("UPDATE chain_head SET seq = 0, hash = :h"), {"h": "0" * 64})
        await session.commit()


async def test_concurrent_intake_transactions_keep_the_chain_valid(committed_db, ev, tmp_path):
    batches = [
        [Event.model_validate(e) for minute in range(10) for e in ev.gateway_pair(minute=minute)]
        for _ in range(2)
    ]
    started = asyncio.Event()

    async def deliver_in_bulk(batch: list[Event]) -> None:
        """The audit intake route's path."""
        async with committed_db.sessionmaker() as session:
            await record_events(session, events=batch[:1])
            # Keep the head locked while the other transaction tries to append.
            started.set()
            await asyncio.sleep(0.3)
            await record_events(session, events=batch[1:])
            await session.commit()

    async def deliver_one_by_one(batch: list[Event]) -> None:
        """The kernel's consume with the per-event handler."""
        await started.wait()
        async with committed_db.sessionmaker() as session:
            await consume(session, models.OUTBOX, batch, handle_event)
            await session.commit()

    await asyncio.wait_for(
        asyncio.gather(deliver_in_bulk(batches[0]), deliver_one_by_one(batches[1])),
        timeout=60,
    )

    store = CheckpointStore(
        AuditSettings(
            environment="test",
            checkpoint_dir=tmp_path / "cp",
            checkpoint_key_file=tmp_path / "k.pem",
        )
    )
    async with committed_db.sessionmaker() as session:
        result = await verify_log(session, store=store, checkpoint_count=5, page_size=7)
        seqs = (await session.execute(text("SELECT seq FROM log_entry ORDER BY seq"))).scalars()
        assert list(seqs) == list(range(1, 41))
    assert result.ok, result
    assert result.entries_checked == 40
