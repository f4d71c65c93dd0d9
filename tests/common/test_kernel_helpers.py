"""The kernel's shared helpers: the audit event's one actor shape, the periodic task, and the
read-only session that on SQLite holds no write lock."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from alpr_common.auditing import actor_fields, audit_event
from alpr_common.auth import Principal
from alpr_common.contracts.ingest import CameraUpdatedData
from alpr_common.db import Database
from alpr_common.tasks import periodic, running_periodic

OFFICER = Principal(
    subject="user:7", kind="person", name="Jo Officer", roles=frozenset({"officer", "rtcc"})
)


def test_every_audit_event_names_its_actor_the_same_way():
    assert actor_fields(OFFICER, source="hotlist") == {
        "actor": "user:7",
        "actor_name": "Jo Officer",
        "actor_roles": ["officer", "rtcc"],
    }
    assert actor_fields(None, source="hotlist") == {
        "actor": "service:hotlist",
        "actor_name": None,
        "actor_roles": [],
    }
    assert actor_fields("system", source="access")["actor"] == "system"


@pytest.mark.policy("344.4(d)")
def test_an_audit_event_carries_its_contract_data_and_its_actor():
    event = audit_event(
        source="ingest",
        type="ingest.camera_updated",
        actor=OFFICER,
        data=CameraUpdatedData(camera_id="cam-1", changes={"name": "A\x00B"}, actor="user:7"),
    )
    assert (event.source, event.type, event.subject) == (
        "ingest",
        "ingest.camera_updated",
        "user:7",
    )
    # NUL cannot be stored in PostgreSQL's JSONB: an audit event must not fail its change.
    assert event.data == {
        "camera_id": "cam-1",
        "changes": {"name": "AB"},
        "actor": "user:7",
        "actor_name": "Jo Officer",
        "actor_roles": ["officer", "rtcc"],
    }
    CameraUpdatedData.model_validate(event.data)
    plain = audit_event(source="access", type="access.x", actor="system", data={"n": 1})
    assert plain.subject == "system" and plain.data["actor"] == "system"
    assert audit_event(source="a", type="a.x", actor=None, data={}, subject="user:1").subject == (
        "user:1"
    )


async def test_a_periodic_task_logs_a_failed_run_and_keeps_going(caplog):
    runs: list[int] = []
    stop = asyncio.Event()

    async def run() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("the second run fails")
        if len(runs) == 3:
            stop.set()

    with caplog.at_level(logging.ERROR, logger="alpr.tasks"):
        await asyncio.wait_for(periodic("test-task", 0.0, run, stop=stop), timeout=60)
    assert runs == [0, 1, 2]
    [record] = [r for r in caplog.records if r.name == "alpr.tasks"]
    assert "test-task failed" in record.getMessage() and record.exc_info is not None


async def test_a_periodic_task_stops_with_its_block_and_asks_its_pace_after_each_run():
    started = asyncio.Event()
    paces: list[float] = []

    async def run() -> None:
        started.set()

    def pace() -> float:
        paces.append(3600.0)
        return 3600.0

    async with running_periodic("test-block", pace, run) as task:
        await asyncio.wait_for(started.wait(), timeout=60)
        await asyncio.sleep(0)
    assert task.cancelled() and paces == [3600.0]


async def test_a_read_only_session_on_sqlite_does_not_block_a_writer(tmp_path):
    """A long read (a chain verification, an index build) keeps its snapshot while a writer
    commits: its transaction begins DEFERRED and never takes the write lock. Were it IMMEDIATE,
    the writer would wait out the busy timeout and fail with `database is locked`."""
    db = Database.from_url(f"sqlite:///{tmp_path}/read.db")
    try:
        async with db.sessionmaker() as session:
            await session.execute(text("CREATE TABLE t (x INTEGER)"))
            await session.execute(text("INSERT INTO t VALUES (1)"))
            await session.commit()
        async with db.read_sessionmaker() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 1
            async with db.sessionmaker() as writer:
                await writer.execute(text("INSERT INTO t VALUES (2)"))
                await writer.commit()
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 1
        async with db.read_sessionmaker() as reader:
            assert await reader.scalar(text("SELECT count(*) FROM t")) == 2
    finally:
        await db.dispose()
