"""Ingest benchmark (issue 3), on this machine's PostgreSQL, in one run:

  (a) raw asyncpg COPY into the real, migrated reads table (batches of 500 rows: the ceiling);
  (b) the native API through the gateway, batches of 500, the whole suite running as processes;
  (c) the same directly against the ingest process;
  then one read per request (native, Plate Recognizer, Hikvision; via the gateway and direct:
  `single_read.py`) on the same suite, and again on a SQLite suite (the `make run` default);
  ((b) and (c) each from an empty reads table but for a warm-up batch per connection, whose
  events are delivered before the clock starts)
  then exact-plate search p50/p99 over 5,000,000 reads in 30 daily partitions (loaded by COPY),
  and the purge time of a 10,000-read day against a 1,000,000-read day (partition drop).

Throwaway databases are created and dropped. PostgreSQL: ALPR_TEST_PG_URL or
postgresql://postgres@127.0.0.1:5432/postgres (must allow CREATE DATABASE).
Sizes: BENCH_API_READS (default 100000), BENCH_SEARCH_READS (5000000), BENCH_CONCURRENCY (8).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import string
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvloop

from alpr_common.auth import principal_claims
from alpr_common.db import Database
from alpr_common.jwt import JWKSCache, KeyRing, TokenVerifier
from alpr_common.migrations import upgrade
from alpr_common.status import StaticStatus
from alpr_common.suite import SERVICES, Suite, cpu_seconds, cpu_spent, free_port
from alpr_ingest import partitions
from alpr_ingest import purge as purge_mod
from alpr_ingest.main import SPEC, create_app
from alpr_ingest.plates import fold_confusable
from alpr_ingest.repository import purge as purge_repo
from alpr_ingest.repository.reads import READ_COLUMNS
from alpr_ingest.settings import IngestSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
import http_floor  # the floor of a single-read post on this machine
import loadgen  # the lean keep-alive connection of a camera
import single_read  # the single-read section, a module beside this one

PG_URL = os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API_READS = int(os.environ.get("BENCH_API_READS", "100000"))
SEARCH_READS = int(os.environ.get("BENCH_SEARCH_READS", "5000000"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
INGEST_WORKERS = int(os.environ.get("BENCH_INGEST_WORKERS", "2"))
# Single reads run on ingest's default of one worker: on two cores it served more single-read
# posts than two workers, at a fifth to a third less CPU a post
# (`single_read.SINGLE_INGEST_WORKERS`).
SINGLE_INGEST_WORKERS = single_read.SINGLE_INGEST_WORKERS
BATCH = 500
BIG_DAY, SMALL_DAY, DAYS = 1_000_000, 10_000, 30
SEARCHES = 300
CAMERA = "bench-cam-1"
RUN = f"{os.getpid()}_{secrets.token_hex(3)}"
ALPHABET = string.ascii_uppercase + string.digits


def db_url(name: str) -> str:
    return f"{PG_URL.rsplit('/', 1)[0]}/{name}"


async def create_db(name: str) -> str:
    admin = await asyncpg.connect(PG_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return db_url(name)


async def drop_db(name: str) -> None:
    admin = await asyncpg.connect(PG_URL)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def plate(rng: random.Random) -> str:
    return "".join(rng.choices(ALPHABET, k=7))


def full_record(i: int, plate_text: str, captured: datetime, now: datetime) -> tuple[Any, ...]:
    """A row as the API stores it (every column), for the COPY ceiling."""
    row: dict[str, Any] = {
        "read_id": uuid.uuid4(),
        "captured_at": captured,
        "received_at": now,
        "plate": plate_text,
        "plate_key": fold_confusable(plate_text),
        "plate_raw": None,
        "region": "US-TX",
        "confidence": 0.93,
        "candidates": json.dumps([{"plate": plate_text[::-1], "confidence": 0.41}]),
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
        "vendor_read_id": f"copy-{RUN}-{i}",
        "group_state": None,
        "related_count": 0,
        "dedup_key": uuid.uuid4().hex + uuid.uuid4().hex,
        "device_time": captured.isoformat(),
        "clock_skew_seconds": -1.0,
        "clock_flagged": False,
        "posted_by": "client:bench",
    }
    return tuple(row[c] for c in READ_COLUMNS)


# --- (a) raw COPY ---------------------------------------------------------------------------


async def bench_copy(url: str, n: int) -> dict[str, float]:
    await upgrade(SPEC.migrations_dir, url)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(url)
    try:
        # The reads are captured up to 3,000 s ago: just after midnight, yesterday's too.
        for day in sorted({(now - timedelta(seconds=3000)).date(), now.date()}):
            await conn.execute(partitions.create_sql(day))
        rng = random.Random(1)
        rows = [
            full_record(i, plate(rng), now - timedelta(seconds=rng.randint(1, 3000)), now)
            for i in range(n)
        ]
        # Batches of 500 rows, one COPY (and one commit) each, as the API's batches.
        started = time.perf_counter()
        for i in range(0, n, BATCH):
            await conn.copy_records_to_table(
                "plate_read", records=rows[i : i + BATCH], columns=list(READ_COLUMNS)
            )
        elapsed = time.perf_counter() - started
        rows2 = [
            full_record(i + n, plate(rng), now - timedelta(seconds=rng.randint(1, 3000)), now)
            for i in range(n)
        ]
        started = time.perf_counter()
        for i in range(0, n, 10_000):
            await conn.copy_records_to_table(
                "plate_read", records=rows2[i : i + 10_000], columns=list(READ_COLUMNS)
            )
        big = time.perf_counter() - started
    finally:
        await conn.close()
    return {"rows_per_s": n / elapsed, "rows_per_s_10k": n / big}


# --- (b), (c) the API -----------------------------------------------------------------------


def payloads(n: int, tag: str) -> list[bytes]:
    rng = random.Random(hash(tag) & 0xFFFF)
    now = datetime.now(UTC)
    out = []
    for start in range(0, n, BATCH):
        reads = [
            {
                "plate": plate(rng),
                "region": "US-TX",
                "captured_at": (now - timedelta(seconds=rng.randint(1, 3000))).isoformat(),
                "camera": CAMERA,
                "vendor_read_id": f"{tag}-{start + k}",
                "confidence": 0.93,
                "candidates": [{"plate": plate(rng), "confidence": 0.41}],
            }
            for k in range(min(BATCH, n - start))
        ]
        out.append(json.dumps({"reads": reads}).encode())
    return out


async def settled(urls: dict[str, str], within: float = 60.0) -> None:
    """Wait until every service's outbox is empty: what the warm-up set off (the first service
    tokens, which cost an argon2 check each at access; the first deliveries) is over before the
    clock starts, so the run measures the steady state."""
    deadline = time.monotonic() + within
    conns = [await asyncpg.connect(u) for u in urls.values()]
    try:
        while True:
            pending = 0
            for conn in conns:
                pending += await conn.fetchval("SELECT count(*) FROM outbox_event")
            if not pending:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{pending} events still in the outboxes after {within:.0f}s")
            await asyncio.sleep(0.2)
    finally:
        for conn in conns:
            await conn.close()


async def post_all(
    url: str, bodies: list[bytes], token: str, urls: dict[str, str], suite: Suite
) -> tuple[float, int, dict[str, float]]:
    """Post every body, CONCURRENCY at a time, after a warm-up; the elapsed time, the reads
    stored and the CPU each process spent meanwhile."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    stored = 0
    parts = httpx.URL(url)
    head = (
        f"POST {parts.raw_path.decode()} HTTP/1.1\r\nHost: {parts.netloc.decode()}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: "
    ).encode()

    async def send(conn: loadgen.CameraConnection, body: bytes) -> int:
        status, answer = await conn.post(head, body)
        if status != 200:
            raise RuntimeError(f"{url}: HTTP {status} {answer[:300]!r}")
        return int(orjson.loads(answer)["stored"])

    async def worker(conn: loadgen.CameraConnection) -> None:
        nonlocal stored
        while not queue.empty():
            n = await send(conn, queue.get_nowait())
            stored += n  # not `stored += await ...`: that reads `stored` before the await

    conns = [await loadgen.CameraConnection.open(url) for _ in range(CONCURRENCY)]
    try:
        # Warm-up: a batch of its own on each connection, so that every ingest worker stores
        # reads and its relay delivers them (each worker's first delivery fetches its service
        # token, an argon2 check at access).
        warm = payloads(BATCH * CONCURRENCY, f"warm-{RUN}-{url}")
        await asyncio.gather(*(send(c, b) for c, b in zip(conns, warm, strict=False)))
        await settled(urls)
        before = cpu_seconds(suite)
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in conns))
        elapsed = time.perf_counter() - started
        spent = cpu_spent(before, cpu_seconds(suite))
    finally:
        for conn in conns:
            conn.close()
    return elapsed, stored, spent


