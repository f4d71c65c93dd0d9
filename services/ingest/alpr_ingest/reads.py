"""The read write path: camera checks, normalisation to stored rows, de-duplication and the
preview-then-final upsert, bulk storage, and the events (the heartbeats that come with reads go to
`cameras`).

A read is acknowledged only after the request's transaction commits (SessionDep commits before
the response), so a camera that got a 2xx may forget the read and one that got an error retries;
retries are harmless because the same read is stored once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson
from asyncpg.pgproto.pgproto import UUID as _FastUUID
from prometheus_client import Counter as PromCounter
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auth import Principal
from alpr_common.db import Database, is_postgresql, request_transaction
from alpr_ingest import partitions, vehicles
from alpr_ingest.adapters import AdapterResult
from alpr_ingest.cameras import apply_heartbeats, bound
from alpr_ingest.deps import Runtime
from alpr_ingest.errors import BatchRefused, CameraNotBound
from alpr_ingest.events import emit_routed, read_events
from alpr_ingest.plates import fold_confusable
from alpr_ingest.repository import cameras as camera_repo
from alpr_ingest.repository import reads as repo
from alpr_ingest.repository.cameras import CameraSite
from alpr_ingest.schemas import ReadIn

log = logging.getLogger("alpr.ingest")

_STATE_RANK = {"preview": 1, "final": 2, None: 2}
# A vendor id posted again within this window of the first capture time is the same read.
_DEDUP_WINDOW = timedelta(days=2)


def _iso(moment: datetime) -> str:
    """`moment.isoformat()` for an aware UTC datetime, written by orjson: the same text (RFC
    3339, `+00:00`, no fraction when the microseconds are 0) at a third of the cost."""
    return orjson.dumps(moment)[1:-1].decode()


def dedup_key(camera_id: str, read: ReadIn) -> str:
    """The identity of a read: the vendor's id on that camera, else camera + plate + time."""
    if read.vendor_read_id:
        basis = f"v\x1f{camera_id}\x1f{read.vendor_read_id}"
    else:
        basis = f"p\x1f{camera_id}\x1f{read.plate}\x1f{_iso(read.captured_at)}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def _alias_keys(camera_id: str, read: ReadIn) -> list[str]:
    # OpenALPR: a final group's uuids include its preview's first uuid, which keyed the preview.
    keys = [dedup_key(camera_id, read)]
    if not read.related_ids:
        return keys
    for rid in read.related_ids:
        basis = f"v\x1f{camera_id}\x1f{rid}"
        keys.append(hashlib.sha256(basis.encode("utf-8")).hexdigest())
    return list(dict.fromkeys(keys))


def _rank(
    group_state: str | None, related_count: int, confidence: float | None
) -> tuple[int, int, float]:
    return (_STATE_RANK.get(group_state, 2), related_count, confidence or 0.0)


def _read_rank(read: ReadIn) -> tuple[int, int, float]:
    return _rank(read.group_state, len(read.related_ids), read.confidence)


@dataclass
class _Pending:
    row: dict[str, Any]
    status: str  # stored | updated
    image: str | None = None
    previous_captured_at: datetime | None = None
    # The read's other identities (its related ids), kept as read aliases.
    aliases: list[str] = field(default_factory=list)


@dataclass
class _Outcomes:
    # Plain dicts shaped as ReadOutcome and RejectionRead: a batch has up to 1,000 of them.
    reads: list[dict[str, Any]] = field(default_factory=list)
    rejections: list[dict[str, Any]] = field(default_factory=list)
    unbound: int = 0
    # Stored reads merged into a read of this batch (OpenALPR frames under their group).
    superseded: list[repo.StoredRead] = field(default_factory=list)


def _reject(out: _Outcomes, index: int | None, read: ReadIn | None, where: str, why: str) -> None:
    out.rejections.append(
        {
            "index": index,
            "vendor_read_id": read.vendor_read_id if read else None,
            "field": where,
            "reason": why,
        }
    )


