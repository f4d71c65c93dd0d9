"""Event intake (344.4(d)): every event, of any type, is appended once to the hash chain
(chain.py), whatever its shape; what was wrong with it is recorded with it."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from alpr_audit import facts, repository
from alpr_audit.chain import entry_hash, storable, storable_text
from alpr_audit.schemas import FLAG_PATTERN
from alpr_common.contracts import KNOWN_TYPES
from alpr_common.db import utcnow
from alpr_common.events import Event, EventBatchResult

log = logging.getLogger("alpr.audit")

MAX_PROBLEM_CHARS = 1000
_FLAG = re.compile(FLAG_PATTERN)


def _shape_problem(event_type: str, data: dict[str, Any]) -> str | None:
    model = KNOWN_TYPES.get(event_type)
    if model is None:
        return None
    try:
        model.model_validate(data)
    except ValidationError as exc:
        # loc and msg only: the offending values may be plate numbers or personal data.
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or 'data'}: {err['msg']}"
            for err in exc.errors()[:5]
        ]
        return f"data does not match {event_type}: " + "; ".join(parts)
    return None


def _utc_time(value: datetime, fallback: datetime, problems: list[str]) -> datetime:
    if value.tzinfo is None:
        problems.append("event time had no UTC offset; taken as UTC")
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        problems.append("event time out of range; the recording time stands in")
        return fallback


def _request_id(data: Mapping[str, Any]) -> str | None:
    value = data.get("request_id")
    return value if isinstance(value, str) and 1 <= len(value) <= 64 else None


def _status(event_type: str, data: Mapping[str, Any]) -> int | None:
    value = data.get("status")
    if event_type != repository.GATEWAY_RESPONSE or type(value) is not int:
        return None
    return value if 100 <= value <= 599 else None


def _flags(event_type: str, data: Mapping[str, Any]) -> str | None:
    value = data.get("flags")
    if event_type != repository.GATEWAY_REQUEST or not isinstance(value, list):
        return None
    flags = sorted({f for f in value if isinstance(f, str) and _FLAG.match(f)})
    return f",{','.join(flags)}," if flags else None


def _subject(event: Event, subject: str | None, data: Mapping[str, Any]) -> str | None:
    if subject is not None or event.type != repository.GATEWAY_REQUEST:
        return subject
    value = data.get("subject")
    return value if isinstance(value, str) and 1 <= len(value) <= 200 else None


_HEAD_KEY = "alpr_audit.chain_head"


@dataclass
class _Head:
    """This transaction's view of the chain head, which it holds locked."""

    transaction: SessionTransaction
    seq: int
    hash: str
    moved: bool = False


def _write_head_before_commit(sync_session: Session) -> None:
    # chain_head is written once per transaction, not once per event: on PostgreSQL, thousands
    # of updates of one row inside one transaction (each event in its own savepoint) leave a
    # version chain that every further update must walk.
    head: _Head | None = sync_session.info.get(_HEAD_KEY)
    if head is None or not head.moved or head.transaction is not sync_session.get_transaction():
        return
    sync_session.execute(
        update(repository.HEAD)
        .where(repository.HEAD.c.id == 1)
        .values(seq=head.seq, hash=head.hash, updated_at=utcnow())
    )
    head.moved = False


async def _head(session: AsyncSession) -> _Head:
    """The chain head, locked once per transaction: later events of the same transaction (a
    relay batch) reuse the lock and the head this transaction itself moved."""
    sync_session = session.sync_session
    transaction = sync_session.get_transaction()
    head: _Head | None = session.info.get(_HEAD_KEY)
    if head is not None and transaction is not None and head.transaction is transaction:
        return head
    seq, hash_ = await repository.lock_head(session)
    # Taken after the lock: a session begins its transaction at its first statement.
    transaction = sync_session.get_transaction()
    assert transaction is not None
    head = _Head(transaction, seq, hash_)
    session.info[_HEAD_KEY] = head
    if not sa_event.contains(sync_session, "before_commit", _write_head_before_commit):
        sa_event.listen(sync_session, "before_commit", _write_head_before_commit)
    return head


