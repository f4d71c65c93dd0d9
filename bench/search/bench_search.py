"""Search benchmark (issue 20): every plate query shape through ingest's real search route, in
process (token check, purpose check, the query, the audit event, the commit), p50 and p99:

  PostgreSQL, the same database at 5,000,000 and then 20,000,000 reads in 30 day partitions
  (one run: the second load adds to the first), target p99 < 100 ms at 5 M for every shape and
  p99(20 M) <= 1.5 x p99(5 M); SQLite at 1,000,000 reads, target p99 < 200 ms.

Shapes: exact plate, look-alike (confusable) plate, trailing wildcard `PXK7*`, leading wildcard
`*7342`, middle `*XK7*`, one unknown `PX?7342` (and with look-alike folding), and a vehicle colour
with a trailing wildcard. Each pattern is cut from a plate that is stored, over the whole
30-day window.

The reads are generated inside PostgreSQL (INSERT ... SELECT FROM generate_series, plates from
md5 of a pool index, the same function as `plate_of` here), into tables whose indexes are built
after each load, as a restore would; SQLite by executemany through its triggers.

Settings: ALPR_TEST_PG_URL, BENCH_SEARCH_SIZES (5000000,20000000), BENCH_SEARCH_SQLITE (1000000,
0 to skip), BENCH_SEARCH_QUERIES (200 per shape), BENCH_SEARCH_PG (1; 0 to skip PostgreSQL).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from alpr_common.auth import principal_claims
from alpr_common.db import Database
from alpr_common.migrations import upgrade
from alpr_ingest import partitions, vehicles
from alpr_ingest.main import SPEC
from alpr_ingest.plates import fold_confusable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ingest"))
from bench_ingest import create_db, drop_db, in_process_app

PG_URL = os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SIZES = [int(s) for s in os.environ.get("BENCH_SEARCH_SIZES", "5000000,20000000").split(",")]
SQLITE_READS = int(os.environ.get("BENCH_SEARCH_SQLITE", "1000000"))
QUERIES = int(os.environ.get("BENCH_SEARCH_QUERIES", "200"))
RUN_PG = os.environ.get("BENCH_SEARCH_PG", "1") != "0"
WARM_UP = 30  # untimed queries per shape before the timed ones, on other plates
# BENCH_SEARCH_KEEP=1 keeps the PostgreSQL database (bench_search_<pid>) to look at the plans.
DAYS = 30
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
COLORS = vehicles.COLORS
MAKES = ("toyota", "honda", "ford", "chevrolet", "nissan", "tesla", "bmw", "kia", "hyundai", "ram")
TYPES = vehicles.BODY_TYPES
POOL_PER_READ = 5  # a vehicle passes the cameras five times a month on average
CHUNK = 250_000

# --- the generated reads: the same function in SQL (PostgreSQL) and Python (queries, SQLite) ---


def plate_of(p: int) -> str:
    h = hashlib.md5(str(p).encode()).digest()
    return "".join(ALPHABET[h[k] % 36] for k in range(7))


def vehicle_of(p: int) -> tuple[str, str, str] | None:
    """(make, colour, body type) of the vehicle wearing plate `p`, or None for 3 in 10."""
    h = hashlib.md5(str(p).encode()).digest()
    if h[11] % 10 < 3:
        return None
    return MAKES[h[8] % len(MAKES)], COLORS[h[9] % len(COLORS)], TYPES[h[10] % len(TYPES)]


def _sql_array(values: tuple[str, ...]) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


_FOLD = "translate(pl.plate, 'ODQIZSBG', '00012586')"
_PLATE = " || ".join(f"substr('{ALPHABET}', get_byte(h.h, {k}) % 36 + 1, 1)" for k in range(7))
_INSERT = f"""
INSERT INTO plate_read (
    read_id, captured_at, received_at, plate, plate_key, candidates, camera_id, camera_type,
    zip_code, sector, lat, lon, vehicle, vehicle_make, vehicle_color, vehicle_type, source,
    related_count, dedup_key, device_time, clock_skew_seconds, clock_flagged, posted_by)