def _indices(result: AdapterResult) -> list[int | None]:
    """Position in the message of each accepted read, for formats whose items are a list."""
    if result.format not in ("native", "genetec"):
        return [None] * len(result.reads)
    taken = {r.index for r in result.rejected if r.index is not None}
    out: list[int | None] = []
    i = 0
    for _ in result.reads:
        while i in taken:
            i += 1
        out.append(i)
        i += 1
    return out


def _new_read_ids(n: int) -> Iterator[uuid.UUID]:
    """Random (version 4) UUIDs as asyncpg's C UUID, a uuid.UUID subclass that is made twice as
    fast and turned into text (outcome, event) twenty times as fast as uuid.uuid4()'s; the
    random bytes of a whole batch come from one system call."""
    raw = bytearray(os.urandom(16 * n))
    for i in range(0, 16 * n, 16):
        raw[i + 6] = (raw[i + 6] & 0x0F) | 0x40
        raw[i + 8] = (raw[i + 8] & 0x3F) | 0x80
        yield _FastUUID(bytes(raw[i : i + 16]))


@dataclass(slots=True)
class _BatchContext:
    """What every row of one message shares, computed once per batch rather than per read."""

    rt: Runtime
    received_at: datetime
    skew_threshold: timedelta
    posted_by: str
    read_ids: Iterator[uuid.UUID]
    # Per camera: the columns a read takes from its site, built once.
    sites: dict[str, dict[str, Any]] = field(default_factory=dict)

    def site(self, camera: CameraSite) -> dict[str, Any]:
        site = self.sites.get(camera.id)
        if site is None:
            site = self.sites[camera.id] = {
                "camera_id": camera.id,
                "camera_type": camera.camera_type,
                "zip_code": camera.zip_code,
                "sector": camera.sector,
                "lat": camera.lat,
                "lon": camera.lon,
            }
        return site


def _row(read: ReadIn, camera: CameraSite, ctx: _BatchContext, key: str) -> dict[str, Any]:
    site = ctx.site(camera)
    captured_at = read.captured_at
    # normalize.clock_skew, inlined: both times are aware (ReadIn and the runtime clock).
    skew = captured_at - ctx.received_at
    threshold = ctx.skew_threshold
    plate = read.plate
    vehicle = read.vehicle.model_dump(exclude_none=True) if read.vehicle else None
    row = {
        "read_id": next(ctx.read_ids),
        "captured_at": captured_at,
        "received_at": ctx.received_at,
        "plate": plate,
        "plate_key": fold_confusable(plate),
        "plate_raw": read.plate_raw,
        "region": read.region,
        "confidence": read.confidence,
        "candidates": [
            {"plate": c["plate"], "confidence": c.get("confidence")} for c in read.candidates
        ],
        **site,
        "vehicle": vehicle,
        **vehicles.columns(vehicle),
        "image_sha256": None,
        "source": read.source,
        "vendor_read_id": read.vendor_read_id,
        "group_state": read.group_state,
        "related_count": len(read.related_ids),
        "dedup_key": key,
        "device_time": read.device_time or _iso(captured_at),
        "clock_skew_seconds": round(skew.total_seconds(), 3),
        "clock_flagged": skew > threshold or -skew > threshold,
        "posted_by": ctx.posted_by,
    }
    if site["camera_type"] == "vehicle":
        # A vehicle-mounted camera: where the car was, and the zone that point falls in.
        assert read.position is not None
        lat, lon = read.position.lat, read.position.lon
        row["lat"], row["lon"] = lat, lon
        row["zip_code"], row["sector"] = ctx.rt.boundaries.locate(lat, lon)
    return row


@dataclass(frozen=True, slots=True)
class _Window:
    """The capture times a message may carry, from its receive time (computed once)."""

    latest: datetime  # beyond it: a clock ahead of the allowed skew
    earliest: datetime  # before it: past the retention window

    @classmethod
    def of(cls, rt: Runtime, now: datetime) -> _Window:
        return cls(
            latest=now + timedelta(seconds=rt.settings.max_future_skew_seconds),
            earliest=now - timedelta(days=rt.settings.retention_days),
        )


