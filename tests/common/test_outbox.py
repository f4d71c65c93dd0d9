"""The outbox relay against a real consumer (the audit service's app): at least once, in order,
retried while the consumer is down, applied once; live destinations pipelined, the others in
order; other processes' relays woken on PostgreSQL."""

import asyncio
import contextlib
import json
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, func, select, text

from alpr_audit.main import SPEC as AUDIT
from alpr_audit.models import OUTBOX as AUDIT_OUTBOX
from alpr_common.db import (
    Database,
    create_engine,
    driver_connection,
    request_transaction,
    utcnow,
)
from alpr_common.events import Event
from alpr_common.migrations import upgrade
from alpr_common.outbox import claim, consume, enqueue_many
from alpr_common.relay import CLAIM_PLAN, CLAIM_SQL, OutboxRelay, _Locked
from alpr_common.roles import Role
from alpr_common.testing.plugin import require_postgresql
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
        self.refusing = False
        self.posts = 0

    async def handle_async_request(self, request):
        if not self.up:
            raise httpx.ConnectError("consumer down", request=request)
        if self.refusing:
            return httpx.Response(400, json={"detail": "refused"})
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
async def test_a_claim_takes_each_new_id_once_and_returns_only_those(db):
    a, b = (Event(source="gateway", type="gateway.request", data={}) for _ in range(2))
    async with db.sessionmaker() as session:
        assert await claim(session, AUDIT_OUTBOX, [a]) == {a.id}
        # One claimed before, one twice in the same delivery (PostgreSQL: one statement).
        assert await claim(session, AUDIT_OUTBOX, [a, b, b]) == {b.id}
        assert await claim(session, AUDIT_OUTBOX, [a, b]) == set()
        table = AUDIT_OUTBOX.processed
        count = (await session.execute(select(func.count()).select_from(table))).scalar()
        assert count == 2


@pytest.mark.policy("344.4(d)")
async def test_a_delivery_that_fails_before_its_commit_leaves_no_claim(migrated):
    # A consumer that fails (or dies) while applying a delivery keeps nothing of it, its claim of
    # the event ids included: the relay's retry is applied, not taken for a duplicate. On
    # PostgreSQL the claim once ran on the driver's connection before the transaction's BEGIN,
    # committed by itself: a hotlist killed mid-delivery lost that read's alert.
    db = Database.from_url(migrated.url)
    event = Event(source="gateway", type="gateway.request", data={"request_id": "crash"})
    applied = []

    async def dies(session, ev):
        raise RuntimeError("the consumer fails before its commit")

    async def applies(session, ev):
        applied.append(ev.id)

    try:
        with pytest.raises(RuntimeError):
            async with request_transaction(db) as session:  # as `POST /v1/events` does
                await consume(session, AUDIT_OUTBOX, [event], dies)
        async with request_transaction(db) as session:
            result = await consume(session, AUDIT_OUTBOX, [event], applies)
        assert (result.accepted, result.duplicates) == (1, 0)
        assert applied == [event.id]
    finally:
        await db.dispose()


async def test_statements_on_the_driver_connection_are_in_the_session_transaction(migrated):
    # What `driver_connection` runs is rolled back with the session's transaction, even as its
    # first statement; one on `Database.single_statement` stands by itself.
    db = Database.from_url(migrated.url)
    table = AUDIT_OUTBOX.processed
    ids = [f"driver-{time.monotonic_ns()}-{n}" for n in range(2)]
    sql = f"INSERT INTO {table.name} (event_id, source, type, processed_at, outcome) "
    try:
        async with db.sessionmaker() as session:
            raw = await driver_connection(session)
            if db.dialect == "postgresql":
                await raw.execute(sql + "VALUES ($1, 's', 't', now(), 'accepted')", ids[0])
            else:
                await session.execute(
                    text(sql + "VALUES (:id, 's', 't', '2026-01-01', 'accepted')"), {"id": ids[0]}
                )
            await session.rollback()
        if db.dialect == "postgresql":
            async with db.single_statement() as raw:
                await raw.execute(sql + "VALUES ($1, 's', 't', now(), 'accepted')", ids[1])
        async with db.sessionmaker() as session:
            kept = select(table.c.event_id).where(table.c.event_id.in_(ids))
            stored = set((await session.execute(kept)).scalars())
        assert stored == ({ids[1]} if db.dialect == "postgresql" else set())
    finally:
        await db.dispose()