SELECT md5('r' || g.i)::uuid, t.at, t.at, pl.plate, {_FOLD}, '[]'::jsonb,
    'bench-cam-' || (g.i % 50), 'fixed', '78701', 'George', 30.2674, -97.736,
    CASE WHEN v.make IS NULL THEN NULL
         ELSE jsonb_build_object('make', v.make, 'color', v.color, 'type', v.kind) END,
    v.make, v.color, v.kind, 'native', 0, md5('d' || g.i), NULL, 0.0, false, 'client:bench'
FROM generate_series($1::bigint, $2::bigint) AS g(i)
CROSS JOIN LATERAL (SELECT (g.i * 2654435761) % $3::bigint AS p) AS s
CROSS JOIN LATERAL (SELECT decode(md5(s.p::text), 'hex') AS h) AS h
CROSS JOIN LATERAL (SELECT {_PLATE} AS plate) AS pl
CROSS JOIN LATERAL (SELECT CASE WHEN get_byte(h.h, 11) % 10 < 3 THEN NULL
        ELSE ({_sql_array(MAKES)})[get_byte(h.h, 8) % {len(MAKES)} + 1] END AS make,
    ({_sql_array(COLORS)})[get_byte(h.h, 9) % {len(COLORS)} + 1] AS color,
    ({_sql_array(TYPES)})[get_byte(h.h, 10) % {len(TYPES)} + 1] AS kind) AS v0
CROSS JOIN LATERAL (SELECT v0.make, CASE WHEN v0.make IS NULL THEN NULL ELSE v0.color END AS color,
    CASE WHEN v0.make IS NULL THEN NULL ELSE v0.kind END AS kind) AS v
CROSS JOIN LATERAL (SELECT $4::timestamptz + make_interval(secs => CASE WHEN $5::float8 > 0
    THEN $5::float8 * (g.i - $1) / ($2 - $1 + 1) ELSE (g.i * 7919) % 86400 END) AS at) t
"""


def _progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    rate = done / elapsed if elapsed else 0.0
    eta = (total - done) / rate if rate else 0.0
    print(
        f"  {label}: {done:,}/{total:,} reads, {rate:,.0f}/s, {elapsed:.0f}s, ETA {eta:.0f}s",
        flush=True,
    )


async def _indexes(conn: asyncpg.Connection) -> list[str]:
    """The reads table's own indexes and key, as DDL to build them again."""
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'plate_read' "
        "AND indexname <> 'pk_plate_read'"
    )
    # A partitioned table's index reads `ON ONLY`: built again, it must reach every partition.
    return [r["indexdef"].replace(" ON ONLY ", " ON ") for r in rows]