def _problem(
    read: ReadIn, camera: CameraSite, *, rt: Runtime, now: datetime, window: _Window
) -> tuple[str, str] | None:
    """Why a well-formed read cannot be stored, as (field, reason), or None."""
    if camera.status != "active":
        return "camera", f"camera {camera.id!r} is {camera.status}, not active"
    if read.captured_at > window.latest:
        ahead = read.captured_at - now
        return (
            "captured_at",
            f"capture time is {int(ahead.total_seconds())} s in the future, beyond the allowed "
            f"{rt.settings.max_future_skew_seconds} s clock skew; fix the camera clock",
        )
    if read.captured_at < window.earliest:
        return (
            "captured_at",
            f"captured more than {rt.settings.retention_days} days ago, past the retention "
            "window (344.4(d)); it would be purged at once",
        )
    if camera.camera_type == "vehicle" and read.position is None:
        return "position", "a vehicle-mounted camera's read must carry its GPS position (344.2(a))"
    return None


async def ingest(
    db: Database,
    *,
    rt: Runtime,
    principal: Principal,
    result: AdapterResult,
    atomic: bool = False,
) -> dict[str, Any]:
    """Store what one message carried; see the module docstring for the guarantees.

    A message of a few new reads takes the fast path (`_ingest_plain`): written with those of
    other requests in flight, in no transaction of its own. Otherwise the message gets a
    transaction of its own (`request_transaction`, committed before the answer). If a
    concurrent request stored one of its reads after it looked, the bulk write fails; the
    transaction is then rolled back and the message stored again the careful way, which
    answers that read as the duplicate it is."""
    if rt.writer is not None and _plain(result):
        answer = await _ingest_plain(db, rt=rt, principal=principal, result=result, atomic=atomic)
        if answer is not None:
            _count(result.format, answer)
            return answer
    try:
        async with request_transaction(db) as session:
            try:
                outcome = await _ingest(
                    session, rt=rt, principal=principal, result=result, atomic=atomic, careful=False
                )
            except repo.ConcurrentInsert:
                log.info("a concurrent request stored a read of this batch first; storing again")
                await session.rollback()
                outcome = await _ingest(
                    session, rt=rt, principal=principal, result=result, atomic=atomic, careful=True
                )
    except BatchRefused as exc:
        total = len(result.reads) + len(result.rejected)
        _count_refused(result.format, exc.extra.get("rejections", []), total)
        raise
    _count(result.format, outcome)
    return outcome


READS_COUNTED = PromCounter(
    "alpr_ingest_reads_total",
    "Reads received, by source format and outcome: stored (new), updated (a later message "
    "about the same vehicle pass), duplicate (already stored), rejected.",
    ["format", "outcome"],
)
READS_REJECTED = PromCounter(
    "alpr_ingest_reads_rejected_total",
    "Reads refused, by source format and reason: the field that was wrong (`camera`: unknown "
    "or not bound), or `batch_refused` for the valid reads of a refused atomic batch.",
    ["format", "reason"],
)
_INDEX_IN_PATH = re.compile(r"\[\d+\]|\.\d+(?=\.|$)|^\d+\.?")
_REASON_OK = re.compile(r"^[A-Za-z0-9_.-]{1,48}$")


def _reason_label(field: Any) -> str:
    """A bounded label from a rejection's field: list positions dropped, odd names folded."""
    name = _INDEX_IN_PATH.sub("", str(field or ""))
    return name if _REASON_OK.match(name) else "other"


def _count(fmt: str, outcome: dict[str, Any]) -> None:
    for status in ("stored", "updated", "duplicate", "rejected"):
        if outcome[status]:
            READS_COUNTED.labels(fmt, status).inc(outcome[status])
    for rejection in outcome["rejections"]:
        READS_REJECTED.labels(fmt, _reason_label(rejection["field"])).inc()


