"""Retention (344.4(d), (f)): purge reads older than the retention window, keeping held ones.

On PostgreSQL whole day partitions are detached (never DELETE at scale), after the reads an
active hold keeps have been copied to the hold store, and dropped in a second transaction right
after (removing the files grows with the day's size; holding no lock on the reads table while it
happens keeps ingest flowing). On SQLite, rows are deleted by capture day. A day is purged as soon
as its earliest possible read is `retention_days` old, so no read is kept longer than that.
Hold-store copies go once no active hold keeps them; images go with the last read or copy that
references them. A purge report goes to audit. The scan counters audit already holds (events
`ingest.scan_counts`) are untouched, so past quarters' figures survive.
"""

from __future__ import annotations

import logging
import time as clock
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from prometheus_client.core import Metric
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.contracts.ingest import PURGE, PurgeData, PurgedDay
from alpr_common.db import Database, is_postgresql
from alpr_common.metrics import gauge
from alpr_ingest import partitions
from alpr_ingest.deps import Runtime
from alpr_ingest.events import emit
from alpr_ingest.repository import purge as repo

log = logging.getLogger("alpr.ingest.purge")

PURGE_RUNS = Counter(
    "alpr_ingest_purge_runs_total",
    "Purge runs in this process (the server's in-process purge, or the CronJob's own process), "
    "by outcome (ok, failed).",
    ["outcome"],
)
PURGE_DURATION = Histogram(
    "alpr_ingest_purge_duration_seconds",
    "How long a purge run took, failed ones included.",
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600),
)
PARTITIONS_DROPPED = Counter(
    "alpr_ingest_purge_partitions_dropped_total",
    "Day partitions of reads dropped by the purge (PostgreSQL).",
)
READS_PURGED = Counter(
    "alpr_ingest_purge_reads_deleted_total",
    "Reads deleted row by row by the purge (SQLite; PostgreSQL drops whole days).",
)


def purge_cutoff(rt: Runtime, now: datetime) -> datetime:
    """Reads captured before this instant are purged: the end of the UTC day that contains
    `now - retention_days`."""
    oldest_allowed_day = (now - timedelta(days=rt.settings.retention_days)).astimezone(UTC).date()
    return datetime.combine(oldest_allowed_day + timedelta(days=1), time(0), tzinfo=UTC)


async def purge(session: AsyncSession, *, rt: Runtime) -> tuple[dict[str, Any], set[str]]:
    """Purge in the caller's transaction; return the report and the image hashes no longer
    referenced (the caller deletes the files after committing)."""
    await repo.lock_purge(session)
    now = rt.now()
    cutoff = purge_cutoff(rt, now)
    days: list[PurgedDay] = []
    held_copied = 0
    images: set[str] = set()
    if is_postgresql(session):
        for day, name in sorted((await partitions.existing(session)).items()):
            lo = datetime.combine(day, time(0), tzinfo=UTC)
            hi = lo + timedelta(days=1)
            if hi > cutoff:
                continue
            # 344.4(f): held reads are copied to the hold store before the day goes.
            held_copied += await repo.copy_held_from(session, lo=lo, hi=hi, now=now)
            images |= await repo.image_hashes_between(session, lo=lo, hi=hi)
            estimate = await partitions.estimated_rows(session, name)
            await partitions.detach(session, name)
            days.append(PurgedDay(day=day.isoformat(), partition=name, estimated_reads=estimate))
        purged: int | None = None
    else:
        lo = datetime(1970, 1, 1, tzinfo=UTC)
        held_copied = await repo.copy_held_from(session, lo=lo, hi=cutoff, now=now)
        images |= await repo.image_hashes_between(session, lo=lo, hi=cutoff)
        purged = await repo.delete_reads_before(session, cutoff)
    await repo.delete_aliases_before(session, cutoff)
    expired = await repo.expire_holds(session, today=now.astimezone(UTC).date())
    released, held_images = await repo.release_unheld_copies(session, cutoff=cutoff)
    images |= held_images
    unreferenced = images - await repo.images_still_referenced(session, images)
    report = PurgeData(
        ran_at=now.isoformat(),
        retention_days=rt.settings.retention_days,
        cutoff=cutoff.isoformat(),
        method="drop_partitions" if purged is None else "delete_rows",
        days=days,
        reads_purged=purged,
        held_reads_copied=held_copied,
        hold_store_reads_released=released,
        holds_expired=expired,
        images_deleted=len(unreferenced),
    )
    await emit(session, PURGE, actor="system:ingest-purge", data=report)
    return report.model_dump(), unreferenced