def storable_envelope(event: Event) -> Event:
    """The event with NUL characters and unpaired surrogates replaced in its id, source, type
    and subject, which the intake's processed-event table (text columns) cannot hold either.
    The replacement is the same on every delivery, so de-duplication still holds."""
    fields = {"id": event.id, "source": event.source, "type": event.type, "subject": event.subject}
    replaced: set[str] = set()
    clean = {k: storable_text(v, replaced) for k, v in fields.items() if v is not None}
    return event.model_copy(update=clean) if replaced else event


def _build_entry(event: Event, *, seq: int, prev_hash: str) -> dict[str, Any]:
    """The log entry for an event at `seq` after `prev_hash`, hashed (chain.py)."""
    replaced: set[str] = set()
    recorded_at = utcnow()
    event_id = storable_text(event.id, replaced)
    data = storable(event.data, replaced)
    source = storable_text(event.source, replaced)
    event_type = storable_text(event.type, replaced)
    subject = storable_text(event.subject, replaced) if event.subject is not None else None
    problems = sorted(replaced)
    shape = _shape_problem(event.type, data)
    if shape is not None:
        problems.append(shape)
    entry: dict[str, Any] = {
        "seq": seq,
        "event_id": event_id,
        "source": source,
        "type": event_type,
        "subject": _subject(event, subject, data),
        "occurred_at": _utc_time(event.time, recorded_at, problems),
        "recorded_at": recorded_at,
        "request_id": _request_id(data),
        "status": _status(event.type, data),
        "flags": _flags(event.type, data),
        "problem": "; ".join(problems)[:MAX_PROBLEM_CHARS] or None,
        "data": data,
        "prev_hash": prev_hash,
    }
    entry["hash"] = entry_hash(entry)
    return entry


def _log_recorded(entry: dict[str, Any]) -> None:
    if entry["problem"]:
        log.warning(
            "event recorded with a problem",
            extra={
                "event_id": entry["event_id"],
                "event_type": entry["type"],
                "seq": entry["seq"],
                "problem": entry["problem"],
            },
        )


async def record_event(session: AsyncSession, *, event: Event) -> int | None:
    """Append an event to the chain (344.4(d)); return its seq, or None if already recorded.

    Never refuses: an event that does not have its type's shape is recorded with `problem`."""
    head = await _head(session)
    entry = _build_entry(event, seq=head.seq + 1, prev_hash=head.hash)
    if not await repository.insert_entry(session, entry):
        return None
    head.seq, head.hash, head.moved = entry["seq"], entry["hash"], True
    _log_recorded(entry)
    await facts.apply(session, events=[event])
    return int(entry["seq"])


async def record_events(session: AsyncSession, *, events: Sequence[Event]) -> EventBatchResult:
    """The intake of a batch (344.4(d)): each event id once, in batch order, every type.

    The same outcome as the kernel's `consume` with `handle_event`, in a few statements per
    batch instead of a few per event. The log itself says which ids it holds (`event_id` is
    unique), so unlike `consume` no processed-event row is written: a delivery of the same
    events under way at once waits for the chain head (`_head`), then finds them logged."""
    envelopes = [storable_envelope(e) for e in events]
    head = await _head(session)
    already = await repository.logged_event_ids(session, [e.id for e in envelopes])
    entries: list[dict[str, Any]] = []
    logged: list[Event] = []
    seen: set[str] = set()
    for e in envelopes:
        if e.id in already or e.id in seen:
            continue
        seen.add(e.id)
        logged.append(e)
        entry = _build_entry(e, seq=head.seq + 1, prev_hash=head.hash)
        entries.append(entry)
        head.seq, head.hash = entry["seq"], entry["hash"]
    if not entries:
        return EventBatchResult(accepted=0, duplicates=len(events))
    await repository.insert_entries(session, entries)
    head.moved = True
    for entry in entries:
        _log_recorded(entry)
    # 344.6(b): the report's facts, from the same events, once each.
    await facts.apply(session, events=logged)
    return EventBatchResult(accepted=len(entries), duplicates=len(events) - len(entries))


async def handle_event(session: AsyncSession, event: Event) -> None:
    """The intake's event handler: every event, of any type, joins the log (344.4(d))."""
    await record_event(session, event=event)