def _count_refused(fmt: str, rejections: list[dict[str, Any]], total: int) -> None:
    """An atomic batch refused: every read of it is rejected, the valid ones as `batch_refused`."""
    READS_COUNTED.labels(fmt, "rejected").inc(total)
    for rejection in rejections:
        READS_REJECTED.labels(fmt, _reason_label(rejection.get("field"))).inc()
    refused = total - len(rejections)
    if refused > 0:
        READS_REJECTED.labels(fmt, "batch_refused").inc(refused)


async def _ingest(
    session: AsyncSession,
    *,
    rt: Runtime,
    principal: Principal,
    result: AdapterResult,
    atomic: bool,
    careful: bool,
) -> dict[str, Any]:
    out = _rejected(result)
    notes = list(result.ignored)
    heartbeats = await apply_heartbeats(
        session, principal=principal, beats=result.heartbeats, notes=notes
    )
    cameras = await camera_repo.camera_sites(session, {r.camera for r in result.reads})
    window = _Window.of(rt, result.received_at)
    accepted = _accept(result, cameras, rt=rt, principal=principal, window=window, out=out)
    _refuse(out, accepted, atomic=atomic)
    planned = await _plan(
        session,
        rt=rt,
        principal=principal,
        accepted=accepted,
        received_at=result.received_at,
        latest=window.latest,
        out=out,
    )
    stored, updated = await _store(session, rt=rt, planned=planned, out=out, careful=careful)
    await emit_routed(session, read_events(principal, stored, updated, out.superseded))
    if out.superseded:
        notes.append(
            f"{len(out.superseded)} earlier read(s) of the same vehicle pass merged into this "
            "message's read and removed"
        )
    return _answer(result, out, principal=principal, notes=notes, heartbeats=heartbeats)


def _rejected(result: AdapterResult) -> _Outcomes:
    out = _Outcomes()
    for r in result.rejected:
        out.rejections.append(
            {"index": r.index, "vendor_read_id": r.vendor_id, "field": r.field, "reason": r.reason}
        )
    return out


def _accept(
    result: AdapterResult,
    cameras: dict[str, CameraSite],
    *,
    rt: Runtime,
    principal: Principal,
    window: _Window,
    out: _Outcomes,
) -> list[tuple[int | None, ReadIn, CameraSite]]:
    """The reads that may be stored, with their position and camera; the others rejected."""
    accepted: list[tuple[int | None, ReadIn, CameraSite]] = []
    for index, read in zip(_indices(result), result.reads, strict=True):
        camera = cameras.get(read.camera)
        if camera is None:
            _reject(
                out,
                index,
                read,
                "camera",
                f"unknown camera {read.camera!r}: register it or map this vendor key to a "
                "camera (POST /v1/ingest/cameras)",
            )
            continue
        if not bound(principal, camera, read.camera):
            out.unbound += 1
            _reject(out, index, read, "camera", f"this client is not bound to camera {camera.id!r}")
            continue
        problem = _problem(read, camera, rt=rt, now=result.received_at, window=window)
        if problem is not None:
            _reject(out, index, read, *problem)
            continue
        accepted.append((index, read, camera))
    return accepted


def _refuse(out: _Outcomes, accepted: list[Any], *, atomic: bool) -> None:
    """Refuse the whole message: an atomic batch with a rejected read, or a client posting only
    for cameras it is not bound to."""
    if atomic and out.rejections:
        raise BatchRefused(
            "atomic batch refused, nothing was stored: fix every listed read and resend",
            extra={"rejections": out.rejections},
        )
    if out.unbound and not accepted and out.unbound == len(out.rejections):
        raise CameraNotBound(
            "this camera client is not bound to the camera(s) it posted for; ask the Chief "
            "Security Officer to bind them"
        )