def _switched_relay(producer, app, tokens, **kwargs):
    """A relay from `producer` to audit's app through a Switch that the test turns off and on;
    `kwargs` for the relay (`OutboxRelay`)."""
    switch = Switch(app)
    client = httpx.AsyncClient(transport=switch)

    async def token():
        return tokens.token(Role.SERVICE)

    relay = OutboxRelay(
        producer, OUTBOX, urls=lambda _: "http://audit", token=token, client=client, **kwargs
    )
    return switch, client, relay


@pytest.mark.policy("344.4(d)")
async def test_consumer_down_delays_events_never_loses_them(producer, app, tokens):
    switch, client, relay = _switched_relay(producer, app, tokens)
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


async def _due(db):
    async with db.sessionmaker() as session:
        query = select(func.count()).where(OUTBOX.outbox.c.next_attempt_at <= utcnow())
        return (await session.execute(query)).scalar_one()


@pytest.mark.policy("344.4(d)")
async def test_retries_go_at_once_when_the_consumer_answers_again(producer, app, tokens):
    # Events whose delivery failed while the consumer was unreachable wait out their backoff
    # (up to a minute) only while it stays away: the first delivery it takes again sends them.
    switch, client, relay = _switched_relay(producer, app, tokens)
    await _queue(producer, 5)
    switch.up = False
    assert await relay.deliver_once() == 0
    assert (await _pending(producer), await _due(producer)) == (5, 0)
    switch.up = True
    await _queue(producer, 1)  # a new event, due at once: delivered, and the five follow
    assert await relay.deliver_once() == 1
    assert (await _pending(producer), await _due(producer)) == (5, 5)
    assert await relay.deliver_once() == 5
    assert await _pending(producer) == 0

    # A delivery the consumer refuses is no outage: its events keep their backoff.
    switch.refusing = True
    await _queue(producer, 2)
    assert await relay.deliver_once() == 0
    switch.refusing = False
    await _queue(producer, 1)
    assert await relay.deliver_once() == 1
    assert (await _pending(producer), await _due(producer)) == (2, 0)
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
    switch, client, relay = _switched_relay(
        producer, app, tokens, batch_size=4, delays={"audit": 60.0}
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


async def test_a_batch_waiting_for_a_recording_consumer_goes_without_its_delay(
    producer, app, tokens
):
    # Under load a batch's worth of audit's events has all the company it waits for: it goes
    # as soon as it is committed, not when the delay (or the poll) comes round, which sent a
    # second's events in one burst of back-to-back deliveries while camera reads waited.
    switch, client, relay = _switched_relay(
        producer,
        app,
        tokens,
        batch_size=4,
        interval=600.0,  # no poll comes round during the test
        delays={"audit": 600.0},
    )
    producer.on_outbox_commit = relay.notify
    task = asyncio.create_task(relay.run())
    try:
        await _queue(producer, 3)
        await asyncio.sleep(1.0)
        assert switch.posts == 0, "three events wait for company"
        await _queue(producer, 1)
        await _delivered(producer, within=30.0)
        assert switch.posts == 1, "the batch went at once, in one delivery"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()


async def test_under_load_events_committed_during_a_delivery_travel_together(producer, app, tokens):
    # relay_linger_seconds: after a pass, the next waits until the linger has passed since it
    # began, so events committed meanwhile go in one delivery (a consumer pays most of its cost
    # per delivery). The first event after a quiet spell goes at once.
    # A long linger, so that the first event's prompt delivery and the second pair's wait are
    # told apart with seconds to spare on a loaded machine (the full suite runs beside e2e suites).
    linger = 6.0
    switch, client, relay = _switched_relay(producer, app, tokens, linger=linger)
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


class Gated(httpx.AsyncBaseTransport):
    """Consumers that accept every delivery, each behind a gate (the URL's host names it): a
    closed gate holds its deliveries until opened. Counts deliveries under way at once, and
    records the events in the order they arrived. (Not the audit app: the tests' database is
    one connection, which cannot apply several deliveries at once.)"""

    def __init__(self):
        self.gates: dict[str, asyncio.Event] = {}
        self.in_flight: dict[str, int] = {}
        self.most: dict[str, int] = {}
        self.order: dict[str, list[str]] = {}
        self.deliveries: dict[str, int] = {}

    def gate(self, host):
        return self.gates.setdefault(host, asyncio.Event())

    async def handle_async_request(self, request):
        host = request.url.host
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.most[host] = max(self.most.get(host, 0), self.in_flight[host])
        try:
            await self.gate(host).wait()
            body = await request.aread()
            ids = [e["data"]["request_id"] for e in json.loads(body)["events"]]
            self.order.setdefault(host, []).extend(ids)
            self.deliveries[host] = self.deliveries.get(host, 0) + 1
            result = {"accepted": len(ids), "duplicates": 0, "rejected": 0}
            return httpx.Response(200, json=result)
        finally:
            self.in_flight[host] -= 1


async def _queue_to(db, destination, names):
    events = [
        Event(source="gateway", type="gateway.request", data={"request_id": n}) for n in names
    ]
    async with db.sessionmaker() as session:
        await enqueue_many(session, OUTBOX, destination=destination, events=events)
        await session.commit()


def _gated_relay(db, tokens, **kwargs):
    """A relay of `db`'s outbox to consumers behind gates (`Gated`), and the client it uses."""
    gated = Gated()
    client = httpx.AsyncClient(transport=gated)

    async def token():
        return tokens.token(Role.SERVICE)

    relay = OutboxRelay(
        db, OUTBOX, urls=lambda dest: f"http://{dest}", token=token, client=client, **kwargs
    )
    return gated, client, relay


@contextlib.asynccontextmanager
async def _running(relay):
    relay.db.on_outbox_commit = relay.notify
    task = asyncio.create_task(relay.run())
    try:
        yield relay
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _until(condition, within=20.0):
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_live_deliveries_pipeline_and_never_wait_behind_another_destination(producer, tokens):
    # Hot-list matching is a live path: each commit's events go at once, with several
    # deliveries under way, while a destination that is slow (audit held at its gate) or
    # lingers holds up nothing but its own events.
    gated, client, relay = _gated_relay(producer, tokens, linger=30.0, in_flight={"hotlist": 3})
    async with _running(relay):
        await _queue_to(producer, "audit", ["a0"])
        await _until(lambda: _true(gated.in_flight.get("audit") == 1))
        for n in range(3):  # three commits while the first deliveries are still under way
            await _queue_to(producer, "hotlist", [f"h{n}"])
            # Each goes at once, without waiting for the deliveries before it to be answered.
            await _until(lambda n=n: _true(gated.in_flight.get("hotlist") == n + 1))
        await _queue_to(producer, "hotlist", ["h3"])  # a fourth waits for a free delivery
        gated.gate("hotlist").set()
        await _until(lambda: _true(len(gated.order.get("hotlist", [])) == 4))
        assert sorted(gated.order["hotlist"]) == ["h0", "h1", "h2", "h3"]  # each once
        assert gated.most["hotlist"] == 3
        assert "audit" not in gated.order, "audit is still held; hotlist did not wait for it"
        gated.gate("audit").set()
        await _until(lambda: _no_pending(producer))
    assert gated.order["audit"] == ["a0"]
    await client.aclose()


async def test_under_load_a_live_destination_takes_the_commits_of_a_moment_together(
    producer, tokens
):
    # relay_live_linger_seconds: a live pass begins at least the linger after the previous one
    # that sent something began, so the commits of those moments go in one delivery (at 1,000
    # single-read posts/s, one delivery per commit cost more than the reads in them). The first
    # commit after a quiet spell goes at once.
    # Long, so that "at once" and "after the linger" are told apart on a loaded machine.
    linger = 3.0
    gated, client, relay = _gated_relay(
        producer, tokens, in_flight={"hotlist": 4}, live_linger=linger
    )
    gated.gate("hotlist").set()
    async with _running(relay):
        await _queue_to(producer, "hotlist", ["h0"])
        await _until(lambda: _no_pending(producer), within=linger * 0.75)
        assert gated.deliveries["hotlist"] == 1, "the first commit waits for nothing"
        await _queue_to(producer, "hotlist", ["h1"])
        await _queue_to(producer, "hotlist", ["h2"])
        await _until(lambda: _no_pending(producer), within=linger * 3)
        assert gated.deliveries["hotlist"] == 2, "both commits within the linger travel together"
        assert gated.order["hotlist"][1:] == ["h1", "h2"]
        await asyncio.sleep(linger)  # a quiet spell
        await _queue_to(producer, "hotlist", ["h3"])
        await _until(lambda: _no_pending(producer), within=linger * 0.75)
        assert gated.deliveries["hotlist"] == 3, "after a quiet spell, at once again"
    await client.aclose()


async def test_a_destination_that_is_not_live_gets_its_events_in_order(producer, tokens):
    gated, client, relay = _gated_relay(producer, tokens, batch_size=3, in_flight={"hotlist": 4})
    names = [f"r{n}" for n in range(10)]
    async with _running(relay):
        await _queue_to(producer, "audit", names[:1])
        await _until(lambda: _true(gated.in_flight.get("audit") == 1))
        for name in names[1:]:
            await _queue_to(producer, "audit", [name])
        gated.gate("audit").set()
        await _until(lambda: _no_pending(producer))
    assert gated.most["audit"] == 1
    assert gated.order["audit"] == names
    await client.aclose()


async def _true(value):
    return value


async def _no_pending(db):
    return await _pending(db) == 0


@contextlib.asynccontextmanager
async def _two_processes(database_factory, tokens, *relays):
    """Two processes' relays on one PostgreSQL database (here two relays, each with its own
    engine and LISTEN connection), running and listening; `relays` are each one's keyword
    arguments. Yields (database, gate, relay) for each."""
    require_postgresql()
    migrated = await database_factory.get(GATEWAY, "postgresql")
    dbs = [Database.from_url(migrated.url) for _ in relays]
    gates = [Gated() for _ in relays]
    clients = [httpx.AsyncClient(transport=gate) for gate in gates]

    async def token():
        return tokens.token(Role.SERVICE)

    made = [
        OutboxRelay(
            db,
            OUTBOX,
            urls=lambda dest: f"http://{dest}",
            token=token,
            client=client,
            in_flight={"hotlist": 2},
            **kwargs,
        )
        for db, client, kwargs in zip(dbs, clients, relays, strict=True)
    ]
    try:
        async with _running(made[0]), _running(made[1]):
            await _until(lambda: _true(made[0]._listener and made[1]._listener))
            yield list(zip(dbs, gates, made, strict=True))
    finally:
        async with dbs[0].sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox))
            await session.commit()
        for client in clients:
            await client.aclose()
        for db in dbs:
            await db.dispose()


