"""The audit service's rules: append every event to the hash chain, verify the chain, sign
checkpoints of its head, and read the log back for auditors."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import event as sa_event
from sqlalchemy import update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from alpr_audit import repository
from alpr_audit.chain import (
    GENESIS_HASH,
    Anchor,
    ChainVerifier,
    entry_hash,
    storable,
    storable_text,
)
from alpr_audit.checkpoints import ALGORITHM, CheckpointStore, LoadedCheckpoint, public_pem
from alpr_audit.errors import ChainBroken, CheckpointKeyUnavailable, LogEntryNotFound
from alpr_audit.models import OUTBOX
from alpr_audit.schemas import (
    FLAG_PATTERN,
    BrokenEntryRead,
    CheckpointKeyRead,
    CheckpointProblemRead,
    CheckpointRead,
    HeadRead,
    LogEntryQuery,
    LogEntryRead,
    LogVerificationRead,
    Page,
    TransactionQuery,
    TransactionRead,
)
from alpr_common.contracts import KNOWN_TYPES
from alpr_common.db import utcnow
from alpr_common.events import Event, EventBatchResult
from alpr_common.outbox import claim

log = logging.getLogger("alpr.audit")
# A request is answered within the gateway's upstream timeout; one still without an outcome after
# this long lost it (or is a stream still open).
OUTCOME_GRACE = timedelta(minutes=5)

MAX_PROBLEM_CHARS = 1000
_FLAG = re.compile(FLAG_PATTERN)


# ----------------------------------------------------------------------------- intake


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
    return int(entry["seq"])


async def record_events(session: AsyncSession, *, events: Sequence[Event]) -> EventBatchResult:
    """The intake of a batch (344.4(d)): each event id once, in batch order, every type.

    The same outcome as the kernel's `consume` with `handle_event`, in a few statements per
    batch instead of a few per event: ids are claimed in processed_event in bulk, and entries,
    which are never refused, need no savepoint each."""
    envelopes = [storable_envelope(e) for e in events]
    claimed = await claim(session, OUTBOX, envelopes)
    fresh = [e for e in envelopes if e.id in claimed]
    if not fresh:
        return EventBatchResult(accepted=0, duplicates=len(events))
    head = await _head(session)
    already = await repository.logged_event_ids(session, [e.id for e in fresh])
    entries: list[dict[str, Any]] = []
    seen: set[str] = set()
    for e in fresh:
        if e.id in already or e.id in seen:
            continue
        seen.add(e.id)
        entry = _build_entry(e, seq=head.seq + 1, prev_hash=head.hash)
        entries.append(entry)
        head.seq, head.hash = entry["seq"], entry["hash"]
    await repository.insert_entries(session, entries)
    if entries:
        head.moved = True
    for entry in entries:
        _log_recorded(entry)
    return EventBatchResult(accepted=len(entries), duplicates=len(events) - len(entries))


async def handle_event(session: AsyncSession, event: Event) -> None:
    """The intake's event handler: every event, of any type, joins the log (344.4(d))."""
    await record_event(session, event=event)


# ----------------------------------------------------------------------------- verification


async def _end_read_transaction(session: AsyncSession) -> None:
    # SQLite transactions here begin IMMEDIATE and so hold the one write lock: a long walk
    # releases it between pages so that intake keeps going. The log is append-only, so the
    # next page continues where this one stopped.
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.commit()


def checkpoint_read(loaded: LoadedCheckpoint) -> CheckpointRead:
    cp = loaded.checkpoint
    return CheckpointRead(
        file=loaded.file,
        seq=cp.seq if cp else None,
        hash=cp.hash if cp else None,
        at=cp.at if cp else None,
        key_id=loaded.key_id,
        signature_valid=loaded.valid,
    )