def _answer(
    result: AdapterResult,
    out: _Outcomes,
    *,
    principal: Principal,
    notes: list[str],
    heartbeats: int,
) -> dict[str, Any]:
    counts = Counter(o["status"] for o in out.reads)
    # A line per batch at INFO; messages of a few reads (vendor webhooks, one read a post) at
    # DEBUG: at a thousand posts a second their lines were most of the log and a fiftieth of
    # ingest's CPU. `alpr_ingest_reads_total` counts them all.
    level = logging.INFO if len(result.reads) > FAST_PATH_MAX_READS else logging.DEBUG
    if result.reads and log.isEnabledFor(level):
        log.log(
            level,
            "reads ingested",
            extra={
                "format": result.format,
                "stored": counts["stored"],
                "updated": counts["updated"],
                "duplicate": counts["duplicate"],
                "rejected": len(out.rejections),
                "subject": principal.subject,
            },
        )
    return {
        "stored": counts["stored"],
        "updated": counts["updated"],
        "duplicate": counts["duplicate"],
        "rejected": len(out.rejections),
        "ignored": len(result.ignored),
        "heartbeats": heartbeats,
        "reads": out.reads,
        "rejections": out.rejections,
        "notes": notes,
    }


# --- the fast path: messages of a few new reads, written in groups ----------------------------

# Messages of up to this many reads take the fast path (vendor webhooks carry one or a few);
# larger batches are written by COPY (`_store`), cheaper per read.
FAST_PATH_MAX_READS = 16


def _plain(result: AdapterResult) -> bool:
    """A message the fast path takes: a few reads, no heartbeat, no read linked to others."""
    return (
        0 < len(result.reads) <= FAST_PATH_MAX_READS
        and not result.heartbeats
        and all(not r.related_ids for r in result.reads)
    )


async def _sites(db: Database, rt: Runtime, refs: set[str]) -> dict[str, CameraSite]:
    """Camera sites from the process's cache; the rest read outside any write transaction."""

    async def fetch(wanted: list[str]) -> dict[str, CameraSite]:
        async with db.read_sessionmaker() as session:
            return await camera_repo.camera_sites(session, wanted)

    return await rt.camera_sites.sites(refs, fetch)


async def _ingest_plain(
    db: Database, *, rt: Runtime, principal: Principal, result: AdapterResult, atomic: bool
) -> dict[str, Any] | None:
    """Store a message of a few reads believed new (none linked to another) with the reads of
    other requests in flight, in one write (`writer.ReadWriter`); None when the message needs the
    general path: one of its reads is already stored, or its capture day has no partition
    known to exist yet. Answered, like the general path, only once the reads are committed."""
    out = _rejected(result)
    window = _Window.of(rt, result.received_at)
    cameras = await _sites(db, rt, {r.camera for r in result.reads})
    accepted = _accept(result, cameras, rt=rt, principal=principal, window=window, out=out)
    _refuse(out, accepted, atomic=atomic)
    if accepted:
        if db.dialect == "postgresql" and any(
            read.captured_at.date() not in rt.partition_days for _, read, _ in accepted
        ):
            return None
        keys = [dedup_key(camera.id, read) for _, read, camera in accepted]
        if len(set(keys)) < len(keys):
            return None  # the same read twice in one message: the general path merges them
        ctx = _BatchContext(
            rt=rt,
            received_at=result.received_at,
            skew_threshold=timedelta(seconds=rt.settings.clock_skew_seconds),
            posted_by=principal.subject,
            read_ids=_new_read_ids(len(accepted)),
        )
        rows = []
        windows = []
        for (_, read, camera), key in zip(accepted, keys, strict=True):
            row = _row(read, camera, ctx, key)
            if read.image is not None:
                row["image_sha256"] = rt.images.put_base64(read.image)
            rows.append(row)
            at = read.captured_at
            windows.append((at - _DEDUP_WINDOW, min(at + _DEDUP_WINDOW, window.latest)))
        unit = repo.NewReads(
            rows=rows,
            windows=windows,
            # Vendor reads may be another identity of a stored read (a read alias).
            check_aliases=any(read.source != "native" for _, read, _ in accepted),
            principal=principal,
        )
        assert rt.writer is not None  # `ingest` checked
        if not await rt.writer.submit(unit):
            return None
        out.reads = [_outcome(row, "stored") for row in rows]
    return _answer(result, out, principal=principal, notes=list(result.ignored), heartbeats=0)