async def test_relays_of_other_processes_take_over_a_busy_destination_on_postgresql(
    database_factory, tokens
):
    # When every delivery of the first to a live destination is under way, its next commit
    # NOTIFYs the others, and the second relay sends those events at once (SKIP LOCKED: never
    # the rows the first holds), long before its poll.
    tag = f"pg-{time.monotonic_ns()}"
    slow = {"interval": 60.0}  # the poll cannot be what delivers
    async with _two_processes(database_factory, tokens, slow, slow) as processes:
        (first_db, first_gate, _), (_, second_gate, _) = processes
        second_gate.gate("hotlist").set()
        await _queue_to(first_db, "hotlist", [f"{tag}-0"])
        await _until(lambda: _true(first_gate.in_flight.get("hotlist") == 1))
        await _queue_to(first_db, "hotlist", [f"{tag}-1"])
        await _until(lambda: _true(first_gate.in_flight.get("hotlist") == 2))
        await _queue_to(first_db, "hotlist", [f"{tag}-2"])
        await _until(lambda: _true(second_gate.order.get("hotlist") == [f"{tag}-2"]), 10)
        first_gate.gate("hotlist").set()
        await _until(lambda: _true(len(first_gate.order.get("hotlist", [])) == 2))
        assert sorted(first_gate.order["hotlist"]) == [f"{tag}-0", f"{tag}-1"]
        await _until(lambda: _no_pending(first_db))