async def pg_load(url: str, days: list[date], lo: int, hi: int, pool: int) -> float:
    """Reads lo..hi-1 spread over `days`, loaded with the indexes dropped and built after."""
    conn = await asyncpg.connect(url)
    try:
        ddl = await _indexes(conn)
        for stmt in ddl:
            name = stmt.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            await conn.execute(f"DROP INDEX {name}")
        await conn.execute("ALTER TABLE plate_read DROP CONSTRAINT pk_plate_read")
        # The closed days' trigram indexes (a second load adds to their days): built again
        # after the load by the service's own function.
        for day in days:
            await conn.execute(f'DROP INDEX IF EXISTS "{partitions.trigram_index_name(day)}"')
        for name in await conn.fetch(
            "SELECT relname FROM pg_class WHERE relkind = 'i' AND relname LIKE $1",
            f"{partitions.PREFIX}%{partitions.TRIGRAM_SUFFIX}_to_%",
        ):
            await conn.execute(f'DROP INDEX IF EXISTS "{name["relname"]}"')
    finally:
        await conn.close()
    jobs = []
    per_day = (hi - lo) // len(days)
    start = lo
    for n, d in enumerate(days):
        end = hi if n == len(days) - 1 else start + per_day
        for a in range(start, end, CHUNK):
            jobs.append((d, a, min(end, a + CHUNK)))
        start = end
    total, done = hi - lo, 0
    started = time.perf_counter()

    async def worker(mine: list[tuple[date, int, int]]) -> None:
        nonlocal done
        c = await asyncpg.connect(url)
        try:
            await c.execute("SET synchronous_commit = off")
            for d, a, b in mine:
                at = datetime(d.year, d.month, d.day, tzinfo=UTC)
                # A closed day's reads are spread over it; the current day's run from midnight
                # to now in capture order (each chunk as one camera group's stream), as cameras
                # send them, so that its rows lie on disk in time order as they do in service.
                span = (datetime.now(UTC) - at).total_seconds() - 60 if d == days[-1] else 0.0
                await c.execute(_INSERT, a, b - 1, pool, at, max(span, 1.0) if span else 0.0)
                done += b - a
                _progress("load", done, total, started)
        finally:
            await c.close()

    await asyncio.gather(worker(jobs[0::2]), worker(jobs[1::2]))
    t0 = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SET maintenance_work_mem = '1GB'")
        print("  building the indexes (primary key, btrees) ...", flush=True)
        await conn.execute(
            "ALTER TABLE plate_read ADD CONSTRAINT pk_plate_read PRIMARY KEY (read_id, captured_at)"
        )
        for stmt in ddl:
            s0 = time.perf_counter()
            await conn.execute(stmt)
            name = stmt.split(" INDEX ", 1)[1].split(" ON ", 1)[0]
            print(f"    {name}: {time.perf_counter() - s0:.0f}s", flush=True)
    finally:
        await conn.close()
    # As in service (`search-index`, every quarter hour): every closed day gets its trigram
    # index, the current day one up to the last quarter hour (see issue 20).
    s0 = time.perf_counter()
    db = Database.from_url(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        run = await partitions.index_for_search(db, now=datetime.now(UTC))
    finally:
        await db.dispose()
    print(
        f"    trigram GIN of {len(run.days)} closed days and of the current day up to "
        f"{run.current_until:%H:%M} UTC (`index_for_search`): {time.perf_counter() - s0:.0f}s"
        if run.current_until
        else f"    trigram GIN of {len(run.days)} closed days (`index_for_search`): "
        f"{time.perf_counter() - s0:.0f}s",
        flush=True,
    )
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("VACUUM ANALYZE plate_read")
        # The load left gigabytes of dirty pages: written now, not by the checkpointer while
        # the queries are timed (a 20 M load's flush put 80 ms spikes into a p99 of 8 ms).
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    print(f"  indexes and ANALYZE: {time.perf_counter() - t0:.0f}s", flush=True)
    return time.perf_counter() - started


def sqlite_load(path: Path, days: list[date], n: int, pool: int) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    cols = (
        "read_id, captured_at, received_at, plate, plate_key, candidates, camera_id, camera_type, "
        "zip_code, sector, lat, lon, vehicle, vehicle_make, vehicle_color, vehicle_type, source, "
        "related_count, dedup_key, clock_skew_seconds, clock_flagged, posted_by"
    )
    sql = f"INSERT INTO plate_read ({cols}) VALUES ({', '.join('?' * 22)})"
    per_day = n // len(days)
    i = 0
    for d in days:
        base = datetime(d.year, d.month, d.day)  # naive UTC, as the suite stores it on SQLite
        rows = []
        for _ in range(per_day):
            p = (i * 2654435761) % pool
            plate = plate_of(p)
            v = vehicle_of(p)
            at = (base + timedelta(seconds=(i * 7919) % 86400)).strftime("%Y-%m-%d %H:%M:%S.%f")
            vehicle = None if v is None else f'{{"make": "{v[0]}", "color": "{v[1]}"}}'
            rows.append(
                (
                    uuid.UUID(int=i + 1).hex, at, at, plate, fold_confusable(plate), "[]",
                    f"bench-cam-{i % 50}", "fixed", "78701", "George", 30.2674, -97.736,
                    vehicle, v and v[0], v and v[1], v and v[2], "native", 0, f"{i:032x}",
                    0.0, 0, "client:bench",
                )
            )  # fmt: skip
            i += 1
        conn.executemany(sql, rows)
        conn.commit()
        _progress("sqlite load", i, n, started)
    conn.execute("ANALYZE")
    conn.close()
    return time.perf_counter() - started


# --- the queries -------------------------------------------------------------------------------


def queries(pool: int, count: int, seed: int) -> dict[str, list[dict[str, str]]]:
    rng = random.Random(seed)
    stored = [rng.randrange(pool) for _ in range(count)]
    out: dict[str, list[dict[str, str]]] = {}
    for p in stored:
        plate = plate_of(p)
        v = vehicle_of(p) or ("toyota", "grey", "sedan")
        shapes = {
            "exact `PXK7342`": {"plate": plate},
            "look-alike `PXK7342`": {"plate": plate, "confusable": "true"},
            "trailing `PXK7*`": {"plate": plate[:4] + "*"},
            "leading `*7342`": {"plate": "*" + plate[-4:]},
            "middle `*XK73*`": {"plate": "*" + plate[1:5] + "*"},
            "one unknown `PX?7342`": {"plate": plate[:2] + "?" + plate[3:]},
            "one unknown, look-alike": {"plate": plate[:2] + "?" + plate[3:], "confusable": "true"},
            "colour + `PXK7*`": {"plate": plate[:4] + "*", "vehicle_color": v[1]},
        }
        for name, params in shapes.items():
            out.setdefault(name, []).append(params)
    return out


async def measure(
    app: Any,
    ring: Any,
    shapes: dict[str, list[dict[str, str]]],
    warm: dict[str, list[dict[str, str]]],
) -> dict[str, Any]:
    now = datetime.now(UTC)
    token = ring.sign(
        principal_claims(
            subject="user:bench",
            kind="person",
            name="Bench Investigator",
            roles=["investigator"],
            training_valid_until=now + timedelta(days=30),
        ),
        issuer="alpr-access",
        audience="alpr",
        expires_at=now + timedelta(hours=2),
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "X-ALPR-Purpose": "criminal_investigation",
        "X-ALPR-Case": "2026-0001234",
        "X-ALPR-Reason": "benchmark of partial plate search latency",
    }
    window = {"since": (now - timedelta(days=DAYS)).isoformat(), "until": now.isoformat()}
    results: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        # Warm-up, untimed: other plates than the timed ones (so no page they need is read
        # here), enough queries to fill each pooled connection's catalog caches (30 partitions,
        # a dozen indexes each) as a searched system has them.
        for params in [q for qs in warm.values() for q in qs]:
            await client.get("/v1/reads", params={**params, **window}, headers=headers)
        for name, qs in shapes.items():
            latencies, totals = [], []
            for params in qs:
                t0 = time.perf_counter()
                resp = await client.get("/v1/reads", params={**params, **window}, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if resp.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {resp.status_code} {resp.text[:300]}")
                totals.append(resp.json()["total"])
            latencies.sort()
            results[name] = {
                "p50": statistics.median(latencies) * 1000,
                "p99": latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000,
                "hits": statistics.mean(totals),
            }
    return results


def print_table(title: str, runs: dict[str, dict[str, Any]], target: str) -> None:
    labels = list(runs)
    shapes = list(next(iter(runs.values())))
    width = max(len(s) for s in shapes)
    print(f"\n{title}  ({target})")
    head = "".join(f"{'p50 / p99 ms, hits @ ' + label:>34}" for label in labels)
    print(f"{'shape':<{width}}{head}" + ("   p99 ratio" if len(labels) == 2 else ""))
    for shape in shapes:
        cells = "".join(
            f"{runs[label][shape]['p50']:>12.1f} /{runs[label][shape]['p99']:>7.1f}"
            f"{runs[label][shape]['hits']:>12.1f}"
            for label in labels
        )
        ratio = ""
        if len(labels) == 2:
            a, b = (runs[label][shape]["p99"] for label in labels)
            ratio = f"{b / a:>12.2f}"
        print(f"{shape:<{width}}{cells}{ratio}")


async def bench_pg(state: Path) -> dict[str, dict[str, Any]]:
    name = f"bench_search_{os.getpid()}"
    url = await create_db(name)
    runs: dict[str, dict[str, Any]] = {}
    try:
        await upgrade(SPEC.migrations_dir, url)
        today = datetime.now(UTC).date()
        days = [today - timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
        conn = await asyncpg.connect(url)
        try:
            for d in days:
                await conn.execute(
                    f'CREATE TABLE "{partitions.partition_name(d)}" PARTITION OF plate_read '
                    f"FOR VALUES FROM ('{d} 00:00:00+00') "
                    f"TO ('{d + timedelta(days=1)} 00:00:00+00')"
                )
        finally:
            await conn.close()
        loaded = 0
        for size in SIZES:
            pool = size // POOL_PER_READ
            print(f"PostgreSQL: loading to {size:,} reads (load average {_load()})", flush=True)
            took = await pg_load(url, days, loaded, size, pool)
            print(f"  {size - loaded:,} reads in {took:.0f}s", flush=True)
            loaded = size
            app, ring = in_process_app(url, state / f"pg{size}")
            before = _load()
            label = f"{size / 1e6:g} M"
            runs[label] = await measure(
                app, ring, queries(pool, QUERIES, size), queries(pool, WARM_UP, -size)
            )
            print(f"  measured at {size:,} (load average {before} -> {_load()})", flush=True)
            print_table(f"PostgreSQL at {label}", {label: runs[label]}, "so far")
            await app.state.db.dispose()
    finally:
        if os.environ.get("BENCH_SEARCH_KEEP") != "1":
            await drop_db(name)
    return runs


async def bench_sqlite(state: Path) -> dict[str, dict[str, Any]]:
    path = state / "search.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade(SPEC.migrations_dir, url)
    today = datetime.now(UTC).date()
    days = [today - timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
    pool = SQLITE_READS // POOL_PER_READ
    print(f"SQLite: loading {SQLITE_READS:,} reads (load average {_load()})", flush=True)
    took = sqlite_load(path, days, SQLITE_READS, pool)
    print(f"  {SQLITE_READS:,} reads in {took:.0f}s", flush=True)
    app, ring = in_process_app(url, state / "sqlite")
    before = _load()
    run = await measure(
        app, ring, queries(pool, QUERIES, SQLITE_READS), queries(pool, WARM_UP, -SQLITE_READS)
    )
    print(f"  measured (load average {before} -> {_load()})", flush=True)
    await app.state.db.dispose()
    return {f"{SQLITE_READS / 1e6:g} M": run}


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


async def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="bench-search-"))
    print(
        f"search benchmark; PostgreSQL sizes {SIZES if RUN_PG else 'skipped'}, SQLite "
        f"{SQLITE_READS:,}, {QUERIES} queries per shape; {os.cpu_count()} CPUs",
        flush=True,
    )
    pg = await bench_pg(state) if RUN_PG else {}
    lite = await bench_sqlite(state) if SQLITE_READS else {}
    if pg:
        print_table("PostgreSQL", pg, "target: p99 < 100 ms at 5 M, p99 ratio <= 1.5")
    if lite:
        print_table("SQLite", lite, "target: p99 < 200 ms")
    print(f"\n(load average at the end: {_load()})")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