async def verify_log(
    session: AsyncSession, *, store: CheckpointStore, checkpoint_count: int, page_size: int
) -> LogVerificationRead:
    """Recompute the whole chain, streaming, and hold it against the chain head and the newest
    signed checkpoints; name the first broken entry."""
    problems: list[CheckpointProblemRead] = []
    anchors: list[Anchor] = []
    files: dict[str, str] = {}
    try:
        checkpoints = store.latest(checkpoint_count)
    except CheckpointKeyUnavailable as exc:
        checkpoints = []
        problems.append(
            CheckpointProblemRead(
                file=str(store.directory), seq=None, problem="unknown_key", detail=exc.detail
            )
        )
    for loaded in checkpoints:
        if loaded.problem is not None:
            problems.append(
                CheckpointProblemRead(
                    file=loaded.file,
                    seq=loaded.checkpoint.seq if loaded.checkpoint else None,
                    problem=loaded.problem,
                    detail=loaded.detail,
                )
            )
        elif loaded.checkpoint is not None:
            label = f"checkpoint {loaded.file}"
            files[label] = loaded.file
            anchors.append(Anchor(label, loaded.checkpoint.seq, loaded.checkpoint.hash))
    head = await repository.get_head(session)
    if head is not None:
        anchors.append(Anchor("chain head", head[0], head[1]))
    verifier = ChainVerifier(anchors=anchors)
    async for rows in repository.iter_entry_pages(session, page_size=page_size):
        for row in rows:
            verifier.feed(row._mapping)
        await _end_read_transaction(session)
    verifier.finish()
    head_problem = None
    for ap in verifier.anchor_problems:
        if ap.anchor.label == "chain head":
            head_problem = ap.detail
            continue
        problems.append(
            CheckpointProblemRead(
                file=files[ap.anchor.label],
                seq=ap.anchor.seq,
                problem=ap.kind,
                detail=ap.detail,
            )
        )
    brk = verifier.first_break
    latest_valid = next((c for c in checkpoints if c.valid), None)
    result = LogVerificationRead(
        ok=verifier.ok and not problems and head_problem is None,
        verified_at=utcnow(),
        entries_checked=verifier.checked,
        last_seq=verifier.last_seq,
        last_hash=verifier.last_hash,
        broken_entries=verifier.broken,
        first_broken=BrokenEntryRead(
            seq=brk.seq,
            event_id=brk.event_id,
            problem=brk.kind,
            detail=brk.detail,
            expected_seq=brk.expected_seq,
        )
        if brk
        else None,
        head=HeadRead(seq=head[0], hash=head[1]) if head is not None else None,
        head_problem=head_problem,
        checkpoints_checked=len(checkpoints),
        checkpoint_problems=problems,
        latest_checkpoint=checkpoint_read(latest_valid) if latest_valid else None,
        # 344.4(d): a request whose outcome never reached the log is a hole; count them.
        requests_without_outcome=await repository.count_requests_without_outcome(
            session, before=utcnow() - OUTCOME_GRACE
        ),
    )
    if not result.ok:
        log.error(
            "transaction log verification failed",
            extra={
                "first_broken_seq": brk.seq if brk else None,
                "broken_entries": verifier.broken,
                "checkpoint_problems": len(problems),
                "head_problem": head_problem,
            },
        )
    return result


async def write_checkpoint(
    session: AsyncSession, *, store: CheckpointStore, page_size: int, force: bool = False
) -> CheckpointRead | None:
    """Sign the chain's tail after verifying the entries since the last valid checkpoint;
    None when nothing was appended since (unless `force`). ChainBroken if they do not verify."""
    previous = store.latest_valid()
    tail = await repository.last_entry(session)
    tail_seq, tail_hash = tail if tail is not None else (0, GENESIS_HASH)
    start_seq, start_hash = 0, GENESIS_HASH
    if previous is not None and previous.checkpoint is not None:
        cp = previous.checkpoint
        if cp.seq > tail_seq:
            raise ChainBroken(
                f"{previous.file} fixes seq {cp.seq}, but the log ends at seq {tail_seq}: "
                "entries were deleted; run `python -m alpr_audit verify`"
            )
        if cp.seq > 0:
            row = await repository.entry_by_seq(session, cp.seq)
            if row is None or row.hash != cp.hash:
                raise ChainBroken(
                    f"log entry {cp.seq} no longer has the hash {previous.file} signed; "
                    "run `python -m alpr_audit verify`"
                )
        if cp.seq == tail_seq and not force:
            return None
        start_seq, start_hash = cp.seq, cp.hash
    verifier = ChainVerifier(start_seq=start_seq + 1, prev_hash=start_hash)
    async for rows in repository.iter_entry_pages(
        session, after_seq=start_seq, upto_seq=tail_seq, page_size=page_size
    ):
        for row in rows:
            verifier.feed(row._mapping)
        await _end_read_transaction(session)
    verifier.finish()
    brk = verifier.first_break
    if brk is not None:
        raise ChainBroken(
            f"no checkpoint signed: log entry {brk.seq} (event {brk.event_id}) is broken: "
            f"{brk.kind}: {brk.detail}"
        )
    if start_seq < tail_seq and verifier.last_seq != tail_seq:
        raise ChainBroken(f"log entries up to {tail_seq} could not be read back in order")
    written = store.write(seq=tail_seq, hash=tail_hash, at=utcnow())
    log.info("checkpoint signed", extra={"seq": tail_seq, "file": written.file})
    return checkpoint_read(written)


