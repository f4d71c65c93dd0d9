"""The transaction log (344.4(d)): every request, refused ones included, is recorded durably in the
spool before anything is forwarded, and its outcome when it completes; the outbox relay carries
both to audit. A spool that cannot be written means a 503, never an unlogged request."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alpr_common.contracts.base import EventData
from alpr_common.contracts.gateway import (
    REQUEST,
    RESPONSE,
    GatewayRequestData,
    GatewayResponseData,
)
from alpr_common.db import Database, utcnow
from alpr_common.errors import Unavailable
from alpr_common.events import Event
from alpr_common.outbox import OutboxTables, outbox_rows

log = logging.getLogger("alpr.gateway.translog")


@dataclass
class Transaction:
    request_id: str
    method: str
    path: str
    query: str
    source_address: str
    started_at: datetime = field(default_factory=utcnow)
    subject: str | None = None
    roles: list[str] = field(default_factory=list)
    purpose: dict[str, Any] = field(default_factory=dict)
    service: str | None = None

    # The gateway's own events are built from values it made or verified, so their contract
    # models are constructed without re-validation (audit validates every event it takes in).
    def request_event(self) -> Event:
        data = GatewayRequestData.model_construct(
            request_id=self.request_id,
            time=self.started_at.isoformat(timespec="microseconds"),
            subject=self.subject,
            roles=self.roles,
            source_address=self.source_address,
            method=self.method,
            path=self.path,
            query=self.query,
            service=self.service,
            purpose=self.purpose.get("purpose"),
            case_number=self.purpose.get("case_number"),
            reason=self.purpose.get("reason"),
            criminal_nexus=self.purpose.get("criminal_nexus"),
            flags=list(self.purpose.get("flags", [])),
        )
        return _event(REQUEST, self.started_at, self.subject, _flat(data))

    def response_event(self, status: int, nbytes: int, refused_reason: str | None) -> Event:
        now = utcnow()
        data = GatewayResponseData.model_construct(
            request_id=self.request_id,
            status=status,
            bytes=nbytes,
            latency_ms=round((now - self.started_at).total_seconds() * 1000, 3),
            refused_reason=refused_reason,
        )
        return _event(RESPONSE, now, self.subject, _flat(data))


def _event(type_: str, time: datetime, subject: str | None, data: dict[str, Any]) -> Event:
    # Every field given: a default left to its factory costs pydantic a signature inspection
    # per event (two thirds of the cost of building one).
    return Event.model_construct(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source="gateway",
        type=type_,
        time=time,
        subject=subject,
        data=data,
    )


def _flat(data: EventData) -> dict[str, Any]:
    """A flat contract model's fields and extra fields: what `model_dump` gives for it, at a
    fraction of the cost (two events per transaction)."""
    return {**data.__dict__, **(data.__pydantic_extra__ or {})}


class TransactionLog:
    """Group commit: requests arriving together share one spool transaction, and each request
    waits until the transaction holding its entry has committed before it is forwarded.

    Nobody waits on an outcome: it joins the next write a request needs, and is written by
    itself only when no request comes within `OUTCOME_LINGER_SECONDS`. A camera posts again as
    soon as it is answered, so the outcome of one post and the next post share a write, which
    spares an INSERT and a round trip to the spool (0.25 -> 0.20 writes a post from 16
    cameras, bench/ingest/README.md)."""

    # Outcomes whose write failed wait here and are written again on a fresh connection (the
    # pool drops a broken one): an outcome is as durable as the request it completes, short of
    # the gateway process dying while the database is down. Beyond this many, the oldest are
    # given up (logged), and audit's verify report counts requests without outcomes.
    MAX_RETRY_OUTCOMES = 100_000
    RETRY_DELAYS = (0.05, 0.2, 1.0, 2.0, 5.0)
    OUTCOME_LINGER_SECONDS = 0.05

    def __init__(self, db: Callable[[], Database], tables: OutboxTables) -> None:
        self.db = db  # looked up per write, so the app's database can be swapped in tests
        self.tables = tables
        self._pending: list[tuple[list[Event], asyncio.Future[None] | None]] = []
        self._wake = asyncio.Event()  # something is queued
        self._urgent = asyncio.Event()  # a request waits on the next write
        self._writer: asyncio.Task[None] | None = None
        self._retry: list[Event] = []
        self._failures = 0
        self.outcomes_given_up = 0

    async def _write(self, events: list[Event]) -> None:
        try:
            # One INSERT committed by itself (`Database.insert_now`): on PostgreSQL no BEGIN and
            # no COMMIT, on SQLite one call on the writers' connection.
            db = self.db()
            await db.insert_now(self.tables.outbox, outbox_rows([("audit", e) for e in events]))
        except Exception as exc:  # any storage failure: fail closed, never serve unlogged
            log.error("transaction log write failed: %s", type(exc).__name__)
            raise Unavailable(
                "the transaction log cannot be written, so nothing is served (344.4(d)); "
                "retry shortly"
            ) from exc

    async def _run_writer(self) -> None:
        while True:
            if self._retry and not self._pending:
                # Outcomes to write again: after a pause, or at once when new work arrives.
                delay = self.RETRY_DELAYS[min(self._failures, len(self.RETRY_DELAYS)) - 1]
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=delay)
            else:
                await self._wake.wait()
            if self._pending and not self._urgent.is_set() and self.OUTCOME_LINGER_SECONDS > 0:
                # Outcomes only: they wait a little for a request's write to join.
                loop = asyncio.get_running_loop()
                timer = loop.call_later(self.OUTCOME_LINGER_SECONDS, self._urgent.set)
                await self._urgent.wait()
                timer.cancel()
            self._wake.clear()
            self._urgent.clear()
            batch, self._pending = self._pending, []
            retry, self._retry = self._retry, []
            if not batch and not retry:
                continue
            written = retry + [e for events, _ in batch for e in events]
            try:
                await self._write(written)
            except Unavailable as exc:
                self._failures += 1
                # The requests waiting on this write are refused (503, nothing forwarded); the
                # outcomes of requests already on record are kept and written again.
                outcomes = list(retry)
                for events, fut in batch:
                    if fut is None:
                        outcomes.extend(events)
                    elif not fut.done():
                        fut.set_exception(exc)
                self._keep_for_retry(outcomes)
            else:
                wake = self.db().on_outbox_commit
                if wake is not None:
                    wake({"audit": len(written)})  # the relay takes them at once
                if retry:
                    log.warning("%d transaction outcome(s) recorded on retry", len(retry))
                self._failures = 0
                for _, fut in batch:
                    if fut is not None and not fut.done():
                        fut.set_result(None)

    def _keep_for_retry(self, outcomes: list[Event]) -> None:
        excess = len(outcomes) - self.MAX_RETRY_OUTCOMES
        if excess > 0:
            self.outcomes_given_up += excess
            log.error(
                "%d transaction outcome(s) not recorded: the spool has been unwritable too long",
                excess,
            )
            outcomes = outcomes[excess:]
        self._retry = outcomes

    async def _submit(self, events: list[Event], *, wait: bool) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._run_writer(), name="translog-writer")
        fut = asyncio.get_running_loop().create_future() if wait else None
        self._pending.append((events, fut))
        self._wake.set()
        if wait:
            self._urgent.set()
        if fut is not None:
            await fut

    async def record_request(self, tx: Transaction) -> None:
        await self._submit([tx.request_event()], wait=True)

    async def record_refusal(self, tx: Transaction, status: int, reason: str) -> None:
        await self._submit([tx.request_event(), tx.response_event(status, 0, reason)], wait=True)

    async def record_outcome(self, tx: Transaction, status: int, nbytes: int) -> None:
        await self._submit([tx.response_event(status, nbytes, None)], wait=False)

    async def flush(self) -> None:
        """Write what is queued (outcomes) and stop the writer; called at shutdown."""
        if self._pending or self._retry:
            with contextlib.suppress(Unavailable):
                await self._submit([], wait=True)
        if self._retry:
            self.outcomes_given_up += len(self._retry)
            log.error("%d transaction outcome(s) not recorded at shutdown", len(self._retry))
            self._retry = []
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
