"""The outbox relay against a real consumer (the audit service's app): at least once, in order,
retried while the consumer is down, applied once."""

import asyncio
import contextlib
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from alpr_audit.main import SPEC as AUDIT
from alpr_common.db import Database, utcnow
from alpr_common.events import Event
from alpr_common.migrations import upgrade
from alpr_common.outbox import OutboxRelay, enqueue_many
from alpr_common.roles import Role
from alpr_gateway.main import SPEC as GATEWAY
from alpr_gateway.models import OUTBOX


@pytest.fixture
def service_spec():
    return AUDIT


@pytest.fixture
async def producer(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'producer.db'}"
    await upgrade(GATEWAY.migrations_dir, url)
    db = Database.from_url(url)
    yield db
    await db.dispose()


class Switch(httpx.AsyncBaseTransport):
    def __init__(self, app):
        self.inner = httpx.ASGITransport(app=app)
        self.up = True
        self.posts = 0

    async def handle_async_request(self, request):
        if not self.up:
            raise httpx.ConnectError("consumer down", request=request)
        self.posts += 1
        return await self.inner.handle_async_request(request)


async def _queue(db, n):
    events = [
        Event(source="gateway", type="gateway.request", data={"request_id": f"r{i}"})
        for i in range(n)
    ]
    async with db.sessionmaker() as session:
        await enqueue_many(session, OUTBOX, destination="audit", events=events)
        await session.commit()
    return events


async def _pending(db):
    async with db.sessionmaker() as session:
        # Delivered events are deleted: what is left is pending.
        rows = await session.execute(select(OUTBOX.outbox.c.seq))
        return len(rows.all())


@pytest.mark.policy("344.4(d)")
async def test_consumer_down_delays_events_never_loses_them(producer, app, tokens):
    switch = Switch(app)
    client = httpx.AsyncClient(transport=switch)

    async def token():
        return tokens.token(Role.SERVICE)

    relay = OutboxRelay(producer, OUTBOX, urls=lambda _: "http://audit", token=token, client=client)
    await _queue(producer, 5)
    switch.up = False
    assert await relay.deliver_once() == 0
    assert await _pending(producer) == 5
    # Backoff: the failed rows wait; make them due now and bring the consumer back.
    async with producer.sessionmaker() as session:
        from alpr_common.db import utcnow

        await session.execute(OUTBOX.outbox.update().values(next_attempt_at=utcnow()))
        await session.commit()
    switch.up = True
    assert await relay.deliver_once() == 5
    assert await _pending(producer) == 0
    await client.aclose()


async def test_redelivery_is_applied_once(app, client, tokens):
    event = Event(source="gateway", type="gateway.request", data={"request_id": "x"})
    body = {"events": [event.model_dump(mode="json")]}
    headers = tokens.headers(Role.SERVICE)
    first = await client.post("/v1/events", json=body, headers=headers)
    second = await client.post("/v1/events", json=body, headers=headers)
    assert first.json()["accepted"] == 1
    assert second.json() == {"accepted": 0, "duplicates": 1, "rejected": 0}


async def test_events_for_a_recording_consumer_wait_to_travel_together(producer, app, tokens):
    # Audit keeps a record: its events may wait (relay_audit_delay_seconds) so that one delivery
    # carries many. They are sent once the oldest has waited long enough, or at once when a
    # whole batch is ready; no event waits for ever and none is lost.
    switch = Switch(app)
    client = httpx.AsyncClient(transport=switch)

    async def token():
        return tokens.token(Role.SERVICE)

    relay = OutboxRelay(
        producer,
        OUTBOX,
        urls=lambda _: "http://audit",
        token=token,
        client=client,
        batch_size=4,
        delays={"audit": 60.0},
    )
    await _queue(producer, 3)
    assert await relay.deliver_once() == 0
    assert switch.posts == 0 and await _pending(producer) == 3
    await _queue(producer, 2)  # a full batch is ready: it goes now
    assert await relay.deliver_once() == 4
    assert switch.posts == 1 and await _pending(producer) == 1
    async with producer.sessionmaker() as session:
        await session.execute(
            OUTBOX.outbox.update().values(created_at=utcnow() - timedelta(seconds=61))
        )
        await session.commit()
    assert await relay.deliver_once() == 1  # the last one has waited long enough
    assert switch.posts == 2 and await _pending(producer) == 0
    await client.aclose()


async def test_under_load_events_committed_during_a_delivery_travel_together(producer, app, tokens):
    # relay_linger_seconds: after a pass, the next waits until the linger has passed since it
    # began, so events committed meanwhile go in one delivery (a consumer pays most of its cost
    # per delivery). The first event after a quiet spell goes at once.
    switch = Switch(app)
    client = httpx.AsyncClient(transport=switch)

    async def token():
        return tokens.token(Role.SERVICE)

    # A long linger, so that the first event's prompt delivery and the second pair's wait are
    # told apart with seconds to spare on a loaded machine (the full suite runs beside e2e suites).
    linger = 6.0
    relay = OutboxRelay(
        producer, OUTBOX, urls=lambda _: "http://audit", token=token, client=client, linger=linger
    )
    producer.on_outbox_commit = relay.notify
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(linger)  # a quiet spell
        started = time.monotonic()
        await _queue(producer, 1)
        await _delivered(producer, within=linger * 0.75)
        assert switch.posts == 1, "the first event after a quiet spell waits for nothing"
        await _queue(producer, 1)
        await _queue(producer, 1)
        await _delivered(producer, within=linger * 3)
        assert switch.posts == 2, "both events committed within the linger travel together"
        assert time.monotonic() - started < linger * 3
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def _delivered(db, *, within):
    deadline = time.monotonic() + within
    while await _pending(db):
        assert time.monotonic() < deadline, "events still pending"
        await asyncio.sleep(0.02)
