"""Verifying the hash chain (344.4(d)): on demand, against the chain head and the newest
signed checkpoints, and before a new checkpoint is signed over the entries since the last."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from fastapi import FastAPI
from prometheus_client import Counter, Gauge
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_audit.chain import GENESIS_HASH, Anchor, ChainVerifier
from alpr_audit.checkpoints import CheckpointStore, checkpoint_read
from alpr_audit.errors import ChainBroken, CheckpointKeyUnavailable
from alpr_audit.schemas import (
    BrokenEntryRead,
    CheckpointProblemRead,
    CheckpointRead,
    HeadRead,
    LogVerificationRead,
)
from alpr_common.db import utcnow
from alpr_common.metrics import gauge

log = logging.getLogger("alpr.audit")
# A request is answered within the gateway's upstream timeout; one still without an outcome after
# this long lost it (or is a stream still open).
OUTCOME_GRACE = timedelta(minutes=5)

VERIFICATIONS = Counter(
    "alpr_audit_chain_verifications_total",
    "Hash-chain verifications in this process, by kind (full: the whole log against the head "
    "and checkpoints; checkpoint: the entries since the last checkpoint, before signing) and "
    "result (ok, failed).",
    ["kind", "result"],
)
LAST_RESULT = Gauge(
    "alpr_audit_chain_verification_ok",
    "Result of the latest verification in this service (1 ok, 0 failed), by kind.",
    ["kind"],
    multiprocess_mode="mostrecent",
)
LAST_TIME = Gauge(
    "alpr_audit_chain_verification_timestamp_seconds",
    "When the latest verification finished (Unix time), by kind.",
    ["kind"],
    multiprocess_mode="mostrecent",
)


def _record(kind: str, ok: bool) -> None:
    VERIFICATIONS.labels(kind, "ok" if ok else "failed").inc()
    LAST_RESULT.labels(kind).set(1 if ok else 0)
    LAST_TIME.labels(kind).set(time.time())


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
    _record("full", result.ok)
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
    try:
        written = await _write_checkpoint(session, store=store, page_size=page_size, force=force)
    except ChainBroken:
        _record("checkpoint", False)
        raise
    _record("checkpoint", True)
    return written


async def _write_checkpoint(
    session: AsyncSession, *, store: CheckpointStore, page_size: int, force: bool
) -> CheckpointRead | None:
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


async def checkpoint_metrics(app: FastAPI) -> list[Metric]:
    """Metrics probe: the newest valid signed checkpoint (files, whoever wrote them: the
    service's own writer or the CronJob) against the head of the log."""
    store: CheckpointStore = app.state.checkpoints
    latest = store.latest_valid()
    async with app.state.db.read_sessionmaker() as session:
        head = await repository.get_head(session)
    families: list[Metric] = [
        gauge(
            "alpr_audit_log_head_seq",
            "Sequence number of the newest log entry (the chain head).",
            [({}, head[0] if head is not None else 0)],
        )
    ]
    if latest is not None and latest.checkpoint is not None:
        cp = latest.checkpoint
        signed_at = datetime.fromisoformat(cp.at)
        families += [
            gauge(
                "alpr_audit_checkpoint_age_seconds",
                "Age of the newest valid signed checkpoint (absent: none exists).",
                [({}, (utcnow() - signed_at).total_seconds())],
            ),
            gauge(
                "alpr_audit_checkpoint_seq",
                "Log sequence number the newest valid checkpoint fixes.",
                [({}, cp.seq)],
            ),
        ]
    return families