def _outcome(row: dict[str, Any], status: str) -> dict[str, Any]:
    return {
        "read_id": str(row["read_id"]),
        "status": status,
        "camera_id": row["camera_id"],
        "vendor_read_id": row["vendor_read_id"],
        "clock_flagged": row["clock_flagged"],
    }


async def _plan(
    session: AsyncSession,
    *,
    rt: Runtime,
    principal: Principal,
    accepted: list[tuple[int | None, ReadIn, CameraSite]],
    received_at: datetime,
    latest: datetime,
    out: _Outcomes,
) -> list[_Pending]:
    """Decide, read by read, stored / updated / duplicate against the store and the batch.

    A read replaces an earlier one with the same identity only if it says more about the vehicle
    (final over preview, more frames, higher confidence), so replaying any message, or an older
    preview arriving late, changes nothing.
    """
    if not accepted:
        return []
    aliases = [_alias_keys(camera.id, read) for _, read, camera in accepted]
    times = [read.captured_at for _, read, _ in accepted]
    # No stored read was captured after `latest` (now plus the allowed clock skew: later ones
    # are refused), so the lookup stops there: on PostgreSQL it then skips the day partitions
    # created ahead, which hold nothing yet but would each be probed once per key.
    existing = await repo.find_by_dedup_keys(
        session,
        sorted({k for keys in aliases for k in keys}),
        lo=min(times) - _DEDUP_WINDOW,
        hi=min(max(times) + _DEDUP_WINDOW, latest),
    )
    stored_by_key = {row.dedup_key: row for row in existing}
    # A vendor message may be part of a read already stored under another message's identity
    # (an OpenALPR frame sent after its group): look those up among the read aliases. Native
    # batches (up to 1,000 reads, no such vendor links) skip the query unless they link reads.
    alias_lookup = sorted(
        {
            k
            for (_, read, _), keys in zip(accepted, aliases, strict=True)
            if read.source != "native" or read.related_ids
            for k in keys
            if k not in stored_by_key
        }
    )
    for key, hit in await repo.find_by_alias_keys(session, alias_lookup):
        stored_by_key.setdefault(key, hit)
    batch_by_key: dict[str, _Pending] = {}
    planned: list[_Pending] = []

    ctx = _BatchContext(
        rt=rt,
        received_at=received_at,
        skew_threshold=timedelta(seconds=rt.settings.clock_skew_seconds),
        posted_by=principal.subject,
        read_ids=_new_read_ids(len(accepted)),
    )

    def build(read: ReadIn, camera: CameraSite, key: str) -> dict[str, Any]:
        return _row(read, camera, ctx, key)

    for (_, read, camera), keys in zip(accepted, aliases, strict=True):
        extras: list[repo.StoredRead] = []
        if len(keys) == 1:  # nearly every read: plain lookups, no generators
            target = batch_by_key.get(keys[0])
            previous = None if target is not None else stored_by_key.get(keys[0])
        else:
            target = next((batch_by_key[k] for k in keys if k in batch_by_key), None)
            previous = None
            if target is None:
                # Its own identity first, then its related ids in order: the first stored read
                # found is kept and updated; the others (frame reads of the same vehicle) merge
                # into it.
                hits = list(
                    {
                        stored_by_key[k].read_id: stored_by_key[k]
                        for k in reversed(keys)
                        if k in stored_by_key
                    }.values()
                )[::-1]
                if hits:
                    previous, extras = hits[0], hits[1:]
        if target is None and previous is None:  # new: the common case
            row = build(read, camera, keys[0])
            target = _Pending(row, "stored", read.image, aliases=keys[1:])
            status = "stored"
            planned.append(target)
        elif target is not None:  # the same read earlier in this batch
            current = target.row
            if _read_rank(read) <= _rank(
                current["group_state"], current["related_count"], current["confidence"]
            ):
                out.reads.append(_outcome(current, "duplicate"))
                continue
            row = build(read, camera, current["dedup_key"])
            row["read_id"] = current["read_id"]
            target.row, target.image = row, read.image
            target.aliases = list(dict.fromkeys([*target.aliases, *keys]))
            status = "updated"
        else:  # stored by an earlier message
            assert previous is not None
            if _read_rank(read) <= _rank(
                previous.group_state, previous.related_count, previous.confidence
            ):
                out.reads.append(
                    {
                        "read_id": str(previous.read_id),
                        "status": "duplicate",
                        "camera_id": previous.camera_id,
                        "vendor_read_id": previous.vendor_read_id,
                        "clock_flagged": False,
                    }
                )
                continue
            row = build(read, camera, previous.dedup_key)
            row["read_id"] = previous.read_id
            target = _Pending(
                row,
                "updated",
                read.image,
                previous.captured_at,
                aliases=[k for k in keys if k != previous.dedup_key],
            )
            status = "updated"
            planned.append(target)
            rank = _read_rank(read)
            for extra in extras:
                if _rank(extra.group_state, extra.related_count, extra.confidence) < rank:
                    out.superseded.append(extra)
        for k in keys:
            batch_by_key.setdefault(k, target)
        out.reads.append(_outcome(row, status))
    return planned