async def maintain(session: AsyncSession, *, rt: Runtime) -> list[str]:
    """Create the day partitions for the retention window and the days ahead (PostgreSQL)."""
    if not is_postgresql(session):
        return []
    today = rt.now().astimezone(UTC).date()
    created = await partitions.ensure_window(
        session,
        today=today,
        back_days=rt.settings.retention_days - 1,
        ahead_days=rt.settings.partitions_ahead_days,
    )
    return [partitions.partition_name(d) for d in created]


async def run_purge(db: Database, rt: Runtime) -> dict[str, Any]:
    """One purge in its own transaction; image files are deleted only after it commits."""
    started = clock.perf_counter()
    try:
        report = await _run_purge(db, rt)
    except BaseException:
        PURGE_RUNS.labels("failed").inc()
        raise
    finally:
        PURGE_DURATION.observe(clock.perf_counter() - started)
    PURGE_RUNS.labels("ok").inc()
    PARTITIONS_DROPPED.inc(len(report.get("partitions_dropped", [])))
    READS_PURGED.inc(report["reads_purged"] or 0)
    return report


async def _run_purge(db: Database, rt: Runtime) -> dict[str, Any]:
    async with db.sessionmaker() as session:
        report, unreferenced = await purge(session, rt=rt)
        created = await maintain(session, rt=rt)
        await session.commit()
    if report["method"] == "drop_partitions":
        async with db.sessionmaker() as session:
            await repo.lock_purge(session)
            report["partitions_dropped"] = await partitions.drop_detached(session)
            await session.commit()
    for sha in unreferenced:
        rt.images.delete(sha)
    report["partitions_created"] = created
    log.info(
        "purge done",
        extra={
            "cutoff": report["cutoff"],
            "days": len(report["days"]),
            "reads_purged": report["reads_purged"],
            "held_reads_copied": report["held_reads_copied"],
        },
    )
    return report


async def index_search(db: Database, *, now: datetime) -> dict[str, Any]:
    """PostgreSQL: the trigram indexes of the closed days that have none, and of the current
    day up to its latest mark (see `partitions.index_for_search`); return what was built.
    SQLite: nothing to do (its FTS5 table is kept by triggers)."""
    if db.dialect != "postgresql":
        return {"days_indexed": [], "current_day_indexed_until": None}
    started = clock.perf_counter()
    run = await partitions.index_for_search(db, now=now)
    if run.days:
        log.info(
            "partial-plate index built",
            extra={"days": len(run.days), "seconds": round(clock.perf_counter() - started, 1)},
        )
    until = run.current_until
    return {
        "days_indexed": [d.isoformat() for d in run.days],
        "current_day_indexed_until": until.isoformat() if until is not None else None,
    }


async def run_maintenance(db: Database, rt: Runtime) -> list[str]:
    async with db.sessionmaker() as session:
        created = await maintain(session, rt=rt)
        await session.commit()
    return created


async def retention(app: FastAPI) -> list[Metric]:
    """Metrics probe: how old the oldest unpurged read can be, against the retention window. A
    purge that did not run (or failed) shows here whichever process was meant to run it."""
    rt: Runtime = app.state.runtime
    db: Database = app.state.db
    now = rt.now()
    async with db.read_sessionmaker() as session:
        if is_postgresql(session):
            days = await partitions.existing(session)
            oldest = datetime.combine(min(days), time(0), tzinfo=UTC) if days else None
        else:
            oldest = await repo.oldest_read_at(session)
    samples: list[tuple[dict[str, str], float]] = (
        [({}, (now - oldest).total_seconds())] if oldest is not None else []
    )
    return [
        gauge(
            "alpr_ingest_oldest_read_age_seconds",
            "Age of the oldest read not yet purged (PostgreSQL: the start of the oldest day "
            "partition). Above the retention window plus a day, the purge is overdue.",
            samples,
        ),
        gauge(
            "alpr_ingest_retention_seconds",
            "The retention window the purge applies (344.4(d)).",
            [({}, rt.settings.retention_days * 86400.0)],
        ),
    ]