async def test_a_worker_that_does_not_deliver_hands_its_commits_to_one_that_does(
    database_factory, tokens
):
    # `serve --workers 2` with one delivering worker (`relay_workers`): the other worker's
    # commits for a live destination are NOTIFYed to the first, which sends them at once, long
    # before its poll; the worker itself sends nothing. Its audit events wait for the poll.
    tag = f"pg-{time.monotonic_ns()}"
    delivering = {"interval": 60.0}  # the poll cannot be what delivers
    handing = {"interval": 0.05, "deliver": False}  # would deliver at once if it delivered
    async with _two_processes(database_factory, tokens, delivering, handing) as processes:
        (_, delivering_gate, _), (handing_db, handing_gate, handing_relay) = processes
        for gate in (delivering_gate, handing_gate):
            gate.gate("hotlist").set()
            gate.gate("audit").set()
        for n in range(3):
            await _queue_to(handing_db, "hotlist", [f"{tag}-{n}"])
            await _until(
                lambda n=n: _true(len(delivering_gate.order.get("hotlist", [])) == n + 1), 10
            )
        await _queue_to(handing_db, "audit", [f"{tag}-a"])
        await asyncio.sleep(0.5)
        assert await _pending(handing_db) == 1  # audit's event waits for the poll
        assert delivering_gate.order["hotlist"] == [f"{tag}-{n}" for n in range(3)]
        assert handing_gate.order == {}
        assert handing_relay.lanes == {}


