"""The process's group writer of fast-path messages (`reads._ingest_plain`): the reads of the
requests in flight written together, with their events built per group."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from alpr_common.auth import Principal
from alpr_common.db import Database, json_serializer, utcnow
from alpr_common.groupcommit import GroupCommit
from alpr_common.outbox import envelope
from alpr_ingest.events import read_events
from alpr_ingest.repository import reads as repo

log = logging.getLogger("alpr.ingest")


class ReadWriter(GroupCommit[repo.NewReads, bool]):
    """The process's writer of fast-path messages: those that arrive while a write is under way
    go together in the next one (`GroupCommit`). On PostgreSQL a group is one statement that
    commits by itself (the duplicate check, the reads and their outbox rows: one round trip);
    on SQLite one short transaction on the writers' connection. A message answers True once
    its reads are committed, False when one of them was already stored (the caller then takes
    the general path, which answers it as the duplicate or update it is).

    The group's events are built here, one pair per poster (`group_events`): the reads of all
    its messages to hotlist in one event, their scan counts to audit in one. A camera client
    fronting many cameras then costs one event per destination per write, not per message: the
    outbox rows, the relay's deliveries, hotlist's intake and audit's log entries. A message
    holding a read already stored leaves the group, and the rest is written again without it
    (a second round trip, only then)."""

    def __init__(
        self, db: Callable[[], Database], *, max_items: int = 256, linger: float = 0.0
    ) -> None:
        super().__init__(self._write, name="ingest-reads", max_items=max_items, linger=linger)
        self.db = db  # looked up per write: tests swap the app's database

    async def _write(self, units: list[repo.NewReads]) -> list[bool]:
        # A read in two messages of one group (a camera's retry racing its first post): the
        # later message waits for the general path, which finds the first one stored.
        seen: set[str] = set()
        chosen: list[int] = []
        for i, unit in enumerate(units):
            keys = {r["dedup_key"] for r in unit.rows}
            if keys.isdisjoint(seen):
                seen |= keys
                chosen.append(i)
        db = self.db()
        outbox: list[dict[str, Any]] = []
        while chosen:
            outbox = group_events([units[i] for i in chosen])
            try:
                hits = await repo.insert_new_reads(
                    db, [units[i] for i in chosen], outbox, now=utcnow()
                )
            except repo.ConcurrentInsert:
                log.info("a concurrent request stored a read of this group first; storing apart")
                return [False] * len(units)
            if not hits:
                break
            chosen = [i for j, i in enumerate(chosen) if j not in hits]
        if chosen and db.on_outbox_commit is not None:
            db.on_outbox_commit(Counter(e["destination"] for e in outbox))
        stored = set(chosen)
        return [i in stored for i in range(len(units))]


def group_events(units: list[repo.NewReads]) -> list[dict[str, Any]]:
    """The outbox rows of a group's events: per poster, the events of all its messages' reads
    (`events.read_events`) as one message's would be."""
    by_poster: dict[str, tuple[Principal, list[dict[str, Any]]]] = {}
    for unit in units:
        by_poster.setdefault(unit.principal.subject, (unit.principal, []))[1].extend(unit.rows)
    return [
        {"event_id": e.id, "destination": d, "envelope": json_serializer(envelope(e))}
        for principal, rows in by_poster.values()
        for d, e in read_events(principal, rows, [], [])
    ]
