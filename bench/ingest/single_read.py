"""Single-read posts (issue 21): one read per HTTP request, as vendor webhooks send them.

Native 1-read batches, Plate Recognizer Stream webhooks (JSON) and Hikvision ISAPI ANPR alerts
(XML, the camera named by a vendor key: MAC and channel) are posted by CONCURRENCY keep-alive
connections, each a camera of its own, for SECONDS each, through the gateway and directly to
ingest. Every post carries a new read; each answer must be 200 and say `stored: 1`. The figures:
posts/s, p50 / p99 latency, 5xx count, CPU per post (all processes), and at the end the reads
in the table against the reads acknowledged.

`bench_ingest.py` prints this section beside its batch figures (PostgreSQL), and runs it once
more on SQLite, the `make run` default. Alone:

    .venv/bin/python bench/ingest/single_read.py --db sqlite      # or --db postgresql
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import secrets
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent))

import http_floor  # the floor of a single-read post, beside this module

from alpr_common.suite import SERVICES, Suite, cpu_seconds, cpu_spent, free_port

SECONDS = float(os.environ.get("BENCH_SINGLE_SECONDS", "15"))
CONCURRENCY = int(os.environ.get("BENCH_SINGLE_CONCURRENCY", "16"))
PG_URL = os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
KINDS = ("native", "platerecognizer", "hikvision")


def camera_id(i: int) -> str:
    return f"bench-single-{i:03d}"


def hik_mac(i: int) -> str:
    return f"44:a6:42:00:{i // 256:02x}:{i % 256:02x}"


class Bodies:
    """A new read for every post, made from a template by string formatting (the load generator
    shares the cores with the suite: it is kept cheap)."""

    def __init__(self, kind: str, cam: int, tag: str) -> None:
        self.kind = kind
        self.cam = cam
        self.tag = tag
        self.n = 0

    def path(self) -> str:
        return "reads" if self.kind == "native" else f"vendor-reads/{self.kind}"

    def content_type(self) -> str:
        return "application/xml" if self.kind == "hikvision" else "application/json"

    def next(self) -> bytes:
        self.n += 1
        n = self.n
        plate = f"S{self.cam:02d}{n % 100000:05d}"[-8:]
        # Spread over the last hour, distinct per post: no two posts are the same read.
        at = datetime.now(UTC) - timedelta(seconds=n % 3000, microseconds=n % 997)
        cam = camera_id(self.cam)
        if self.kind == "native":
            read = {
                "plate": plate,
                "region": "US-TX",
                "captured_at": at.isoformat(),
                "camera": cam,
                "vendor_read_id": f"{self.tag}-{n}",
                "confidence": 0.93,
                "candidates": [{"plate": plate[::-1], "confidence": 0.41}],
            }
            return orjson.dumps({"reads": [read]})
        if self.kind == "platerecognizer":
            lower = plate.lower()
            data = {
                "camera_id": cam,
                "filename": f"{self.tag}/{n}.jpg",
                "timestamp": at.isoformat().replace("+00:00", "Z"),
                "timestamp_camera": None,
                "results": [
                    {
                        "plate": lower,
                        "score": 0.998,
                        "region": {"code": "us-tx", "score": 0.95},
                        "candidates": [
                            {"plate": lower, "score": 0.998},
                            {"plate": lower[::-1], "score": 0.7},
                        ],
                        "vehicle": {"score": 0.9, "type": "SUV"},
                    }
                ],
            }
            return orjson.dumps({"data": data, "hook": {"event": "recognition", "id": cam}})
        local = at.astimezone().isoformat(timespec="milliseconds")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
            "<ipAddress>10.20.33.18</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>"
            f"<macAddress>{hik_mac(self.cam)}</macAddress><channelID>1</channelID>"
            f"<dateTime>{local}</dateTime><activePostCount>1</activePostCount>"
            "<eventType>ANPR</eventType><eventState>active</eventState>"
            f"<eventDescription>ANPR</eventDescription><channelName>Bench {self.cam}</channelName>"
            f"<ANPR><licensePlate>{plate}</licensePlate><line>1</line>"
            "<direction>forward</direction><confidenceLevel>94</confidenceLevel>"
            "<plateType>unknown</plateType><plateColor>white</plateColor>"
            "<vehicleType>SUVMPV</vehicleType><vehicleInfo><color>gray</color></vehicleInfo>"
            f"<originalLicensePlate>{plate}</originalLicensePlate></ANPR>"
            f"<UUID>{uuid.uuid4()}</UUID><picNum>0</picNum></EventNotificationAlert>"
        ).encode()


class _Conn(asyncio.Protocol):
    """One camera's keep-alive HTTP/1.1 connection, requests written as bytes, answers parsed by
    llhttp: as lean as a camera's firmware (see bench_ingest._CameraConnection)."""

    def __init__(self) -> None:
        import httptools

        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.done: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.done is not None
        if not self.done.done():
            self.done.set_result(None)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self.body = []
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self.done
        return self.parser.get_status_code(), b"".join(self.body)


