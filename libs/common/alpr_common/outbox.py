"""Transactional outbox and relay: events are written in the same transaction as the change they
describe, and a relay delivers them at least once to the consumer's `POST /v1/events`.

Consumers apply each event id once (`processed_event`), so redelivery is harmless, and a consumer
that is down only delays events: they wait in the outbox, retried with capped backoff.

The outbox holds pending events only: a delivered event is deleted in the transaction that
records its delivery. Events carry plate reads, search criteria and names, which must not
outlive the 30-day retention (344.4(d)) in a queue nobody audits; the consumer keeps what it
must keep. The envelope is stored as the JSON text that is sent (PostgreSQL `text` with
`STORAGE EXTERNAL`: no jsonb parse, no compression of a value that lives for milliseconds).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import OUTBOX_PENDING, Database, UTCDateTime, json_serializer, utcnow
from alpr_common.errors import AppError
from alpr_common.events import Event, EventBatchResult

log = logging.getLogger("alpr.outbox")

MAX_BACKOFF_SECONDS = 60.0


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
    Index("ix_outbox_event_next_attempt_at", outbox.c.next_attempt_at)
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
    session.info.setdefault(OUTBOX_PENDING, set()).update(d for d, _ in routed)
    now = utcnow()
    await session.execute(
        tables.outbox.insert(),
        [
            {
                "event_id": e.id,
                "destination": destination,
                "envelope": json_serializer(envelope(e)),
                "created_at": now,
                "next_attempt_at": now,
                "attempts": 0,
            }
            for destination, e in routed
        ],
    )


EventHandler = Callable[[AsyncSession, Event], Awaitable[None]]

# Event ids claimed per statement (an executemany with RETURNING, which SQLAlchemy batches).
_CLAIM_CHUNK = 1000


async def claim(session: AsyncSession, tables: OutboxTables, events: Sequence[Event]) -> set[str]:
    """Mark events processed, in bulk; return the ids not seen before. A concurrent transaction
    claiming the same id waits here until the first one ends."""
    now = utcnow()
    claimed: set[str] = set()
    for start in range(0, len(events), _CLAIM_CHUNK):
        rows = [
            {
                "event_id": e.id,
                "source": e.source,
                "type": e.type,
                "processed_at": now,
                "outcome": "accepted",
            }
            for e in events[start : start + _CLAIM_CHUNK]
        ]
        # One statement whatever the number of rows: a VALUES list of n rows would be compiled
        # afresh for every n.
        stmt = (
            insert_ignore(session, tables.processed)
            .on_conflict_do_nothing(index_elements=["event_id"])
            .returning(tables.processed.c.event_id)
        )
        claimed.update((await session.execute(stmt, rows)).scalars())
    return claimed


async def consume(
    session: AsyncSession,
    tables: OutboxTables,
    events: Sequence[Event],
    handler: EventHandler,
) -> EventBatchResult:
    """Apply each event once, in the caller's transaction. An event the handler refuses as
    invalid (an AppError below 500) is recorded as rejected and logged, so one bad event cannot
    block its batch forever; anything else fails the batch and the relay retries it.

    The ids are claimed in one statement and the new events applied under one savepoint: a
    delivery costs a few statements, not four per event. Only when an event is refused is that
    savepoint rolled back and the batch applied again one savepoint per event, which keeps the
    others and marks the refused one."""
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
        async with session.begin_nested():
            for event in fresh:
                await handler(session, event)
    except AppError as exc:
        if exc.status_code >= 500:
            raise
    else:
        return EventBatchResult(accepted=len(fresh), duplicates=duplicates, rejected=0)
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


TokenGetter = Callable[[], Awaitable[str]]


class OutboxRelay:
    """Delivers pending outbox rows, oldest first, per destination; at least once."""

    def __init__(
        self,
        db: Database,
        tables: OutboxTables,
        *,
        urls: Callable[[str], str],
        token: TokenGetter,
        client: httpx.AsyncClient,
        batch_size: int = 500,
        interval: float = 1.0,
        delays: Mapping[str, float] | None = None,
        linger: float = 0.0,
    ) -> None:
        """`delays`: per destination, how long an event may wait for others to travel with it
        (a delivery costs the consumer far more than an event in it). For destinations that
        keep a record, not for live paths: hot-list matching has none.

        `linger`: the least time from one pass's start to the next's. Under load, the events
        committed while a delivery is under way then travel together in the next one, instead
        of one delivery per commit; after a quiet spell, a commit is sent at once."""
        self.db = db
        self.tables = tables
        self.urls = urls
        self.token = token
        self.client = client
        self.batch_size = batch_size
        self.interval = interval
        self.delays = dict(delays or {})
        self.linger = linger
        self.wakeup = asyncio.Event()
        # When delayed events committed since are due (monotonic clock); see `notify`.
        self._due: float | None = None

    def notify(self, destinations: Collection[str] = ()) -> None:
        """Events for `destinations` were just committed (none named: wake now). The relay
        wakes now for a destination that takes its events at once, and at the end of its delay
        for one whose events wait for company (`delays`): waking for those at every commit
        would be a pass that finds them too young to send."""
        delays = [self.delays.get(d, 0.0) for d in destinations] or [0.0]
        waiting = [d for d in delays if d > 0]
        if waiting:
            due = time.monotonic() + min(waiting)
            if self._due is None or due < self._due:
                self._due = due
        if len(waiting) < len(delays):
            self.wakeup.set()

    async def run(self) -> None:
        while True:
            # Cleared before the pass, so a commit that notifies during it is not missed.
            self.wakeup.clear()
            if self._due is not None and self._due <= time.monotonic():
                self._due = None
            started = time.monotonic()
            try:
                sent = await self.deliver_once()
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                sent = 0
            if sent < self.batch_size:
                wait = self.interval
                if self._due is not None:
                    wait = max(0.0, min(wait, self._due - time.monotonic()))
                try:
                    await asyncio.wait_for(self.wakeup.wait(), timeout=wait)
                except TimeoutError:
                    pass
                # Under load, what commits while this waits travels in the same delivery. After a
                # pass that found nothing (an idle poll) the next event goes at once.
                gap = started + self.linger - time.monotonic()
                if sent and gap > 0:
                    await asyncio.sleep(gap)

    async def deliver_once(self) -> int:
        """One pass: send up to a batch per destination; return how many were delivered."""
        if self.db.dialect != "postgresql":
            return await self._deliver_once_unlocked()
        t = self.tables.outbox
        async with self.db.sessionmaker() as session:
            # The envelope is relayed as the JSON text the database holds: no decode/encode.
            query = (
                select(t.c.seq, t.c.destination, t.c.envelope, t.c.attempts, t.c.created_at)
                .where(t.c.next_attempt_at <= utcnow())
                .order_by(t.c.seq)
                .limit(self.batch_size)
                # PostgreSQL: the rows stay locked while they travel, so the relays of several
                # workers never send the same rows; other writers are not held up.
                .with_for_update(skip_locked=True)
            )
            rows = (await session.execute(query)).all()
            by_dest: dict[str, list[Any]] = {}
            for row in rows:
                by_dest.setdefault(row.destination, []).append(row)
            delivered = 0
            now = utcnow()
            for dest, dest_rows in by_dest.items():
                delay = self.delays.get(dest, 0.0)
                if (
                    delay > 0
                    and len(dest_rows) < self.batch_size
                    and (now - dest_rows[0].created_at).total_seconds() < delay
                ):
                    continue  # waits for company; a later poll sends it (see `delays`)
                error = await self._post(dest, [r.envelope for r in dest_rows])
                seqs = [r.seq for r in dest_rows]
                if error is None:
                    # Delivered: gone from the outbox (see the module docstring).
                    await session.execute(delete(t).where(t.c.seq.in_(seqs)))
                    delivered += len(seqs)
                else:
                    await session.execute(self._reschedule(seqs, dest_rows, dest, error))
            await session.commit()
            return delivered

    async def _deliver_once_unlocked(self) -> int:
        """`deliver_once` for SQLite: no transaction is open while an event travels. A SQLite
        write transaction holds the database's one write lock, and the consumer, before it
        answers, asks this service's access for the relay's status (`PrincipalStatusCheck`): when
        this service is access, its status answer waited for the lock the relay held while the
        relay waited for that answer, and every other writer (a CLI `create-cso`) with them.
        The rows are read from a snapshot, posted, then deleted or rescheduled in a short write
        transaction. One relay per SQLite database (`workers` is PostgreSQL only), and consumers
        apply an event id once, so a row read by two passes is at worst delivered twice."""
        t = self.tables.outbox
        async with self.db.read_sessionmaker() as session:
            rows = (
                await session.execute(
                    select(t.c.seq, t.c.destination, t.c.envelope, t.c.attempts, t.c.created_at)
                    .where(t.c.next_attempt_at <= utcnow())
                    .order_by(t.c.seq)
                    .limit(self.batch_size)
                )
            ).all()
        by_dest: dict[str, list[Any]] = {}
        for row in rows:
            by_dest.setdefault(row.destination, []).append(row)
        delivered = 0
        now = utcnow()
        for dest, dest_rows in by_dest.items():
            delay = self.delays.get(dest, 0.0)
            if (
                delay > 0
                and len(dest_rows) < self.batch_size
                and (now - dest_rows[0].created_at).total_seconds() < delay
            ):
                continue  # waits for company; a later poll sends it (see `delays`)
            error = await self._post(dest, [r.envelope for r in dest_rows])
            seqs = [r.seq for r in dest_rows]
            async with self.db.sessionmaker() as session:
                if error is None:
                    await session.execute(delete(t).where(t.c.seq.in_(seqs)))
                    delivered += len(seqs)
                else:
                    await session.execute(self._reschedule(seqs, dest_rows, dest, error))
                await session.commit()
        return delivered

    def _reschedule(self, seqs: list[Any], rows: list[Any], dest: str, error: str) -> Any:
        """The UPDATE that schedules a failed delivery's retry, with capped, jittered backoff."""
        t = self.tables.outbox
        attempts = max(r.attempts for r in rows) + 1
        backoff = min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** min(attempts, 8))
        backoff *= random.uniform(0.8, 1.2)
        log.warning(
            "outbox delivery to %s failed (%d events, attempt %d): %s",
            dest,
            len(seqs),
            attempts,
            error,
        )
        return (
            update(t)
            .where(t.c.seq.in_(seqs))
            .values(
                attempts=t.c.attempts + 1,
                next_attempt_at=utcnow() + timedelta(seconds=backoff),
                last_error=error[:500],
            )
        )

    async def _post(self, destination: str, envelopes: list[str]) -> str | None:
        try:
            token = await self.token()
            resp = await self.client.post(
                f"{self.urls(destination)}/v1/events",
                content='{"events":[' + ",".join(envelopes) + "]}",
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
            )
        except (httpx.HTTPError, OSError) as exc:
            return f"{type(exc).__name__}: {exc}"
        except AppError as exc:
            return f"{type(exc).__name__}: {exc.detail}"
        if resp.status_code >= 300:
            return f"HTTP {resp.status_code}: {resp.text[:200]}"
        return None

    async def pending(self) -> int:
        t = self.tables.outbox
        async with self.db.sessionmaker() as session:
            return int((await session.execute(select(func.count()).select_from(t))).scalar_one())
