"""Two submissions of one client_reference at the same instant (a client's retry racing its
first attempt): one request is kept, and the retry is answered with it, never a 500. Runs on a
database committed for real (two transactions must race), PostgreSQL only: SQLite takes its write
lock at BEGIN, so its submissions never overlap."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import func, select, text
from sqlmodel import col

from alpr_sharing.models import SharingRequest


@pytest.fixture
def db(isolated_db):
    return isolated_db


async def _waiting_on_locks(sharing) -> int:
    async with sharing.db.engine.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
        return int(found.scalar_one())


async def test_simultaneous_repeats_of_a_client_reference_keep_one_request(sharing, db_backend):
    if db_backend != "postgresql":
        pytest.skip("SQLite serialises writing transactions at BEGIN: no two submissions overlap")
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    reference = f"RACE-{uuid.uuid4().hex[:8]}"

    # Hold both submissions at their INSERT, after each has looked the reference up and found
    # nothing, so they meet at the unique constraint as two truly simultaneous retries would.
    async with sharing.db.engine.connect() as gate:
        await gate.begin()
        await gate.execute(text("LOCK TABLE sharing_request IN SHARE ROW EXCLUSIVE MODE"))
        racing = [
            asyncio.create_task(sharing.submit(headers, client_reference=reference))
            for _ in range(2)
        ]
        for _ in range(1200):  # both reach the lock; the bound only stops a hang
            if await _waiting_on_locks(sharing) >= 2 or any(t.done() for t in racing):
                break
            await asyncio.sleep(0.05)
        await gate.rollback()
    first, second = await asyncio.gather(*racing)

    assert sorted([first.status_code, second.status_code]) == [200, 201], (
        first.text,
        second.text,
    )
    assert first.json()["id"] == second.json()["id"]
    async with sharing.db.sessionmaker() as session:
        kept = await session.scalar(
            select(func.count())
            .select_from(SharingRequest)
            .where(col(SharingRequest.client_reference) == reference)
        )
    assert kept == 1
    received = [
        e
        for e in await sharing.events("sharing.request_received")
        if e["data"].get("request_id") == first.json()["id"]
    ]
    assert len(received) == 1