async def camera_token(suite: Suite, state: Path) -> str:
    """A real camera client at access, bound to the bench camera: CSO login, client, token."""
    import pyotp

    # Hex after a fixed prefix: never holds the username or a part of the name (`cso`,
    # `bench`), which access refuses; a URL-safe token did about once in 1,400 runs.
    password = "pw-" + secrets.token_hex(16)
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "benchcso",
        "--full-name",
        "Bench CSO",
        "--badge",
        "1",
        "--password-stdin",
        input_text=password + "\n",
    )
    totp = json.loads(out.strip().splitlines()[-1])["totp_secret"]
    access = suite.url("access")
    async with httpx.AsyncClient(timeout=30) as client:
        login = await client.post(
            f"{access}/v1/token",
            data={
                "grant_type": "password",
                "username": "benchcso",
                "password": password,
                "totp": pyotp.TOTP(totp).now(),
            },
        )
        login.raise_for_status()
        cso = {"Authorization": f"Bearer {login.json()['access_token']}"}
        made = await client.post(
            f"{access}/v1/clients",
            json={"name": "bench camera", "kind": "camera", "cameras": [CAMERA]},
            headers=cso,
        )
        made.raise_for_status()
        secret = made.json()
        resp = await client.post(
            f"{access}/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": secret["client"]["id"],
                "client_secret": secret["client_secret"],
            },
        )
        resp.raise_for_status()
        return str(resp.json()["access_token"])


