"""The outbox migration of the histories that predate the squash (audit and sharing; the others
build the outbox as it is today, `alpr_common.migrations.create_outbox_tables`): delivered events
(personal data past the 30-day retention) are deleted, pending ones survive as the JSON text that
is sent; and it reverses. Run on sharing's history; it goes when audit's and sharing's are
squashed too."""

import json
from typing import Any

import pytest
from sqlalchemy import text

from alpr_common.db import create_engine
from alpr_common.migrations import downgrade, upgrade
from alpr_sharing.main import SPEC

BEFORE = "94066a3a9e98"  # sharing's head before the outbox kept pending events only
PENDING = {"specversion": "1.0", "id": "e-pending", "type": "ingest.reads", "data": {"n": 1}}
DELIVERED = {"specversion": "1.0", "id": "e-done", "type": "ingest.reads", "data": {"n": 2}}


async def _run(url: str, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    engine = create_engine(url, pooled=False)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(text(sql), params or {})
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.mark.policy("344.4(d)")
async def test_delivered_events_are_deleted_and_pending_ones_kept(db_backend, database_factory):
    url = await database_factory._create("outbox_migration", db_backend)
    await upgrade(SPEC.migrations_dir, url, BEFORE)
    for event in (PENDING, DELIVERED):
        await _run(
            url,
            "INSERT INTO outbox_event (event_id, destination, envelope, created_at, "
            "next_attempt_at, attempts) VALUES (:id, 'hotlist', :env, "
            "'2026-11-01T00:00:00+00:00', '2026-11-01T00:00:00+00:00', 0)",
            {"id": event["id"], "env": json.dumps(event)},
        )
    await _run(url, "UPDATE outbox_event SET delivered_at = created_at WHERE event_id = 'e-done'")

    await upgrade(SPEC.migrations_dir, url)
    rows = await _run(url, "SELECT event_id, envelope FROM outbox_event")
    assert [(r.event_id, json.loads(r.envelope)) for r in rows] == [("e-pending", PENDING)]
    assert isinstance(rows[0].envelope, str)  # the text that is sent, not a parsed document
    if db_backend == "postgresql":
        storage = await _run(
            url,
            "SELECT attstorage::text AS attstorage FROM pg_attribute "
            "WHERE attrelid = 'outbox_event'::regclass AND attname = 'envelope'",
        )
        assert storage[0].attstorage == "e"  # external: not compressed

    await downgrade(SPEC.migrations_dir, url, BEFORE)
    rows = await _run(url, "SELECT event_id, envelope, delivered_at FROM outbox_event")
    assert len(rows) == 1 and rows[0].event_id == "e-pending" and rows[0].delivered_at is None
    envelope = rows[0].envelope
    assert (json.loads(envelope) if isinstance(envelope, str) else envelope) == PENDING