def list_checkpoints(*, store: CheckpointStore, limit: int) -> list[CheckpointRead]:
    return [checkpoint_read(c) for c in store.latest(limit)]


def checkpoint_keys(*, store: CheckpointStore) -> list[CheckpointKeyRead]:
    return [
        CheckpointKeyRead(
            key_id=kid, algorithm=ALGORITHM, current=current, public_key_pem=public_pem(key)
        )
        for kid, (key, current) in store.trusted_keys().items()
    ]


# ----------------------------------------------------------------------------- reading


def _entry_read(row: Row[Any]) -> LogEntryRead:
    m = row._mapping
    return LogEntryRead(
        seq=m["seq"],
        event_id=m["event_id"],
        source=m["source"],
        type=m["type"],
        subject=m["subject"],
        occurred_at=m["occurred_at"],
        recorded_at=m["recorded_at"],
        request_id=m["request_id"],
        status=m["status"],
        flags=_split_flags(m["flags"]),
        problem=m["problem"],
        data=m["data"] if isinstance(m["data"], dict) else {"value": m["data"]},
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


def _split_flags(flags: str | None) -> list[str]:
    return [f for f in (flags or "").split(",") if f]


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if type(value) is int else None


def _float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _str_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def list_log_entries(session: AsyncSession, *, query: LogEntryQuery) -> Page[LogEntryRead]:
    rows, total = await repository.list_entries(session, query)
    return Page[LogEntryRead](
        items=[_entry_read(r) for r in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )


async def get_log_entry(session: AsyncSession, *, seq: int) -> LogEntryRead:
    row = await repository.entry_by_seq(session, seq)
    if row is None:
        raise LogEntryNotFound(f"no log entry with seq {seq}")
    return _entry_read(row)


def _transaction_read(row: Row[Any]) -> TransactionRead:
    m = row._mapping
    req: Mapping[str, Any] = m["data"] if isinstance(m["data"], dict) else {}
    resp: Mapping[str, Any] = m["resp_data"] if isinstance(m["resp_data"], dict) else {}
    return TransactionRead(
        request_id=m["request_id"],
        request_seq=m["seq"],
        response_seq=m["resp_seq"],
        requested_at=m["occurred_at"],
        subject=m["subject"],
        roles=_str_list(req, "roles"),
        source_address=_str(req, "source_address"),
        method=_str(req, "method"),
        path=_str(req, "path"),
        query=_str(req, "query"),
        purpose=_str(req, "purpose"),
        case_number=_str(req, "case_number"),
        reason=_str(req, "reason"),
        criminal_nexus=_str(req, "criminal_nexus"),
        flags=_split_flags(m["flags"]),
        status=m["resp_status"],
        bytes=_int(resp, "bytes"),
        latency_ms=_float(resp, "latency_ms"),
        refused_reason=_str(resp, "refused_reason"),
    )


async def list_transactions(
    session: AsyncSession, *, query: TransactionQuery
) -> Page[TransactionRead]:
    rows, total = await repository.list_transactions(session, query)
    return Page[TransactionRead](
        items=[_transaction_read(r) for r in rows],
        total=total,
        page=query.page,
        page_size=query.page_size,
    )
