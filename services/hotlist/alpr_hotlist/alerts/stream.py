"""The RTCC live stream (344.3.2(a)): server-sent events, one per new alert.

A replica pushes the alerts it creates to its subscribers the moment their transaction commits
(in-process, no database round trip). Each subscriber tracks the last stream position it sent
(`Alert.seq`); a gap (an alert another replica created), a resume (`Last-Event-ID`) or a full
queue is filled from the database, and an idle stream polls it, so every alert reaches every
subscriber once, in order, whichever replica created it. The idle poll is one query per interval
for all of a replica's subscribers (`AlertBroadcaster.latest_seq`), and an alert is encoded once
whatever their number: a subscriber costs a queue put and its own socket write."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from opentelemetry import trace
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from alpr_common.db import Database
from alpr_hotlist import repository
from alpr_hotlist.schemas import AlertRead

_tracer = trace.get_tracer("alpr.hotlist.stream")

CATCH_UP_BATCH = 500
_PENDING = "hotlist_pending_alerts"
_HOOKED = "hotlist_publish_hooked"


# An alert as the stream sends it: its position and its encoded server-sent event.
Encoded = tuple[int, bytes]


class Subscriber:
    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Sequence[Encoded]] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def push(self, events: Sequence[Encoded]) -> None:
        try:
            self.queue.put_nowait(events)
        except asyncio.QueueFull:
            # A slow client: drop the in-process feed; it catches up from the database.
            self.overflowed = True

    def drain(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()


class AlertBroadcaster:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self.subscribers: set[Subscriber] = set()
        # The stream's last position in the database, read for all subscribers at once.
        self._latest = 0
        self._checked = -float("inf")
        self._checking: asyncio.Lock | None = None

    async def latest_seq(self, db: Database, max_age: float) -> int:
        """The stream's last position as of at most `max_age` seconds ago: one query per
        interval for every subscriber of this replica, however many there are. A subscriber
        whose cursor is behind it (another replica's alerts) catches up from the database."""
        if self._checking is None:
            self._checking = asyncio.Lock()
        async with self._checking:
            if time.monotonic() - self._checked >= max_age:
                async with db.read_sessionmaker() as session:
                    self._latest = max(self._latest, await repository.last_alert_seq(session))
                self._checked = time.monotonic()
        return self._latest

    def subscribe(self) -> Subscriber:
        sub = Subscriber(self.queue_size)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)

    def publish(self, payloads: list[dict[str, Any]]) -> None:
        """Each alert is encoded once, whatever the number of subscribers: a subscriber costs
        a queue put and its own socket write, not a JSON encoding per alert."""
        if payloads and self.subscribers:
            with _tracer.start_as_current_span(
                "alerts.publish",
                attributes={"alerts": len(payloads), "subscribers": len(self.subscribers)},
            ):
                events = tuple((int(p["seq"]), sse_event(p)) for p in payloads)
                self._latest = max(self._latest, max(seq for seq, _ in events))
                for sub in list(self.subscribers):
                    sub.push(events)

    def publish_after_commit(
        self, session: AsyncSession, payloads: Sequence[dict[str, Any]]
    ) -> None:
        """Publish once `session`'s outermost transaction commits; drop on its rollback."""
        sync = session.sync_session
        if _HOOKED not in sync.info:
            sync.info[_HOOKED] = True

            # Both events also fire for SAVEPOINTs (the intake runs each event in one): only
            # the outermost transaction decides.
            def committed(sess: Session) -> None:
                if sess.get_nested_transaction() is None:
                    self.publish(sess.info.pop(_PENDING, []))

            def rolled_back(sess: Session) -> None:
                if sess.get_nested_transaction() is None:
                    sess.info.pop(_PENDING, None)

            event.listen(sync, "after_commit", committed)
            event.listen(sync, "after_rollback", rolled_back)
        sync.info.setdefault(_PENDING, []).extend(payloads)


def alert_payload(alert: Any) -> dict[str, Any]:
    return AlertRead.model_validate(alert, from_attributes=True).model_dump(mode="json")


def sse_event(payload: dict[str, Any]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    return f"id: {payload['seq']}\nevent: alert\ndata: {data}\n\n".encode()


async def alert_events(
    *,
    db: Database,
    broadcaster: AlertBroadcaster,
    last_event_id: int | None,
    heartbeat_seconds: float,
    poll_seconds: float,
) -> AsyncIterator[bytes]:
    """The stream body: alerts after `last_event_id` (or from now), then live; heartbeats as
    comments so proxies keep an idle stream open."""
    sub = broadcaster.subscribe()
    try:
        if last_event_id is None:
            # Read-only sessions throughout: on SQLite they never wait for the write lock.
            async with db.read_sessionmaker() as session:
                cursor = await repository.last_alert_seq(session)
        else:
            cursor = last_event_id
        # A first line flushes the headers through proxies and tells clients how soon to retry.
        yield b"retry: 2000\n: stream open\n\n"
        need_db = last_event_id is not None
        now = time.monotonic()
        next_heartbeat = now + heartbeat_seconds
        next_poll = now + poll_seconds
        while True:
            if need_db or sub.overflowed:
                sub.overflowed = False
                sub.drain()
                async with db.read_sessionmaker() as session:
                    rows = await repository.alerts_after(session, cursor, CATCH_UP_BATCH)
                for alert in rows:
                    yield sse_event(alert_payload(alert))
                    cursor = alert.seq
                need_db = len(rows) == CATCH_UP_BATCH
                next_poll = time.monotonic() + poll_seconds
                if need_db:
                    continue
            timeout = max(0.0, min(next_heartbeat, next_poll) - time.monotonic())
            try:
                events: Sequence[Encoded] = await asyncio.wait_for(sub.queue.get(), timeout)
            except TimeoutError:
                events = ()
            ready: list[bytes] = []
            for seq, encoded in events:
                if seq <= cursor:
                    continue
                if seq != cursor + 1:
                    need_db = True  # another replica's alerts come first
                    break
                ready.append(encoded)
                cursor = seq
            if ready:
                # One write for the alerts of one commit; nothing waits for more.
                yield b"".join(ready)
            now = time.monotonic()
            if now >= next_heartbeat:
                yield b": heartbeat\n\n"
                next_heartbeat = now + heartbeat_seconds
            if now >= next_poll:
                # The poll is shared by the replica's subscribers; only one that is behind
                # (another replica's alerts, not pushed here) reads the alerts themselves.
                next_poll = now + poll_seconds
                if await broadcaster.latest_seq(db, poll_seconds) > cursor:
                    need_db = True
    finally:
        broadcaster.unsubscribe(sub)
