"""The outbox relay: delivers each service's pending outbox events (`alpr_common.outbox`) at least
once to the consumer's `POST /v1/events`, a lane per destination, retried with capped backoff.

On PostgreSQL a delivery keeps its rows locked while they travel (`FOR UPDATE SKIP LOCKED`), so
several processes' relays never send the same rows; the claim walks the outbox's (destination,
seq) index (`CLAIM_SQL`, `CLAIM_PLAN`). On SQLite no transaction stays open while events travel.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from prometheus_client import Counter
from sqlalchemy import Select, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from alpr_common.db import Database, driver_connection, utcnow
from alpr_common.errors import AppError
from alpr_common.outbox import OutboxTables
from alpr_common.telemetry import outgoing_headers

log = logging.getLogger("alpr.outbox")
_tracer = trace.get_tracer("alpr.outbox")

DELIVERIES = Counter(
    "alpr_outbox_deliveries_total",
    "Relay deliveries (one POST of a batch of events) by destination and outcome (ok, failed).",
    ["destination", "outcome"],
)
DELIVERED = Counter(
    "alpr_outbox_events_delivered_total",
    "Events the relay delivered, by destination.",
    ["destination"],
)

MAX_BACKOFF_SECONDS = 60.0


TokenGetter = Callable[[], Awaitable[str]]

# PostgreSQL channel on which a relay whose deliveries to a destination are all busy, or a
# process that does not deliver (`deliver`), asks the relays of the service's other processes to
# take that destination's events (LISTEN/NOTIFY).
NOTIFY_CHANNEL = "alpr_outbox"


# The claim on PostgreSQL, sent to the driver (`claim_query` is SQLite's): the lane's oldest due
# events that no delivery of this process carries, up to a batch, locked, skipping the rows
# another relay holds. It walks the (destination, seq) index (see `CLAIM_PLAN`).
CLAIM_SQL = (
    "SELECT seq, envelope, attempts, created_at FROM {table} "
    "WHERE destination = $1 AND next_attempt_at <= $2 AND seq <> ALL($3::bigint[]) "
    "ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED"
)


# The claim's plan on PostgreSQL: an index scan of (destination, seq) in order, which stops at
# its batch and marks the entries of deleted rows dead as it passes them, so the next claim
# skips them without visiting their rows. Left to itself, the planner took a bitmap scan, which
# marks nothing and visited every deleted row's page on every claim until autovacuum came by
# (20,000 deleted rows: 880 pages read to find 3 events).
# A sequential scan would visit them all too: the table looks small to the planner once
# autovacuum has analyzed it, whatever it holds by the next claim.
CLAIM_PLAN = ("SET LOCAL enable_bitmapscan = off", "SET LOCAL enable_seqscan = off")


@dataclass
class _Failure:
    """Why a delivery failed; `unreachable`: the destination (or the token for it) could not
    be had at all, or answered that it is unavailable, rather than refusing the delivery."""

    error: str
    unreachable: bool


# Answers that say the destination is not there at the moment (a proxy's or its own).
_UNAVAILABLE = frozenset({502, 503, 504})


@dataclass
class _Claim:
    """Rows taken for one delivery, and (PostgreSQL) the transaction that locks them."""

    rows: list[Any]
    locked: _Locked | None


class _Locked:
    """A claim's transaction on PostgreSQL, which holds its rows locked while they travel.

    On the driver's connection, checked out of the engine's pool: BEGIN with the claim's plan
    (`CLAIM_PLAN`) in one round trip, the claim in one, the delete with COMMIT in one. A
    database bound to a test's transaction keeps an ORM session (a savepoint in it)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.conn: AsyncConnection | None = None
        self.session: AsyncSession | None = None
        self.raw: Any = None

    async def begin(self) -> None:
        if self.db.bound:
            self.session = self.db.sessionmaker()
            for setting in CLAIM_PLAN:
                await self.session.execute(text(setting))
            self.raw = await driver_connection(self.session)
            return
        self.conn = await self.db.engine.connect()
        self.raw = (await self.conn.get_raw_connection()).driver_connection
        await self.raw.execute("; ".join(("BEGIN", *CLAIM_PLAN)))

    async def delete_and_commit(self, table: str, seqs: list[int]) -> None:
        if self.session is not None:
            await self.raw.execute(f"DELETE FROM {table} WHERE seq = ANY($1::bigint[])", seqs)  # noqa: S608
            await self.session.commit()
            return
        # The seqs are the table's own integers, written out: one round trip with the COMMIT.
        listed = ",".join(str(int(seq)) for seq in seqs)
        await self.raw.execute(f"DELETE FROM {table} WHERE seq IN ({listed}); COMMIT")  # noqa: S608

    async def close(self) -> None:
        """End the transaction if it is still open (its locks go with it) and give the
        connection back; one that cannot say where it stands is discarded. Idempotent: once
        given back, the connection may be another task's."""
        session, conn, raw = self.session, self.conn, self.raw
        self.session = self.conn = self.raw = None
        if session is not None:
            await session.close()
            return
        if conn is None:
            return
        try:
            if raw is not None and raw.is_in_transaction():
                await raw.execute("ROLLBACK")
        except BaseException:
            await conn.invalidate()
            raise
        finally:
            await conn.close()


