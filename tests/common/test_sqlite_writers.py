"""SQLite writers (issue 21): queued in process on one connection, reads apart, the one-call
INSERT of the gateway's transaction log, and a wait that ends as 503, never 500."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import func, select

from alpr_common.app import build_app, use_database
from alpr_common.db import Database, SessionDep
from alpr_common.events import Event
from alpr_common.migrations import upgrade
from alpr_common.outbox import enqueue, outbox_rows
from alpr_gateway.main import SPEC as GATEWAY
from alpr_gateway.models import OUTBOX
from alpr_gateway.settings import GatewaySettings


async def _gateway_db(tmp_path: Path, **kw: float) -> tuple[Database, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    await upgrade(GATEWAY.migrations_dir, url)
    return Database.from_url(url, **kw), str(tmp_path / "gateway.db")


def _events(n: int) -> list[tuple[str, Event]]:
    return [("audit", Event(source="test", type="test.logged", data={"i": i})) for i in range(n)]


async def test_insert_now_stores_what_a_session_would(tmp_path):
    db, _ = await _gateway_db(tmp_path)
    try:
        rows = outbox_rows(_events(3))
        await db.insert_now(OUTBOX.outbox, rows)
        async with db.read_sessionmaker() as session:
            got = (await session.execute(select(OUTBOX.outbox).order_by(OUTBOX.outbox.c.seq))).all()
        assert [r.event_id for r in got] == [r["event_id"] for r in rows]
        assert [r.envelope for r in got] == [r["envelope"] for r in rows]
        # Times come back as the aware UTC datetimes that went in (the column's own storage).
        assert [r.created_at for r in got] == [r["created_at"] for r in rows]
    finally:
        await db.dispose()


async def test_concurrent_writers_queue_instead_of_failing_on_the_lock(tmp_path):
    db, _ = await _gateway_db(tmp_path)
    try:

        async def by_session(i: int) -> None:
            async with db.sessionmaker() as session:
                await enqueue(session, OUTBOX, destination="audit", event=_events(1)[0][1])
                await asyncio.sleep(0.01)  # holds the write lock across an await
                await session.commit()

        async def by_insert_now(i: int) -> None:
            await db.insert_now(OUTBOX.outbox, outbox_rows(_events(2)))

        await asyncio.gather(
            *(by_session(i) for i in range(40)), *(by_insert_now(i) for i in range(40))
        )
        async with db.read_sessionmaker() as session:
            count = (
                await session.execute(select(func.count()).select_from(OUTBOX.outbox))
            ).scalar()
        assert count == 40 + 80
    finally:
        await db.dispose()


async def test_reads_do_not_wait_for_the_writers_queue(tmp_path):
    db, _ = await _gateway_db(tmp_path)
    try:
        release = asyncio.Event()

        async def long_writer() -> None:
            async with db.sessionmaker() as session:
                await enqueue(session, OUTBOX, destination="audit", event=_events(1)[0][1])
                await release.wait()
                await session.commit()

        writer = asyncio.create_task(long_writer())
        await asyncio.sleep(0.2)
        async with db.read_sessionmaker() as session:
            # The writer holds the one write connection; a read still answers (its snapshot).
            assert (
                await session.execute(select(func.count()).select_from(OUTBOX.outbox))
            ).scalar() == 0
        release.set()
        await writer
    finally:
        await db.dispose()


router = APIRouter()


@router.post("/v1/things")
async def things(session: SessionDep) -> dict[str, str]:
    await enqueue(session, OUTBOX, destination="hotlist", event=_events(1)[0][1])
    return {"ok": "stored"}


@pytest.mark.parametrize("holder", ["this process", "another process"])
async def test_a_writer_that_waits_too_long_is_answered_503_with_retry_after(tmp_path, holder):
    db, path = await _gateway_db(tmp_path, write_wait_seconds=0.3)
    settings = GatewaySettings(
        environment="test", run_relay=False, database_url=f"sqlite:///{path}"
    )
    app = build_app(settings, title="t", routers=[router], outbox=OUTBOX)
    await app.state.db.dispose()
    use_database(app, db)
    other = sqlite3.connect(path, isolation_level=None)
    release = asyncio.Event()

    async def hold_in_process() -> None:
        async with db.sessionmaker() as session:
            await enqueue(session, OUTBOX, destination="audit", event=_events(1)[0][1])
            await release.wait()
            await session.commit()

    holding = None
    try:
        if holder == "this process":
            holding = asyncio.create_task(hold_in_process())
            await asyncio.sleep(0.1)
        else:
            other.execute("BEGIN IMMEDIATE")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            r = await client.post("/v1/things")
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "1"
            release.set()
            if holding is not None:
                await holding
            else:
                other.execute("COMMIT")
            r = await client.post("/v1/things")
            assert r.status_code == 200, r.text
    finally:
        release.set()
        other.close()
        await db.dispose()