async def test_a_claim_steps_over_delivered_events_on_postgresql(database_factory, tokens):
    # Delivered events are deleted, and their rows stay in the table until autovacuum comes by
    # (once a minute at most). A claim must walk the (destination, seq) index in order and stop
    # at its batch, marking the deleted rows' entries dead as it passes them (on an idle
    # database the second claim then reads a handful of pages). PostgreSQL chose a bitmap scan
    # instead, which marks nothing and visited every deleted row's page on every claim (here
    # 880 pages for 3 events; 5-15 ms a claim under single-read load).
    require_postgresql()
    migrated = await database_factory.get(GATEWAY, "postgresql")
    db = Database.from_url(migrated.url)
    client = httpx.AsyncClient()

    async def token():
        return tokens.token(Role.SERVICE)

    relay = OutboxRelay(db, OUTBOX, urls=lambda dest: f"http://{dest}", token=token, client=client)
    tag = f"claim-{time.monotonic_ns()}"
    try:
        async with db.sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox))
            await session.commit()
        for chunk in range(4):
            await _queue_to(db, "hotlist", [f"{tag}-{chunk}-{i}" for i in range(5000)])
        async with db.sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox))
            await session.commit()
        await _queue_to(db, "hotlist", [f"{tag}-live-{i}" for i in range(3)])
        await _queue_to(db, "audit", [f"{tag}-audit-{i}" for i in range(3)])
        lane = relay.lane("hotlist")
        explain = "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + CLAIM_SQL.format(
            table="outbox_event"
        )
        async with db.sessionmaker() as session:
            for setting in CLAIM_PLAN:  # as the relay's claim does
                await session.execute(text(setting))
            raw = await driver_connection(session)
            plan = await raw.fetchval(explain, *relay.claim_args(lane))
            await session.rollback()
        top = plan[0]["Plan"]
        assert top["Actual Rows"] == 3

        def nodes(node):
            yield node
            for child in node.get("Plans", []):
                yield from nodes(child)

        shape = [(n["Node Type"], n.get("Index Name")) for n in nodes(top)]
        assert ("Index Scan", "ix_outbox_event_destination_seq") in shape, shape
        assert not [t for t, _ in shape if t.startswith("Bitmap") or t == "Sort"], shape
    finally:
        async with db.sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox))
            await session.commit()
        await client.aclose()
        await db.dispose()


@pytest.mark.policy("344.4(d)")
async def test_on_postgresql_a_failed_delivery_keeps_its_events_and_no_lock(
    database_factory, app, tokens
):
    # The claim's transaction runs on the driver's connection (`_Locked`): a delivery that
    # fails gives its rows' locks back and schedules their retry; one that succeeds deletes
    # them and commits; neither leaves a connection inside a transaction.
    require_postgresql()
    migrated = await database_factory.get(GATEWAY, "postgresql")
    db = Database.from_url(migrated.url)
    switch = Switch(app)
    client = httpx.AsyncClient(transport=switch)

    async def token():
        return tokens.token(Role.SERVICE)

    async def open_transactions():
        async with db.sessionmaker() as session:
            query = text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"
            )
            return (await session.execute(query)).scalar_one()

    relay = OutboxRelay(db, OUTBOX, urls=lambda _: "http://audit", token=token, client=client)
    try:
        async with db.sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox))
            await session.commit()
        await _queue(db, 5)
        switch.up = False
        assert await relay.deliver_once() == 0
        assert await _pending(db) == 5
        assert await open_transactions() == 0
        async with db.sessionmaker() as session:
            attempts = (await session.execute(select(OUTBOX.outbox.c.attempts))).scalars().all()
            await session.execute(OUTBOX.outbox.update().values(next_attempt_at=utcnow()))
            await session.commit()
        assert attempts == [1] * 5
        switch.up = True
        assert await relay.deliver_once() == 5
        assert await _pending(db) == 0
        assert await open_transactions() == 0
    finally:
        await client.aclose()
        await db.dispose()


async def test_a_claim_closed_twice_leaves_the_next_user_of_its_connection_alone(
    database_factory,
):
    # A failed delivery closes its claim's transaction, and the delivery's end closes it again.
    # By then the connection is back in the pool and may be in another task's transaction: the
    # second close must not touch it.
    require_postgresql()
    migrated = await database_factory.get(GATEWAY, "postgresql")
    db = Database(create_engine(migrated.url, pool_size=1))  # the next checkout is the same one
    try:
        locked = _Locked(db)
        await locked.begin()
        await locked.close()
        async with db.sessionmaker() as session:
            await session.execute(text("SELECT 1"))
            raw = await driver_connection(session)
            assert raw.is_in_transaction()
            await locked.close()
            assert raw.is_in_transaction()
            await session.rollback()
    finally:
        await db.dispose()