async def register_camera(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        now = datetime.now(UTC)
        await conn.execute(
            "INSERT INTO camera (id, name, vendor, camera_type, status, lat, lon, zip_code, "
            "sector, created_at, created_by, updated_at, updated_by, activated_at) VALUES "
            "($1, 'Bench trailer', 'native', 'trailer', 'active', 30.2674, -97.736, '78701', "
            "'George', $2, 'bench', $2, 'bench', $2) ON CONFLICT DO NOTHING",
            CAMERA,
            now,
        )
    finally:
        await conn.close()


async def quiet(urls: dict[str, str]) -> None:
    """Outboxes empty, then every service's database vacuumed and analyzed: what autovacuum
    would do meanwhile, done before the clock starts."""
    await settled(urls, within=180.0)
    for url in urls.values():
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("VACUUM (ANALYZE)")
        finally:
            await conn.close()


async def empty_reads(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("TRUNCATE plate_read")
    finally:
        await conn.close()


async def measured(
    suite: Suite, url: str, bodies: list[bytes], token: str, urls: dict[str, str]
) -> dict[str, Any]:
    elapsed, stored, spent = await post_all(url, bodies, token, urls, suite)
    return {"elapsed": elapsed, "stored": stored, "cpu": spent}


async def bench_api(state: Path) -> dict[str, Any]:
    names = {svc: f"bench_{svc}_{RUN}" for svc in SERVICES}
    urls = {svc: await create_db(name) for svc, name in names.items()}
    suite = Suite(
        state,
        ports={svc: free_port() for svc in SERVICES},
        database_urls={
            svc: u.replace("postgresql://", "postgresql+asyncpg://") for svc, u in urls.items()
        },
        extra_env={
            "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
            # Ingest is the busiest service of this run: two worker processes, as a two-core
            # host would run it (one process would leave a core to everything else).
            "INGEST_WORKERS": str(INGEST_WORKERS),
        },
    )
    try:
        suite.migrate()
        suite.start()
        suite.wait_ready(timeout=120)
        await register_camera(urls["ingest"])
        token = await camera_token(suite, state)
        direct = payloads(API_READS, f"direct-{RUN}")
        via_gateway = payloads(API_READS, f"gateway-{RUN}")
        c = await measured(suite, f"{suite.url('ingest')}/v1/reads", direct, token, urls)
        # Each run starts from an empty reads table, as each (a) run does: a COPY costs more
        # into larger indexes, and (b) would otherwise write on top of (c)'s reads.
        await empty_reads(urls["ingest"])
        b = await measured(
            suite, f"{suite.url('gateway')}/v1/ingest/reads", via_gateway, token, urls
        )
        # One read per request, as vendor webhooks post them (issue 21), on the same suite, once
        # it is quiet: (b)'s events delivered and the tables they filled vacuumed (else the
        # first kind shares its cores with that catching up: 1.05 ms of PostgreSQL a post
        # against 0.55-0.62 for the next ones, in a run at fe0867d).
        await empty_reads(urls["ingest"])
        if SINGLE_INGEST_WORKERS != INGEST_WORKERS:
            suite.stop(("ingest",))
            suite.extra_env["INGEST_WORKERS"] = str(SINGLE_INGEST_WORKERS)
            suite.start(("ingest",))
            suite.wait_ready(("ingest",), timeout=120)
        await quiet(urls)
        single = await single_read.run_section(suite, ingest_url=urls["ingest"])
        return {
            "single": single,
            "direct_rows_per_s": c["stored"] / c["elapsed"],
            "gateway_rows_per_s": b["stored"] / b["elapsed"],
            "direct_stored": c["stored"],
            "gateway_stored": b["stored"],
            "cpu": {"(b) via gateway": b, "(c) direct": c},
        }
    finally:
        suite.stop()
        for name in names.values():
            await drop_db(name)


# --- search and purge over 5,000,000 reads ---------------------------------------------------


async def load_days(url: str, n: int, today: date) -> tuple[list[str], date, date]:
    """30 day partitions: the oldest holds 1,000,000 reads, the next 10,000, the rest share the
    remainder. Returns sample plates and the big and small days."""
    await upgrade(SPEC.migrations_dir, url)
    days = [today - timedelta(days=d) for d in range(DAYS - 1, -1, -1)]
    big, small = days[0], days[1]
    scale = n / 5_000_000
    sizes = {big: int(BIG_DAY * scale), small: int(SMALL_DAY * scale)}
    rest = (n - sizes[big] - sizes[small]) // (DAYS - 2)
    for d in days[2:]:
        sizes[d] = rest
    rng = random.Random(7)
    pool = [plate(rng) for _ in range(max(1000, n // 5))]
    keys = [fold_confusable(p) for p in pool]
    cols = [
        "read_id", "captured_at", "received_at", "plate", "plate_key", "candidates",
        "camera_id", "camera_type", "zip_code", "sector", "lat", "lon", "source",
        "related_count", "dedup_key", "clock_skew_seconds", "clock_flagged", "posted_by",
    ]  # fmt: skip
    conn = await asyncpg.connect(url)
    for d in days:
        await conn.execute(partitions.create_sql(d))
    await conn.close()
    counter = 0

    def chunk(day: date, count: int) -> list[tuple[Any, ...]]:
        nonlocal counter
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        out = []
        for k in range(count):
            i = counter + k
            p = (i * 2_654_435_761) % len(pool)
            at = start + timedelta(seconds=(i * 7919) % 86_400)
            out.append(
                (
                    uuid.UUID(int=i + 1), at, at, pool[p], keys[p], "[]", CAMERA, "trailer",
                    "78701", "George", 30.2674, -97.736, "native", 0, f"{i:032x}", 0.0,
                    False, "client:bench",
                )
            )  # fmt: skip
        counter += count
        return out

    conns = [await asyncpg.connect(url) for _ in range(2)]
    try:
        jobs: list[tuple[date, int]] = []
        for d in days:
            left = sizes[d]
            while left > 0:
                jobs.append((d, min(50_000, left)))
                left -= 50_000

        async def loader(conn: asyncpg.Connection, mine: list[tuple[date, int]]) -> None:
            for d, count in mine:
                await conn.copy_records_to_table(
                    "plate_read", records=chunk(d, count), columns=cols
                )

        await asyncio.gather(loader(conns[0], jobs[0::2]), loader(conns[1], jobs[1::2]))
        await conns[0].execute("ANALYZE plate_read")
    finally:
        for c in conns:
            await c.close()
    return rng.sample(pool, SEARCHES), big, small


def in_process_app(url: str, state: Path) -> tuple[Any, KeyRing]:
    """The ingest app on `url`, run in this process (no relay, no maintenance), trusting tokens
    signed by the key ring it returns."""
    keys = state / "keys"
    keys.mkdir(parents=True, exist_ok=True)
    KeyRing.write_new_key(keys)
    ring = KeyRing.from_dir(keys)
    settings = IngestSettings(
        environment="test",
        run_relay=False,
        run_maintenance=False,
        database_url=url.replace("postgresql://", "postgresql+asyncpg://"),
        image_dir=state / "images",
        export_dir=state / "exports",
    )
    app = create_app(settings)
    app.state.verifier = TokenVerifier(
        JWKSCache(static=ring.jwks()), issuer="alpr-access", audience="alpr"
    )
    # No access here: the benchmark's own principals are the live ones.
    principals = StaticStatus()
    principals.add(
        "user:bench",
        kind="person",
        roles=frozenset({"investigator"}),
        training_valid_until=datetime.now(UTC) + timedelta(days=30),
    )
    principals.add("client:bench-cam", kind="machine", roles=frozenset({"camera"}))
    app.state.principal_status.use_source(principals, 60.0)
    return app, ring


async def bench_search_and_purge(url: str, state: Path) -> dict[str, Any]:
    now = datetime.now(UTC)
    started = time.perf_counter()
    sample, big, small = await load_days(url, SEARCH_READS, now.date())
    load_s = time.perf_counter() - started
    app, ring = in_process_app(url, state)
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
        expires_at=now + timedelta(minutes=15),
    )
    headers = {
        "Authorization": f"Bearer {token}",
        "X-ALPR-Purpose": "criminal_investigation",
        "X-ALPR-Case": "2026-0001234",
        "X-ALPR-Reason": "benchmark of exact plate search latency",
    }
    latencies = []
    totals = []
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        for p in sample[:20]:  # warm-up
            await client.get("/v1/reads", params={"plate": p}, headers=headers)
        for p in sample:
            t0 = time.perf_counter()
            resp = await client.get("/v1/reads", params={"plate": p}, headers=headers)
            latencies.append(time.perf_counter() - t0)
            if resp.status_code != 200:
                raise RuntimeError(f"search: HTTP {resp.status_code} {resp.text[:300]}")
            totals.append(resp.json()["total"])
    latencies.sort()
    rt = app.state.runtime
    db: Database = app.state.db
    purge_times = {}
    async with db.sessionmaker() as session:
        # Warm-up: nothing is old enough yet; then touch both days' partitions once, so neither
        # timing includes loading their catalog entries and index roots for the first time.
        await purge_mod.purge(session, rt=rt)
        for day in (big, small):
            lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
            await purge_repo.image_hashes_between(session, lo=lo, hi=lo + timedelta(days=1))
            await partitions.estimated_rows(session, partitions.partition_name(day))
        await session.rollback()
    for label, day in (("big", big), ("small", small)):
        # The purge drops a day once its first reads are 30 days old: run it "then".
        moment = datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=30)
        rt.clock = lambda moment=moment: moment
        async with db.sessionmaker() as session:
            t0 = time.perf_counter()
            report, _ = await purge_mod.purge(session, rt=rt)
            await session.commit()
            purge_times[label] = time.perf_counter() - t0
        async with db.sessionmaker() as session:
            t0 = time.perf_counter()
            await partitions.drop_detached(session)
            await session.commit()
            purge_times[f"{label}_files"] = time.perf_counter() - t0
        dropped = [d["day"] for d in report["days"]]
        if dropped != [day.isoformat()]:
            raise RuntimeError(f"purge dropped {dropped}, expected {day}")
    await db.dispose()
    return {
        "load_s": load_s,
        "rows": SEARCH_READS,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "mean_hits": statistics.mean(totals),
        "purge_big_s": purge_times["big"],
        "purge_small_s": purge_times["small"],
        "files_big_s": purge_times["big_files"],
        "files_small_s": purge_times["small_files"],
    }


async def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    print(
        f"ingest benchmark on {PG_URL.rsplit('@', 1)[-1]}; API reads {API_READS}, "
        f"search reads {SEARCH_READS}, concurrency {CONCURRENCY}, ingest workers {INGEST_WORKERS}",
        flush=True,
    )
    copy_db = f"bench_ingest_copy_{RUN}"
    search_db = f"bench_ingest_search_{RUN}"
    try:
        # (a) before and after the API runs, averaged: the machine may be busy with other work.
        t0 = time.perf_counter()
        before = await bench_copy(await create_db(copy_db), API_READS)
        print(f"  (a) COPY done in {time.perf_counter() - t0:.0f}s", flush=True)
        t0 = time.perf_counter()
        api = await bench_api(state / "suite")
        print(f"  (b)+(c) API done in {time.perf_counter() - t0:.0f}s", flush=True)
        await drop_db(copy_db)
        after = await bench_copy(await create_db(copy_db), API_READS)
        copy = {k: (before[k] + after[k]) / 2 for k in before}
        print(
            f"  (a) again: {before['rows_per_s']:,.0f} then {after['rows_per_s']:,.0f} rows/s",
            flush=True,
        )
        t0 = time.perf_counter()
        sqlite_single = await single_read.sqlite_suite_section(state / "sqlite-suite")
        print(f"  single reads on SQLite done in {time.perf_counter() - t0:.0f}s", flush=True)
        floor = await http_floor.run_floor(
            seconds=single_read.SECONDS, concurrency=single_read.CONCURRENCY
        )
        t0 = time.perf_counter()
        search = await bench_search_and_purge(await create_db(search_db), state)
        print(f"  search and purge done in {time.perf_counter() - t0:.0f}s", flush=True)
    finally:
        await drop_db(copy_db)
        await drop_db(search_db)
    a = copy["rows_per_s"]
    rows = [
        ("(a) raw COPY into plate_read, 500-row batches", f"{a:,.0f} rows/s", "1.00"),
        ("    raw COPY, 10,000-row chunks (info)", f"{copy['rows_per_s_10k']:,.0f} rows/s",
         f"{copy['rows_per_s_10k'] / a:.2f}"),
        ("(b) native API via gateway, batches of 500", f"{api['gateway_rows_per_s']:,.0f} rows/s",
         f"{api['gateway_rows_per_s'] / a:.2f}  (target >= 0.6, issue 16; design: 0.50)"),
        ("(c) native API direct to ingest, batches of 500",
         f"{api['direct_rows_per_s']:,.0f} rows/s", f"{api['direct_rows_per_s'] / a:.2f}"),
        ("    gateway / direct", "", f"{api['gateway_rows_per_s'] / api['direct_rows_per_s']:.2f}"),
        (f"exact-plate search over {search['rows']:,} reads, 30 partitions",
         f"p50 {search['p50_ms']:.1f} ms  p99 {search['p99_ms']:.1f} ms",
         f"{search['mean_hits']:.1f} hits/search"),
        ("purge of a 1,000,000-read day (detach, commit)",
         f"{search['purge_big_s'] * 1000:.0f} ms", ""),
        ("purge of a 10,000-read day (detach, commit)", f"{search['purge_small_s'] * 1000:.0f} ms",
         f"big/small {search['purge_big_s'] / search['purge_small_s']:.2f}  (target <= 2)"),
        ("  then dropping the detached files: 1,000,000 / 10,000",
         f"{search['files_big_s'] * 1000:.0f} ms / {search['files_small_s'] * 1000:.0f} ms",
         f"big/small {search['files_big_s'] / search['files_small_s']:.2f}  (file system)"),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'measure':<{width}}  {'figure':<28}  ratio")
    print("-" * (width + 50))
    for name, figure, ratio in rows:
        print(f"{name:<{width}}  {figure:<28}  {ratio}")
    print("\nCPU time per stored read, by process (µs), and cores busy during the API runs:")
    kinds = sorted(
        {k for run in api["cpu"].values() for k, v in run["cpu"].items() if v > 0.05},
        key=lambda k: -api["cpu"]["(c) direct"]["cpu"].get(k, 0.0),
    )
    print(f"{'':18}" + "".join(f"{k[:14]:>15}" for k in kinds) + f"{'total':>10}{'cores':>8}")
    for label, run in api["cpu"].items():
        per_read = {k: run["cpu"].get(k, 0.0) / max(run["stored"], 1) * 1e6 for k in kinds}
        total = sum(max(v, 0.0) for v in run["cpu"].values())
        print(
            f"{label:18}"
            + "".join(f"{per_read[k]:>15.1f}" for k in kinds)
            + f"{total / max(run['stored'], 1) * 1e6:>10.1f}{total / run['elapsed']:>8.2f}"
        )
    # `make bench` repeats this line at the end, beside read-to-alert latency.
    print(
        f"HEADLINE ingest (b)/(a) = {api['gateway_rows_per_s'] / a:.2f}  "
        "(target >= 0.6, issue 16; design: 0.50): "
        f"API via gateway {api['gateway_rows_per_s']:,.0f} rows/s, raw COPY {a:,.0f} rows/s"
    )
    single_read.print_section(
        f"Single-read posts on PostgreSQL ({single_read.CONCURRENCY} connections unless the row "
        "says, "
        f"{single_read.SECONDS:.0f} s per kind, ingest workers {SINGLE_INGEST_WORKERS}; "
        f"target {single_read.target('postgresql')})",
        api["single"],
        "postgresql",
    )
    http_floor.print_floor(floor, api["single"])
    single_read.print_section(
        f"Single-read posts on SQLite, `make run` ({single_read.CONCURRENCY} connections unless "
        "the row says; "
        f"target {single_read.target('sqlite')})",
        sqlite_single,
        "sqlite",
    )
    load = os.getloadavg()[0]
    print(
        f"\n({search['rows']:,}-read load by COPY took {search['load_s']:.0f}s; "
        f"{os.cpu_count()} CPUs; load average {load:.1f} at the end)"
    )
    return 0


if __name__ == "__main__":
    # uvloop, as the services run: the load generator's own CPU is taken from the suite.
    sys.exit(uvloop.run(main()))