class Lane:
    """One destination's deliveries: when they may go, and those under way."""

    def __init__(self, destination: str, *, delay: float, linger: float, limit: int) -> None:
        self.destination = destination
        self.delay = delay
        self.linger = linger
        # Deliveries in flight at once: 1 keeps the destination's events in order.
        self.limit = limit
        self.wakeup = asyncio.Event()
        # When events waiting for company (`delay`) are due (monotonic clock).
        self.due: float | None = None
        # Events waiting for the lane: what its last claim left, and what this process has
        # committed for it since (`notify`). A batch's worth has all the company it waits for.
        self.waiting = 0
        # A wake-up that should look for events now (not only re-arm the wait for `due`).
        self.look = False
        self.in_flight: set[int] = set()  # seqs being delivered by this process
        self.deliveries: set[asyncio.Task[None]] = set()
        self.task: asyncio.Task[None] | None = None
        # A delivery failed because the destination could not be reached: the next one that
        # succeeds sends the retries waiting meanwhile at once (`_resume`).
        self.outage = False

    @property
    def full(self) -> bool:
        return len(self.deliveries) >= self.limit


class OutboxRelay:
    """Delivers pending outbox rows at least once, each destination on its own lane.

    A destination named in `in_flight` is live (hot-list matching): its events go the moment they
    commit (under load, at most `live_linger` later), with up to that many deliveries under way
    at once (their order is not kept: the consumer must not need it). Any other destination gets
    one delivery at a time, oldest first, and may trade latency for fewer deliveries (`delays`,
    `linger`). A slow or failing destination never holds up another's events."""

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
        in_flight: Mapping[str, int] | None = None,
        coalesce: float = 0.0,
        live_linger: float = 0.0,
        deliver: bool = True,
    ) -> None:
        """`delays`: per destination, how long an event may wait for others to travel with it
        (a delivery costs the consumer far more than an event in it). For destinations that
        keep a record, not for live ones.

        `linger`: for destinations that are not live, the least time from the start of a pass
        that sent something to the next pass's. Under load, the events committed while a
        delivery is under way then travel together in the next one, instead of one delivery per
        commit; after a quiet spell, a commit is sent at once.

        `in_flight`: the live destinations and how many deliveries each may have under way.

        `coalesce`: while a live destination has a delivery under way, how long its next pass
        waits for the events committed meanwhile (it ends sooner if a delivery ends). Under load
        one delivery then carries several commits' events; a quiet lane sends at once.

        `live_linger`: `linger` for the live destinations. Under load the commits of a few
        milliseconds then travel in one delivery instead of one each; the first commit after a
        quiet spell goes at once, so a read waits at most this long more for its delivery.

        `deliver` False (a worker process other than the first, `relay_workers`): this process
        delivers nothing; the commits of its live destinations are handed to the service's
        delivering processes (PostgreSQL NOTIFY), which then send them with their own, in fewer
        and fuller deliveries. Other destinations wait for the delivering processes' poll
        (every `interval`), as they wait for their delay anyway. SQLite always delivers."""
        self.db = db
        self._delivers = deliver
        self.tables = tables
        self.urls = urls
        self.token = token
        self.client = client
        self.batch_size = batch_size
        self.interval = interval
        self.delays = dict(delays or {})
        self.linger = linger
        self.live = {d: max(1, n) for d, n in (in_flight or {}).items()}
        self.coalesce = coalesce
        self.live_linger = live_linger
        self.lanes: dict[str, Lane] = {}
        # Tells this process's notifications from other processes' (PostgreSQL LISTEN/NOTIFY).
        self._origin = f"{os.getpid()}-{random.getrandbits(32):08x}"
        self._listener: Any = None  # asyncpg connection while listening
        self._spill: set[str] = set()
        self._spilling: asyncio.Task[None] | None = None
        self._running = False

    @property
    def deliver(self) -> bool:
        """Whether this process delivers: as constructed, and always on SQLite (which has no
        NOTIFY to hand events over with). Read from the database in use: tests swap it."""
        return self._delivers or self.db.dialect != "postgresql"

    def lane(self, destination: str) -> Lane:
        lane = self.lanes.get(destination)
        if lane is None:
            live = destination in self.live
            lane = Lane(
                destination,
                delay=0.0 if live else self.delays.get(destination, 0.0),
                linger=self.live_linger if live else self.linger,
                limit=self.live.get(destination, 1),
            )
            self.lanes[destination] = lane
        return lane

    def _start(self, lane: Lane) -> None:
        if self._running and (lane.task is None or lane.task.done()):
            lane.task = asyncio.create_task(self._run_lane(lane), name=f"outbox-{lane.destination}")

    def notify(self, destinations: Mapping[str, int] | Collection[str] = ()) -> None:
        """Events for `destinations` were just committed in this process, so many for each
        when a mapping says (none named: look at every lane now). A destination that takes its
        events at once is woken now; one whose events wait for company (`delays`) at the end of
        its delay (waking it at every commit would be a pass that finds them too young to
        send), or now once a batch's worth waits: under load its deliveries then come one by
        one as batches fill, not all at once when the delay ends (a burst that held a core
        while reads waited). A live destination whose deliveries are all under way asks the
        service's other processes to help (PostgreSQL). A process that does not deliver hands
        its live destinations to those that do."""
        if not self.deliver:
            live = {d for d in destinations if d in self.live}
            if live:
                self._ask_others(live)
            return
        counts = destinations if isinstance(destinations, Mapping) else {}
        for lane in [self.lane(d) for d in destinations] or list(self.lanes.values()):
            self._start(lane)
            if destinations:
                lane.waiting += counts.get(lane.destination, 1)
            if lane.delay > 0 and destinations and lane.waiting < self.batch_size:
                due = time.monotonic() + lane.delay
                if lane.due is None or due < lane.due:
                    lane.due = due
                    lane.wakeup.set()  # re-arms its wait; `look` stays as it was
                continue
            lane.look = True
            lane.wakeup.set()
            if lane.full and lane.limit > 1:
                self._ask_others({lane.destination})

    def _ask_others(self, destinations: set[str]) -> None:
        """Have the service's other (delivering) processes look at `destinations` now."""
        if self._listener is None:
            return  # not connected: their poll finds the events
        self._spill |= destinations
        if self._spilling is None or self._spilling.done():
            self._spilling = asyncio.create_task(self._send_spill())

    async def run(self) -> None:
        """Deliver until cancelled: a task per destination's lane, woken by this process's
        commits (`notify`), by other processes' (PostgreSQL LISTEN/NOTIFY) and, as a safety net,
        by a poll every `interval` that finds what no wake-up announced (a CLI command's events,
        retries that are due). A process that does not deliver only keeps the connection its
        hand-offs are sent on."""
        if not self.deliver:
            await self._listen()
            return
        self._running = True
        for destination in [*self.live, *self.delays]:
            self._start(self.lane(destination))
        listening: asyncio.Task[None] | None = None
        if self.db.dialect == "postgresql":
            listening = asyncio.create_task(self._listen(), name="outbox-listen")
        try:
            while True:
                try:
                    for destination in await self._due_destinations():
                        lane = self.lane(destination)
                        self._start(lane)
                        lane.look = True
                        lane.wakeup.set()
                except Exception:
                    log.exception("outbox relay poll failed; retrying")
                await asyncio.sleep(self.interval)
        finally:
            self._running = False
            tasks = [lane.task for lane in self.lanes.values() if lane.task is not None]
            tasks += [t for lane in self.lanes.values() for t in lane.deliveries]
            if listening is not None:
                tasks.append(listening)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _run_lane(self, lane: Lane) -> None:
        last_sent: float | None = None  # when the last pass that sent something began
        while True:
            timeout = None if lane.due is None else max(0.0, lane.due - time.monotonic())
            try:
                await asyncio.wait_for(lane.wakeup.wait(), timeout)
            except TimeoutError:
                lane.look = True  # the waiting events are due
            if not lane.look:
                lane.wakeup.clear()
                continue  # `due` moved: wait again
            if last_sent is not None and lane.linger > 0:
                # Under load, what commits meanwhile travels in the same delivery.
                gap = last_sent + lane.linger - time.monotonic()
                if gap > 0:
                    await asyncio.sleep(gap)
            # Cleared just before the claim: a commit that notifies after this is not missed,
            # and one that notified before is in what the claim reads.
            lane.wakeup.clear()
            lane.look = False
            if lane.due is not None and lane.due <= time.monotonic():
                lane.due = None
            started = time.monotonic()
            last_sent = None
            while True:
                while lane.full:
                    await asyncio.wait(lane.deliveries, return_when=asyncio.FIRST_COMPLETED)
                if lane.deliveries and self.coalesce > 0 and lane.destination in self.live:
                    # Busy: what commits in the next moments, or until a delivery under way
                    # ends, travels together (a delivery costs the consumer far more than an
                    # event in it). A quiet lane sends at once.
                    await asyncio.wait(
                        lane.deliveries, timeout=self.coalesce, return_when=asyncio.FIRST_COMPLETED
                    )
                try:
                    claim = await self._claim(lane, honour_delay=True)
                except Exception:
                    log.exception("outbox relay pass for %s failed; retrying", lane.destination)
                    break
                if claim is None:
                    break
                last_sent = started
                delivery = asyncio.create_task(self._finish(lane, claim))
                lane.deliveries.add(delivery)
                delivery.add_done_callback(lane.deliveries.discard)
                if len(claim.rows) < self.batch_size:
                    break

    async def deliver_once(self) -> int:
        """One pass, each destination in turn: send up to a batch to each, wait for the answers,
        and return how many events were delivered."""
        delivered = 0
        for destination in await self._due_destinations():
            lane = self.lane(destination)
            claim = await self._claim(lane, honour_delay=True)
            if claim is not None:
                delivered += await self._deliver(lane, claim)
        return delivered

    async def _due_destinations(self) -> list[str]:
        t = self.tables.outbox
        async with self.db.read_sessionmaker() as session:
            query = select(t.c.destination).where(t.c.next_attempt_at <= utcnow()).distinct()
            return sorted((await session.execute(query)).scalars())

    def claim_query(self, lane: Lane) -> Select[Any]:
        """The lane's oldest due events that no delivery of this process carries, up to a
        batch (SQLite; PostgreSQL sends `CLAIM_SQL` with `claim_args`)."""
        t = self.tables.outbox
        query = (
            select(t.c.seq, t.c.envelope, t.c.attempts, t.c.created_at)
            .where(t.c.destination == lane.destination, t.c.next_attempt_at <= utcnow())
            .order_by(t.c.seq)
            .limit(self.batch_size)
        )
        if lane.in_flight:
            query = query.where(t.c.seq.not_in(lane.in_flight))
        return query

    def claim_args(self, lane: Lane) -> tuple[Any, ...]:
        """The parameters of `CLAIM_SQL` for the lane's next claim."""
        return (lane.destination, utcnow(), list(lane.in_flight), self.batch_size)

    async def _claim(self, lane: Lane, *, honour_delay: bool) -> _Claim | None:
        """Take the lane's oldest due events that no delivery of this process carries yet, up to
        a batch; None when there are none, or when they wait for company (then `lane.due` says
        until when). On PostgreSQL the rows stay locked (`FOR UPDATE SKIP LOCKED`) in the claim's
        transaction while they travel, so the relays of several processes never send the same
        rows; other writers are not held up. On SQLite no transaction stays open while an event
        travels (see `_deliver`)."""
        locked: _Locked | None = None
        try:
            # The envelope is relayed as the JSON text the database holds: no decode/encode.
            if self.db.dialect == "postgresql":
                locked = _Locked(self.db)
                await locked.begin()
                sql = CLAIM_SQL.format(table=self.tables.outbox.name)
                rows = list(await locked.raw.fetch(sql, *self.claim_args(lane)))
            else:
                async with self.db.read_sessionmaker() as session:
                    rows = list((await session.execute(self.claim_query(lane))).mappings().all())
        except BaseException:
            if locked is not None:
                await locked.close()
            raise
        waiting = (
            honour_delay
            and lane.delay > 0
            and rows
            and len(rows) < self.batch_size
            and (age := (utcnow() - rows[0]["created_at"]).total_seconds()) < lane.delay
        )
        # What the lane's next claim will find at least, as far as this process knows (`notify`).
        lane.waiting = len(rows) if waiting else 0
        if not rows or waiting:
            if locked is not None:
                await locked.close()
            if waiting:
                due = time.monotonic() + lane.delay - age
                if lane.due is None or due < lane.due:
                    lane.due = due
            return None
        lane.in_flight.update(r["seq"] for r in rows)
        return _Claim(rows, locked)

    async def _finish(self, lane: Lane, claim: _Claim) -> None:
        try:
            await self._deliver(lane, claim)
        except Exception:
            log.exception("outbox delivery to %s failed; retrying", lane.destination)

    async def _deliver(self, lane: Lane, claim: _Claim) -> int:
        """Send a claim's events, then delete them (delivered) or schedule their retry. On
        SQLite in a short write transaction of its own, after the answer: a SQLite write
        transaction holds the database's one write lock, and the consumer, before it answers,
        asks this service's access for the relay's status (`PrincipalStatusCheck`): when this
        service is access, its status answer would wait for a lock the relay held while waiting
        for that answer. One relay per SQLite database (`workers` is PostgreSQL only), and
        consumers apply an event id once, so a row read twice is at worst delivered twice."""
        t = self.tables.outbox
        rows = claim.rows
        seqs = [r["seq"] for r in rows]
        try:
            with _tracer.start_as_current_span(
                "outbox.deliver",
                kind=SpanKind.PRODUCER,
                attributes={"messaging.destination.name": lane.destination, "events": len(seqs)},
            ):
                failure = await self._post(lane.destination, [r["envelope"] for r in rows])
            locked = claim.locked
            if failure is None and locked is not None:
                # Delivered: gone from the outbox (see the module docstring).
                await locked.delete_and_commit(t.name, seqs)
            else:
                if locked is not None:
                    await locked.close()  # its locks go; the retry is scheduled apart
                change = (
                    delete(t).where(t.c.seq.in_(seqs))
                    if failure is None
                    else self._reschedule(seqs, rows, lane.destination, failure.error)
                )
                async with self.db.sessionmaker() as session:
                    await session.execute(change)
                    await session.commit()
            if failure is not None:
                lane.outage = lane.outage or failure.unreachable
                return 0
            if lane.outage:
                lane.outage = False
                try:
                    await self._resume(lane)
                except Exception as exc:  # the retries keep their times; the next success tries
                    lane.outage = True
                    log.warning("cannot bring %s's retries forward: %s", lane.destination, exc)
            return len(seqs)
        finally:
            lane.in_flight.difference_update(seqs)
            if claim.locked is not None:
                await claim.locked.close()

    async def _listen(self) -> None:
        """LISTEN for other processes' requests for help (see `notify`); reconnect when the
        connection drops. The poll finds their events meanwhile."""
        import asyncpg

        url = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

        def heard(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
            origin, _, destinations = payload.partition(" ")
            if origin == self._origin or not self.deliver:
                return
            for destination in destinations.split(","):
                if destination:
                    lane = self.lane(destination)
                    self._start(lane)
                    lane.look = True
                    lane.wakeup.set()

        backoff = 1.0
        while True:
            try:
                conn = await asyncpg.connect(url)
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox relay cannot LISTEN (%s); polling meanwhile", exc)
                await asyncio.sleep(backoff)
                backoff = min(MAX_BACKOFF_SECONDS, backoff * 2)
                continue
            backoff = 1.0
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            try:
                await conn.add_listener(NOTIFY_CHANNEL, heard)
                self._listener = conn
                await lost.wait()
                log.warning("outbox relay lost its LISTEN connection; reconnecting")
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("outbox relay LISTEN failed (%s); reconnecting", exc)
                await asyncio.sleep(backoff)
            finally:
                self._listener = None
                await conn.close(timeout=2)

    async def _send_spill(self) -> None:
        """NOTIFY the other processes of the destinations this one does not send to at once
        (its live deliveries are all under way, or it does not deliver); commits meanwhile
        share the next notification."""
        while self._spill and self._listener is not None:
            destinations, self._spill = self._spill, set()
            try:
                await self._listener.execute(
                    "SELECT pg_notify($1, $2)",
                    NOTIFY_CHANNEL,
                    f"{self._origin} {','.join(sorted(destinations))}",
                )
            except Exception as exc:  # the poll is the safety net
                log.warning("outbox relay NOTIFY failed: %s", exc)
                return

    async def _resume(self, lane: Lane) -> None:
        """The destination answers again after an outage: the events whose deliveries failed
        meanwhile are due now, not at the end of their backoff (up to a minute: alerts for the
        reads of a hotlist restart would wait that long). Only after an outage: an event a
        destination refuses keeps its backoff."""
        t = self.tables.outbox
        now = utcnow()
        async with self.db.sessionmaker() as session:
            result = await session.execute(
                update(t)
                .where(
                    t.c.destination == lane.destination,
                    t.c.attempts > 0,
                    t.c.next_attempt_at > now,
                )
                .values(next_attempt_at=now)
            )
            await session.commit()
        resumed = getattr(result, "rowcount", 0) or 0
        if resumed:
            log.info("%s answers again: %d waiting event(s) sent now", lane.destination, resumed)
            lane.look = True
            lane.wakeup.set()

    def _reschedule(self, seqs: list[Any], rows: list[Any], dest: str, error: str) -> Any:
        """The UPDATE that schedules a failed delivery's retry, with capped, jittered backoff."""
        t = self.tables.outbox
        attempts = max(r["attempts"] for r in rows) + 1
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

    async def _post(self, destination: str, envelopes: list[str]) -> _Failure | None:
        failure = await self._send(destination, envelopes)
        DELIVERIES.labels(destination, "ok" if failure is None else "failed").inc()
        if failure is None:
            DELIVERED.labels(destination).inc(len(envelopes))
        return failure

    async def _send(self, destination: str, envelopes: list[str]) -> _Failure | None:
        try:
            token = await self.token()
            resp = await self.client.post(
                f"{self.urls(destination)}/v1/events",
                content='{"events":[' + ",".join(envelopes) + "]}",
                headers={
                    **outgoing_headers(),
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                },
            )
        except (httpx.HTTPError, OSError) as exc:
            return _Failure(f"{type(exc).__name__}: {exc}", unreachable=True)
        except AppError as exc:
            return _Failure(f"{type(exc).__name__}: {exc.detail}", unreachable=True)
        if resp.status_code >= 300:
            return _Failure(
                f"HTTP {resp.status_code}: {resp.text[:200]}",
                unreachable=resp.status_code in _UNAVAILABLE,
            )
        return None

    async def pending(self) -> int:
        t = self.tables.outbox
        async with self.db.sessionmaker() as session:
            return int((await session.execute(select(func.count()).select_from(t))).scalar_one())
