"""Release package build time against a plain `COPY (SELECT ...) TO STDOUT` of the same rows, on
PostgreSQL, measured side by side in one run (docs/design.md section 9: at most twice).

    .venv/bin/python bench/sharing/bench_sharing.py                  # 100,000 reads, best of 5
    .venv/bin/python bench/sharing/bench_sharing.py --reads 20000 --rounds 3

A throwaway database is created at ALPR_TEST_PG_URL (default: the local server), migrated with
ingest's real migrations, and loaded by COPY with `--reads` reads of 100 named plates captured in
the last day, plus a fifth as many reads of other plates (which the package must leave out).
Then, alternating, each round times:

- (a) `alpr_ingest.releases.build_release`, the code behind ingest's `POST /v1/releases`: the
  scope's reads, default fields only, COPY'd into the bundle's CSV while hashing it, zipped with
  a SHA-256 manifest and moved into place;
- (b) the ceiling: the same `SELECT` (same columns, filter and order) as
  `COPY (SELECT ...) TO STDOUT WITH CSV HEADER` into a file, through the same driver.

It prints the best and median of each and the ratio (a)/(b) of the best times; the target is at
most 2.0. The database is dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import string
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from alpr_common.auth import Principal
from alpr_common.db import Database
from alpr_common.migrations import upgrade
from alpr_ingest import partitions
from alpr_ingest.deps import Runtime
from alpr_ingest.main import SPEC
from alpr_ingest.plates import fold_confusable
from alpr_ingest.releases import DEFAULT_FIELDS, ReleaseCreate, build_release
from alpr_ingest.repository.reads import READ_COLUMNS
from alpr_ingest.settings import IngestSettings

PG_URL = os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PLATES = 100
CAMERA = "bench-sharing-cam"


def _db_url(name: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[0]}/{name}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _record(plate: str, captured: datetime, now: datetime, i: int) -> tuple[Any, ...]:
    row = {
        "read_id": uuid.uuid4(),
        "captured_at": captured,
        "received_at": now,
        "plate": plate,
        "plate_key": fold_confusable(plate),
        "plate_raw": None,
        "region": "US-TX",
        "confidence": 0.93,
        "candidates": "[]",
        "camera_id": CAMERA,
        "camera_type": "trailer",
        "zip_code": "78701",
        "sector": "George",
        "lat": 30.2674,
        "lon": -97.736,
        "vehicle": None,
        "vehicle_make": None,
        "vehicle_model": None,
        "vehicle_color": None,
        "vehicle_type": None,
        "image_sha256": None,
        "source": "native",
        "vendor_read_id": f"bench-{i}",
        "group_state": None,
        "related_count": 0,
        "dedup_key": uuid.uuid4().hex + uuid.uuid4().hex,
        "device_time": None,
        "clock_skew_seconds": 0.0,
        "clock_flagged": False,
        "posted_by": "client:bench",
    }
    return tuple(row[c] for c in READ_COLUMNS)


async def _load(url: str, reads: int, now: datetime) -> list[str]:
    rng = random.Random(14)
    plates = sorted(
        {"".join(rng.choices(string.ascii_uppercase + string.digits, k=7)) for _ in range(PLATES)}
    )
    others = [f"OTH{n:04d}" for n in range(500)]
    db = Database.from_url(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    async with db.sessionmaker() as session:
        days = {(now - timedelta(days=d)).date() for d in range(3)}
        await partitions.ensure(session, days)
        await session.commit()
    await db.dispose()
    records = []
    for i in range(reads):
        captured = now - timedelta(seconds=rng.uniform(60, 86_000))
        records.append(_record(plates[i % len(plates)], captured, now, i))
    for i in range(reads // 5):
        captured = now - timedelta(seconds=rng.uniform(60, 86_000))
        records.append(_record(rng.choice(others), captured, now, reads + i))
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table("plate_read", records=records, columns=list(READ_COLUMNS))
        await conn.execute("ANALYZE plate_read")
    finally:
        await conn.close()
    return plates


async def _package(
    db: Database, rt: Runtime, plates: list[str], since: datetime, until: datetime
) -> tuple[float, int]:
    actor = Principal(
        subject="client:sharing", kind="machine", name="sharing", roles=frozenset({"service"})
    )
    data = ReleaseCreate(
        release_id=uuid.uuid4().hex,
        request_id=uuid.uuid4().hex,
        case_number="BENCH-1",
        plates=plates,
        since=since,
        until=until,
    )
    started = time.perf_counter()
    async with db.sessionmaker() as session:
        built = await build_release(session, rt=rt, actor=actor, data=data)
        await session.commit()
    return time.perf_counter() - started, built.read_count


async def _copy(
    url: str, plates: list[str], since: datetime, until: datetime, out: Path
) -> tuple[float, int]:
    query = (
        f"SELECT {', '.join(DEFAULT_FIELDS)} FROM plate_read "
        "WHERE captured_at >= $1 AND captured_at <= $2 AND plate = ANY($3::text[]) "
        "ORDER BY captured_at, read_id"
    )
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET timezone = 'UTC'")
        started = time.perf_counter()
        status = await conn.copy_from_query(
            query, since, until, plates, output=str(out), format="csv", header=True
        )
        elapsed = time.perf_counter() - started
    finally:
        await conn.close()
    return elapsed, int(str(status).rsplit(" ", 1)[-1])


async def main(reads: int, rounds: int) -> int:
    name = f"alpr_bench_sharing_{uuid.uuid4().hex[:8]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = _db_url(name)
    try:
        await upgrade(SPEC.migrations_dir, url.replace("postgresql://", "postgresql+asyncpg://", 1))
        now = datetime.now(UTC)
        print(f"loading {reads:,} reads of {PLATES} plates (+{reads // 5:,} others)...", flush=True)
        plates = await _load(url, reads, now)
        since, until = now - timedelta(days=1), now
        with tempfile.TemporaryDirectory() as tmp:
            settings = IngestSettings(environment="test", export_dir=Path(tmp) / "exports")
            rt = Runtime.from_settings(settings)
            db = Database.from_url(
                url.replace("postgresql://", "postgresql+asyncpg://", 1), pool_size=2
            )
            package_times: list[float] = []
            copy_times: list[float] = []
            counts = set()
            # One untimed pass each warms the cache and the plans.
            await _package(db, rt, plates, since, until)
            await _copy(url, plates, since, until, Path(tmp) / "warm.csv")
            for r in range(rounds):
                t, n = await _package(db, rt, plates, since, until)
                package_times.append(t)
                counts.add(n)
                t, n = await _copy(url, plates, since, until, Path(tmp) / f"copy-{r}.csv")
                copy_times.append(t)
                counts.add(n)
            await db.dispose()
        if counts != {reads}:
            print(f"error: row counts differ from {reads}: {sorted(counts)}", file=sys.stderr)
            return 1
        best_a, best_b = min(package_times), min(copy_times)
        ratio = best_a / best_b
        print(f"\nrows per package: {reads:,} ({len(DEFAULT_FIELDS)} fields); rounds: {rounds}")
        print(f"{'':36} {'best s':>8} {'median s':>9} {'rows/s':>11}")
        for label, times in (
            ("(a) release package (build_release)", package_times),
            ("(b) COPY (SELECT ...) TO STDOUT", copy_times),
        ):
            best = min(times)
            print(f"{label:36} {best:8.3f} {statistics.median(times):9.3f} {reads / best:11,.0f}")
        verdict = "meets" if ratio <= 2.0 else "MISSES"
        print(f"ratio (a)/(b): {ratio:.2f}  ({verdict} the target of at most 2.0)")
        print(json.dumps({"reads": reads, "package_s": best_a, "copy_s": best_b, "ratio": ratio}))
        return 0 if ratio <= 2.0 else 1
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.reads, args.rounds)))