async def _store(
    session: AsyncSession, *, rt: Runtime, planned: list[_Pending], out: _Outcomes, careful: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Write the planned rows, drop the reads they superseded and keep their aliases; return
    the rows actually inserted and those updated."""
    if not planned:
        return [], []
    for item in planned:
        if item.image is not None:
            item.row["image_sha256"] = rt.images.put_base64(item.image)
    if is_postgresql(session):
        await partitions.ensure(
            session,
            {p.row["captured_at"].date() for p in planned},  # UTC already (ReadIn)
            known=rt.partition_days,
        )
    inserts = [p.row for p in planned if p.status == "stored"]
    skipped = await repo.insert_reads(session, inserts, careful=careful)
    stored, lost = inserts, []
    if skipped:
        stored = [r for r in inserts if r["read_id"] not in skipped]
        lost = [r for r in inserts if r["read_id"] in skipped]
        # A concurrent request stored the same read first: report it as the duplicate it is.
        winners = await repo.find_by_dedup_keys(
            session,
            [r["dedup_key"] for r in lost],
            lo=min(r["captured_at"] for r in lost),
            hi=max(r["captured_at"] for r in lost),
        )
        by_key = {w.dedup_key: w.read_id for w in winners}
        ids = {str(r["read_id"]): str(by_key.get(r["dedup_key"], r["read_id"])) for r in lost}
        for outcome in out.reads:
            if outcome["read_id"] in ids:
                outcome["read_id"] = ids[outcome["read_id"]]
                outcome["status"] = "duplicate"
    updated = []
    for item in planned:
        if item.status != "updated":
            continue
        assert item.previous_captured_at is not None
        values = {k: v for k, v in item.row.items() if k not in ("read_id", "dedup_key")}
        await repo.update_read(
            session,
            read_id=item.row["read_id"],
            captured_at=item.previous_captured_at,
            values=values,
        )
        updated.append(item.row)
    if out.superseded:
        await repo.delete_reads(session, [(r.read_id, r.captured_at) for r in out.superseded])
    kept = {r["read_id"] for r in stored}
    linked = [
        p for p in planned if p.aliases and (p.status == "updated" or p.row["read_id"] in kept)
    ]
    if linked or out.superseded:
        await repo.replace_aliases(
            session,
            read_ids=[p.row["read_id"] for p in linked] + [r.read_id for r in out.superseded],
            aliases=[
                {"alias_key": k, "read_id": p.row["read_id"], "captured_at": p.row["captured_at"]}
                for p in linked
                for k in dict.fromkeys(p.aliases)
                if k != p.row["dedup_key"]
            ],
        )
    return stored, updated