async def _open(url: str) -> _Conn:
    parts = httpx.URL(url)
    _, conn = await asyncio.get_running_loop().create_connection(_Conn, parts.host, parts.port)
    return conn


async def run_kind(
    base: str,
    kind: str,
    token: str,
    *,
    seconds: float,
    concurrency: int,
    cpu: Callable[[], dict[str, float]],
    tag: str,
) -> dict[str, Any]:
    """Post single reads of `kind` to `base` (`<gateway>/v1/ingest` or `<ingest>/v1`) for
    `seconds` from `concurrency` connections; the figures of the run. `cpu` reads the CPU
    seconds used so far by kind of process (`cpu_seconds` of a suite)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    stored = 0
    conns = [await _open(base) for _ in range(concurrency)]
    makers = [Bodies(kind, i, f"{tag}-{kind}") for i in range(concurrency)]
    parts = httpx.URL(base)
    head = (
        f"POST {parts.raw_path.decode()}/{makers[0].path()} HTTP/1.1\r\n"
        f"Host: {parts.netloc.decode()}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {makers[0].content_type()}\r\nContent-Length: "
    ).encode()

    async def one(conn: _Conn, maker: Bodies) -> None:
        nonlocal stored
        t0 = time.perf_counter()
        status, answer = await conn.post(head, maker.next())
        latencies.append(time.perf_counter() - t0)
        statuses[status] += 1
        if status == 200:
            stored += int(orjson.loads(answer)["stored"])
        elif len(errors) < 5:
            errors.append(f"HTTP {status} {answer[:200]!r}")

    # Warm-up: a few posts per connection (first tokens, caches, the relays' first deliveries).
    for _ in range(3):
        await asyncio.gather(*(one(c, m) for c, m in zip(conns, makers, strict=True)))
    latencies.clear()
    statuses.clear()
    stored = 0
    before = cpu()
    started = time.perf_counter()
    deadline = started + seconds

    async def loop(conn: _Conn, maker: Bodies) -> None:
        while time.perf_counter() < deadline:
            await one(conn, maker)

    await asyncio.gather(*(loop(c, m) for c, m in zip(conns, makers, strict=True)))
    elapsed = time.perf_counter() - started
    spent = cpu_spent(before, cpu())
    for c in conns:
        assert c.transport is not None
        c.transport.close()
    latencies.sort()
    posts = len(latencies)
    suite_cpu = sum(v for k, v in spent.items() if k not in ("load generator", "other") and v > 0)
    return {
        "kind": kind,
        "posts": posts,
        "posts_per_s": posts / elapsed,
        "p50_ms": latencies[posts // 2] * 1000 if posts else 0.0,
        "p99_ms": latencies[max(int(posts * 0.99) - 1, 0)] * 1000 if posts else 0.0,
        "max_ms": latencies[-1] * 1000 if posts else 0.0,
        "stored": stored,
        "status": dict(statuses),
        "errors": errors,
        "cpu_ms_per_post": suite_cpu / max(posts, 1) * 1000,
        "cpu": {k: v / max(posts, 1) * 1000 for k, v in spent.items() if v > 0.005},
        "cores": suite_cpu / elapsed,
    }


async def _cso_and_client(suite: Suite, cameras: list[str]) -> tuple[str, str]:
    """A CSO token (to register cameras) and a camera client token bound to `cameras`."""
    import pyotp

    password = secrets.token_urlsafe(18)
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "singlecso",
        "--full-name",
        "Bench CSO",
        "--badge",
        "2",
        "--password-stdin",
        "--allow-additional",
        input_text=password + "\n",
    )
    totp = json.loads(out.strip().splitlines()[-1])["totp_secret"]
    access = suite.url("access")
    async with httpx.AsyncClient(timeout=30) as client:
        login = await client.post(
            f"{access}/v1/token",
            data={
                "grant_type": "password",
                "username": "singlecso",
                "password": password,
                "totp": pyotp.TOTP(totp).now(),
            },
        )
        login.raise_for_status()
        cso = str(login.json()["access_token"])
        made = await client.post(
            f"{access}/v1/clients",
            json={"name": "bench single-read cameras", "kind": "camera", "cameras": cameras},
            headers={"Authorization": f"Bearer {cso}"},
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
        return cso, str(resp.json()["access_token"])


_CAMERA_SQL = (
    "INSERT INTO camera (id, name, vendor, camera_type, status, lat, lon, zip_code, sector, "
    "created_at, created_by, updated_at, updated_by, activated_at) VALUES "
    "({0}, {1}, 'other', 'trailer', 'active', {2}, -97.736, '78701', 'George', {3}, 'bench', "
    "{3}, 'bench', {3})"
)
_KEY_SQL = "INSERT INTO camera_key (key, camera_id, created_at) VALUES ({0}, {1}, {2})"


async def register_cameras(suite: Suite, ingest_url: str | None, n: int) -> None:
    """Trailer cameras (active at once), each with its Hikvision key (`<mac>-ch1`), written to
    ingest's database before ingest has seen any of them (registering through the API needs an
    admin with training; the rows are the same)."""
    now = datetime.now(UTC)
    rows = [(camera_id(i), f"Bench camera {i}", 30.2674 + i / 1000) for i in range(n)]
    keys = [(f"{hik_mac(i)}-ch1", camera_id(i)) for i in range(n)]
    if ingest_url is None:
        at = now.replace(tzinfo=None).isoformat(sep=" ")
        with sqlite3.connect(suite.state_dir / "ingest.db") as db:
            db.executemany(_CAMERA_SQL.format("?1", "?2", "?3", "?4"), [(*r, at) for r in rows])
            db.executemany(_KEY_SQL.format("?1", "?2", "?3"), [(*k, at) for k in keys])
        return
    conn = await _pg_connect(ingest_url)
    try:
        await conn.executemany(
            _CAMERA_SQL.format("$1", "$2", "$3", "$4"), [(*r, now) for r in rows]
        )
        await conn.executemany(_KEY_SQL.format("$1", "$2", "$3"), [(*k, now) for k in keys])
    finally:
        await conn.close()


async def count_reads(suite: Suite, ingest_url: str | None) -> int:
    if ingest_url is None:
        with sqlite3.connect(suite.state_dir / "ingest.db") as conn:
            return int(conn.execute("SELECT count(*) FROM plate_read").fetchone()[0])
    conn = await _pg_connect(ingest_url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM plate_read"))
    finally:
        await conn.close()


async def _pg_connect(url: str) -> asyncpg.Connection:
    """A connection to `url`, waiting while PostgreSQL has none to spare: after a run the
    suite's pools (six services, their relays' listeners) and other work on the machine may
    hold all of `max_connections` for a while."""
    url = url.replace("postgresql+asyncpg://", "postgresql://")
    for attempt in range(20):
        try:
            return await asyncpg.connect(url)
        except asyncpg.TooManyConnectionsError:
            print("  PostgreSQL has no connection to spare; waiting", flush=True)
            await asyncio.sleep(min(1.0 + attempt, 10.0))
    raise RuntimeError(
        "PostgreSQL refused connections for two minutes (max_connections reached): stop other "
        "work on it or raise max_connections, then run again"
    )


async def run_section(
    suite: Suite,
    *,
    ingest_url: str | None,
    seconds: float = SECONDS,
    concurrency: int = CONCURRENCY,
    kinds: tuple[str, ...] = KINDS,
) -> list[dict[str, Any]]:
    """Every kind through the gateway, then direct; `ingest_url` None means SQLite."""
    cameras = [camera_id(i) for i in range(concurrency)]
    _cso, token = await _cso_and_client(suite, cameras)
    await register_cameras(suite, ingest_url, concurrency)
    before = await count_reads(suite, ingest_url)
    tag = secrets.token_hex(3)
    results = []
    for kind in kinds:
        for route, base in (
            ("gateway", f"{suite.url('gateway')}/v1/ingest"),
            ("direct", f"{suite.url('ingest')}/v1"),
        ):
            print(f"  single reads: {kind} via {route} ({seconds:.0f}s)...", flush=True)
            load = os.getloadavg()[0]
            r = await run_kind(
                base,
                kind,
                token,
                seconds=seconds,
                concurrency=concurrency,
                cpu=functools.partial(cpu_seconds, suite),
                tag=f"{tag}-{route}",
            )
            r["route"] = route
            r["load_before"] = load
            results.append(r)
            fives = sum(n for s, n in r["status"].items() if s >= 500)
            print(
                f"    {r['posts_per_s']:,.0f} posts/s, p50 {r['p50_ms']:.1f} ms, p99 "
                f"{r['p99_ms']:.1f} ms, {fives} 5xx, {r['cpu_ms_per_post']:.2f} ms CPU/post, "
                f"load {load:.1f}",
                flush=True,
            )
    in_table = await count_reads(suite, ingest_url) - before
    results.append({"in_table": in_table})
    return results


def print_section(title: str, results: list[dict[str, Any]]) -> None:
    rows = [r for r in results if "kind" in r]
    acked = sum(r["stored"] for r in rows)
    # The warm-up posts (3 per connection per run) are stored too and not in `stored`.
    print(f"\n{title}")
    print(
        f"{'kind':32}{'posts/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'5xx':>6}"
        f"{'CPU ms/post':>13}{'cores':>7}{'load':>6}"
    )
    for r in rows:
        fives = sum(n for s, n in r["status"].items() if s >= 500)
        print(
            f"{r['kind'] + ' via ' + r['route']:32}{r['posts_per_s']:>9,.0f}{r['p50_ms']:>9.1f}"
            f"{r['p99_ms']:>9.1f}{r['max_ms']:>9.0f}{fives:>6}{r['cpu_ms_per_post']:>13.2f}"
            f"{r['cores']:>7.2f}{r['load_before']:>6.1f}"
        )
        others = {s: n for s, n in r["status"].items() if s != 200}
        if others:
            print(f"    statuses {others}; {r['errors'][:2]}")
    for r in rows:
        split = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["cpu"].items(), key=lambda x: -x[1]))
        print(f"  CPU ms/post {r['kind']} via {r['route']}: {split}")
    warm = 3 * CONCURRENCY * len(rows)
    in_table = next(r["in_table"] for r in results if "in_table" in r)
    print(
        f"  acknowledged {acked:,} (+{warm} warm-up) ; in the table {in_table:,}: "
        + ("every acknowledged read stored" if in_table >= acked else "READS MISSING")
    )


async def sqlite_suite_section(state: Path, **kw: Any) -> list[dict[str, Any]]:
    suite = Suite(
        state,
        ports={svc: free_port() for svc in SERVICES},
        extra_env={
            "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
        },
    )
    try:
        suite.migrate()
        suite.start()
        suite.wait_ready(timeout=120)
        return await run_section(suite, ingest_url=None, **kw)
    finally:
        suite.stop()


async def postgres_suite_section(state: Path, workers: int, **kw: Any) -> list[dict[str, Any]]:
    from alpr_common.suite import postgres_databases

    prefix = f"bench_single_{os.getpid()}"
    urls = await asyncio.to_thread(postgres_databases, PG_URL, prefix)
    suite = Suite(
        state,
        ports={svc: free_port() for svc in SERVICES},
        database_urls=urls,
        extra_env={
            "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
            "INGEST_WORKERS": str(workers),
        },
    )
    try:
        suite.migrate()
        suite.start()
        suite.wait_ready(timeout=120)
        return await run_section(suite, ingest_url=urls["ingest"], **kw)
    finally:
        suite.stop()
        await asyncio.to_thread(postgres_databases, PG_URL, prefix, drop=True)


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--workers", type=int, default=2, help="ingest workers (PostgreSQL)")
    args = parser.parse_args()
    kinds = tuple(args.kinds.split(","))
    state = Path(tempfile.mkdtemp(prefix="bench-single-"))
    print(f"uptime: {os.getloadavg()}", flush=True)
    if args.db == "sqlite":
        results = await sqlite_suite_section(state, kinds=kinds, seconds=args.seconds)
    else:
        results = await postgres_suite_section(
            state, args.workers, kinds=kinds, seconds=args.seconds
        )
    floor = await http_floor.run_floor(seconds=args.seconds, concurrency=CONCURRENCY)
    print_section(f"single-read posts on {args.db}, {CONCURRENCY} connections", results)
    http_floor.print_floor(floor, results)
    print(f"uptime at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(uvloop.run(main()))
