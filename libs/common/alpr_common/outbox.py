"""Transactional outbox: events are written in the same transaction as the change they describe,
and the relay (`alpr_common.relay`) delivers them at least once to the consumer's
`POST /v1/events`, where `consume` applies them.

Consumers apply each event id once (`processed_event`), so redelivery is harmless, and a consumer
that is down only delays events: they wait in the outbox, retried with capped backoff.

The outbox holds pending events only: a delivered event is deleted in the transaction that
records its delivery. Events carry plate reads, search criteria and names, which must not
outlive the 30-day retention (344.4(d)) in a queue nobody audits; the consumer keeps what it
must keep. The envelope is stored as the JSON text that is sent (PostgreSQL `text` with
`STORAGE EXTERNAL`: no jsonb parse, no compression of a value that lives for milliseconds).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import Metric
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import (
    OUTBOX_PENDING,
    UTCDateTime,
    driver_connection,
    is_postgresql,
    json_serializer,
    pg_insert_rows,
    utcnow,
)
from alpr_common.errors import AppError
from alpr_common.events import Event, EventBatchResult
from alpr_common.metrics import gauge

log = logging.getLogger("alpr.outbox")


@dataclass(frozen=True)
class OutboxTables:
    outbox: Table
    processed: Table


def outbox_tables(metadata: MetaData) -> OutboxTables:
    """Add the outbox and processed-event tables to a service's own metadata."""
    outbox = Table(
        "outbox_event",
        metadata,
        Column(
            "seq",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("event_id", String(64), nullable=False),
        Column("destination", String(32), nullable=False),
        # The JSON text sent to the consumer (see the module docstring).
        Column("envelope", Text, nullable=False),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("next_attempt_at", UTCDateTime(), nullable=False),
        Column("attempts", Integer, nullable=False, server_default="0"),
        Column("last_error", Text, nullable=True),
    )
    # The relay's claim: a destination's oldest events, in order (`relay.OutboxRelay._claim`; see
    # `alpr_common.migrations.create_outbox_claim_index` for why there is no other).
    Index("ix_outbox_event_destination_seq", outbox.c.destination, outbox.c.seq)
    # The same event may go to several consumers, each once.
    Index(
        "uq_outbox_event_event_id_destination", outbox.c.event_id, outbox.c.destination, unique=True
    )
    processed = Table(
        "processed_event",
        metadata,
        Column("event_id", String(64), primary_key=True),
        Column("source", String(64), nullable=False),
        Column("type", String(100), nullable=False),
        Column("processed_at", UTCDateTime(), nullable=False),
        Column("outcome", String(16), nullable=False),
    )
    return OutboxTables(outbox, processed)


def insert_ignore(session: AsyncSession, table: Table) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's dialect."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return stmt


def envelope(event: Event) -> dict[str, Any]:
    """The event as stored and relayed. Built by hand, not by `model_dump`: the JSON encoder
    writes it directly (a read batch's data is large, and walking it twice costs more than
    storing it). Equal, once encoded, to `event.model_dump(mode="json")`."""
    return {
        "specversion": event.specversion,
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "time": event.time,
        "subject": event.subject,
        "data": event.data,
    }


async def enqueue(
    session: AsyncSession, tables: OutboxTables, *, destination: str, event: Event
) -> None:
    """Queue an event in the caller's transaction; it is sent only if that transaction commits."""
    await enqueue_many(session, tables, destination=destination, events=[event])


async def enqueue_many(
    session: AsyncSession, tables: OutboxTables, *, destination: str, events: Sequence[Event]
) -> None:
    """Queue events for one destination in the caller's transaction."""
    await enqueue_routed(session, tables, [(destination, e) for e in events])


async def enqueue_routed(
    session: AsyncSession, tables: OutboxTables, routed: Sequence[tuple[str, Event]]
) -> None:
    """Queue events, each for its own destination, in the caller's transaction and in one
    statement (a request that reports to two services pays one round trip, not two)."""
    if not routed:
        return
    # Tells the database to wake the relay once this transaction commits (on_outbox_commit).
    session.info.setdefault(OUTBOX_PENDING, Counter()).update(d for d, _ in routed)
    await session.execute(tables.outbox.insert(), outbox_rows(routed))


def outbox_rows(routed: Sequence[tuple[str, Event]]) -> list[dict[str, Any]]:
    """The outbox rows of events, each for its destination (for writers that insert them
    themselves: `enqueue_routed`, `Database.insert_now`)."""
    now = utcnow()
    return [
        {
            "event_id": e.id,
            "destination": destination,
            "envelope": json_serializer(envelope(e)),
            "created_at": now,
            "next_attempt_at": now,
            "attempts": 0,
        }
        for destination, e in routed
    ]


EventHandler = Callable[[AsyncSession, Event], Awaitable[None]]

# Event ids claimed per statement on SQLite (an executemany with RETURNING, which SQLAlchemy
# batches); PostgreSQL takes a delivery's ids in one statement whatever their number.
_CLAIM_CHUNK = 1000


async def claim(session: AsyncSession, tables: OutboxTables, events: Sequence[Event]) -> set[str]:
    """Mark events processed, in bulk; return the ids not seen before. A concurrent transaction
    claiming the same id waits here until the first one ends."""
    now = utcnow()
    rows = [
        {
            "event_id": e.id,
            "source": e.source,
            "type": e.type,
            "processed_at": now,
            "outcome": "accepted",
        }
        for e in events
    ]
    if is_postgresql(session):
        raw = await driver_connection(session)
        tail = "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
        return {r[0] for r in await pg_insert_rows(raw, tables.processed, rows, tail=tail)}
    claimed: set[str] = set()
    for start in range(0, len(rows), _CLAIM_CHUNK):
        # One statement whatever the number of rows: a VALUES list of n rows would be compiled
        # afresh for every n.
        chunk = rows[start : start + _CLAIM_CHUNK]
        claimed.update((await session.execute(_claim_statement(tables), chunk)).scalars())
    return claimed


_CLAIM_STATEMENTS: dict[int, Any] = {}


def _claim_statement(tables: OutboxTables) -> Any:
    """`claim`'s INSERT ... ON CONFLICT DO NOTHING RETURNING on SQLite, built once per table
    (building it cost a consumer a tenth of a delivery's CPU)."""
    stmt = _CLAIM_STATEMENTS.get(id(tables.processed))
    if stmt is None:
        stmt = _CLAIM_STATEMENTS[id(tables.processed)] = (
            sqlite_insert(tables.processed)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(tables.processed.c.event_id)
        )
    return stmt


async def consume(
    session: AsyncSession,
    tables: OutboxTables,
    events: Sequence[Event],
    handler: EventHandler,
) -> EventBatchResult:
    """Apply each event once, in the caller's transaction. An event the handler refuses as
    invalid (an AppError below 500) is recorded as rejected and logged, so one bad event cannot
    block its batch forever; anything else fails the batch and the relay retries it.

    The ids are claimed in one statement and the new events applied in the transaction as it
    is: a delivery costs a few statements, not four per event. Only when an event is refused is
    the transaction rolled back (the caller's transaction is this delivery's alone: the
    `/v1/events` route's) and the batch claimed and applied again, one savepoint per event,
    which keeps the others and marks the refused one."""
    claimed = await claim(session, tables, events)
    fresh: list[Event] = []
    for event in events:
        if event.id in claimed:
            claimed.discard(event.id)  # the same id twice in one batch is applied once
            fresh.append(event)
    duplicates = len(events) - len(fresh)
    if not fresh:
        return EventBatchResult(accepted=0, duplicates=duplicates, rejected=0)
    try:
        for event in fresh:
            await handler(session, event)
    except AppError as exc:
        if exc.status_code >= 500:
            raise
    else:
        return EventBatchResult(accepted=len(fresh), duplicates=duplicates, rejected=0)
    # Nothing of the first pass is kept: its claims, its changes, what it would have published
    # after commit. A concurrent delivery of the same ids may have claimed some meanwhile.
    await session.rollback()
    again = await claim(session, tables, fresh)
    duplicates += len(fresh) - len(again)
    fresh = [e for e in fresh if e.id in again]
    accepted = rejected = 0
    for event in fresh:
        try:
            async with session.begin_nested():
                await handler(session, event)
            accepted += 1
        except AppError as exc:
            if exc.status_code >= 500:
                raise
            rejected += 1
            log.warning(
                "event rejected",
                extra={"event_id": event.id, "event_type": event.type, "reason": exc.detail},
            )
            await session.execute(
                update(tables.processed)
                .where(tables.processed.c.event_id == event.id)
                .values(outcome="rejected")
            )
    return EventBatchResult(accepted=accepted, duplicates=duplicates, rejected=rejected)


def outbox_probe(tables: OutboxTables) -> Callable[[Any], Awaitable[list[Metric]]]:
    """The metrics probe of a service's outbox (`alpr_common.metrics`): per destination, the
    events pending, those already retried at least once, and the age of the oldest."""
    t = tables.outbox

    async def outbox(app: Any) -> list[Metric]:
        query = select(t.c.destination, func.count(), func.min(t.c.created_at)).group_by(
            t.c.destination
        )
        retrying = select(t.c.destination, func.count()).where(t.c.attempts > 0)
        async with app.state.db.read_sessionmaker() as session:
            rows = (await session.execute(query)).all()
            failing = dict((await session.execute(retrying.group_by(t.c.destination))).all())
        now = utcnow()
        return [
            gauge(
                "alpr_outbox_pending_events",
                "Events waiting in the outbox for delivery, by destination.",
                [({"destination": r[0]}, r[1]) for r in rows],
            ),
            gauge(
                "alpr_outbox_oldest_event_age_seconds",
                "Age of the oldest undelivered event, by destination (absent: nothing pending).",
                [({"destination": r[0]}, (now - r[2]).total_seconds()) for r in rows],
            ),
            gauge(
                "alpr_outbox_retrying_events",
                "Pending events whose delivery failed at least once, by destination.",
                [({"destination": r[0]}, failing.get(r[0], 0)) for r in rows],
            ),
        ]

    return outbox
