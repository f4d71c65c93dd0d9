"""Back-match: new or changed entries are matched against the reads of the last hours, through
ingest. A job is written in the entry's own transaction and retried with backoff until ingest
answers, so an unreachable ingest delays a back-match but never loses it."""

from __future__ import annotations

import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import Database, utcnow
from alpr_common.tasks import running_periodic
from alpr_hotlist import repository
from alpr_hotlist.alerts import matching
from alpr_hotlist.clients import BackMatchUnavailable, back_match
from alpr_hotlist.models import BackMatchJob
from alpr_hotlist.settings import HotlistSettings

log = logging.getLogger("alpr.hotlist.backmatch")

# A claimed job is someone's for this long; a replica that dies mid-job leaves it to another.
LEASE = timedelta(seconds=120)
JOBS_PER_PASS = 20


async def schedule(
    session: AsyncSession, settings: HotlistSettings, entries: Sequence[tuple[int, str]]
) -> int:
    """Queue back-match jobs for `(entry_id, plate)` pairs; returns how many jobs."""
    if not entries:
        return 0
    now = utcnow()
    since = now - timedelta(hours=settings.back_match_hours)
    size = settings.back_match_plates_per_job
    jobs = 0
    for i in range(0, len(entries), size):
        chunk = entries[i : i + size]
        session.add(
            BackMatchJob(
                id=uuid.uuid4().hex,
                entry_ids=[e for e, _ in chunk],
                plates=sorted({p for _, p in chunk}),
                since=since,
                created_at=now,
                next_attempt_at=now,
            )
        )
        jobs += 1
    await session.flush()
    return jobs


def _backoff(settings: HotlistSettings, attempts: int) -> timedelta:
    seconds = min(settings.back_match_max_backoff_seconds, 2.0 * 2 ** min(attempts, 10))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


async def run_due(app: FastAPI) -> int:
    """One pass: claim due jobs, ask ingest, match, record. Returns jobs completed."""
    db: Database = app.state.db
    settings: HotlistSettings = app.state.settings
    # Claim in a short transaction: the calls to ingest must not hold a database lock.
    async with db.sessionmaker() as session:
        jobs = await repository.due_jobs(session, utcnow(), JOBS_PER_PASS)
        claims = [(job.id, list(job.plates), job.since, set(job.entry_ids)) for job in jobs]
        for claimed in jobs:
            claimed.next_attempt_at = utcnow() + LEASE
        await session.commit()
    if not claims:
        return 0
    results: dict[str, list[dict[str, Any]] | str] = {}
    for job_id, plates, since, _ in claims:
        try:
            results[job_id] = await back_match(app, plates=plates, since=since)
        except BackMatchUnavailable as exc:
            # Ingest is down or refusing: the rest of this pass would fail the same way.
            for other, *_ in claims:
                results.setdefault(other, exc.detail)
            break
    done = 0
    # One transaction records the whole pass.
    async with db.sessionmaker() as session:
        for job_id, _, _, entry_ids in claims:
            job = await session.get(BackMatchJob, job_id)
            if job is None or job.done_at is not None:
                continue
            outcome = results[job_id]
            if isinstance(outcome, str):
                job.attempts += 1
                job.last_error = outcome[:500]
                job.next_attempt_at = utcnow() + _backoff(settings, job.attempts)
                continue
            job.hits = await matching.match_reads(
                session, app, outcome, origin="back_match", only_entries=entry_ids
            )
            job.done_at = utcnow()
            job.reads_checked = len(outcome)
            job.last_error = None
            done += 1
        failed = sum(isinstance(r, str) for r in results.values())
        if failed:
            log.warning(
                "back-match delayed",
                extra={
                    "jobs": failed,
                    "reason": next(r for r in results.values() if isinstance(r, str)),
                },
            )
        await session.commit()
    return done


@contextlib.asynccontextmanager
async def back_match_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: HotlistSettings = app.state.settings
    if not settings.run_workers:
        yield
        return

    async def run() -> None:
        await run_due(app)

    async with running_periodic(
        "hotlist-back-match", settings.back_match_interval_seconds, run, logger=log
    ):
        yield
