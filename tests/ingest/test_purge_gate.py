"""After a restore the purge runs before any read is answered (344.4(d)): ingest's start-up
purges, and until it has, searches, holds and releases answer 503 with Retry-After and /readyz
is not ready. The restore itself (a pg_dump of an older state) is tests/e2e/test_restore_e2e.py."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from alpr_common.errors import problem_type
from alpr_ingest.main import maintenance
from alpr_ingest.models import PlateRead


async def stored(ingest) -> list[str]:
    async with ingest.db.sessionmaker() as session:
        return list((await session.execute(select(PlateRead.plate))).scalars().all())


@pytest.mark.policy("344.4(d)")
async def test_reads_are_not_answered_while_the_start_up_purge_is_pending(ingest):
    await ingest.camera("cam-g")
    rt = ingest.app.state.runtime
    rt.purge_pending = True
    search = await ingest.search(plate="ABC1234")
    assert search.status_code == 503, search.text
    assert search.json()["type"] == problem_type("PurgePending")
    assert search.json()["clause"] == "344.4(d)"
    assert int(search.headers["retry-after"]) >= 1
    holds = await ingest.client.get("/v1/holds", headers=ingest.tokens.headers("supervisor"))
    assert holds.status_code == 503
    ready = await ingest.client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["purge"] != "ok"
    # Cameras keep posting meanwhile: new reads are inside the window.
    posted = await ingest.post([ingest.read("cam-g", "GATE1")])
    assert posted.status_code == 200, posted.text

    rt.purge_pending = False
    assert (await ingest.search(plate="GATE1")).status_code == 200
    assert (await ingest.client.get("/readyz")).json()["checks"]["purge"] == "ok"


@pytest.mark.policy("344.4(d)")
async def test_start_up_purges_reads_past_the_window_before_answering(ingest):
    await ingest.camera("cam-g")
    posted = await ingest.post([ingest.read("cam-g", p) for p in ("OLD1", "OLD2")])
    assert posted.status_code == 200, posted.text
    # The database now holds reads 40 days old, as a restored older backup would.
    ingest.clock.advance(days=40)
    rt = ingest.app.state.runtime
    async with maintenance(ingest.app):
        assert rt.purge_pending
        for _ in range(600):
            if not rt.purge_pending:
                break
            await asyncio.sleep(0.05)
        assert not rt.purge_pending, "the start-up purge did not finish"
        assert await stored(ingest) == []
        (report,) = await ingest.events("ingest.purge", "audit")
        assert report["data"]["reads_purged"] in (2, None)  # None: partitions dropped (PG)
        assert (await ingest.search(plate="OLD1")).status_code == 200
