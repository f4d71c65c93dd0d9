"""Read-to-alert latency on the RTCC stream, at half the peak intake rate.

    .venv/bin/python bench/match/bench_stream.py [--stream-entries 100000] [--seconds 30]
        [--database-url postgresql+asyncpg://...]     (default: a fresh SQLite file)

Starts the hotlist service as its own process (uvicorn, the real app), imports `--stream-entries`
generated hot-list records through the API, opens the RTCC stream (server-sent events), then:

1. peak: posts `ingest.reads` events to `POST /v1/events` back to back, as ingest's outbox relay
   does, with `--concurrency` posters and `--batch` reads per event, for `--peak-seconds`;
   the reads/s it sustains is the peak intake rate;
2. half: posts the same mix at half that rate for `--seconds`, on a fixed schedule, and times
   each hot-listed read from the moment its batch is posted to the moment its alert arrives on
   the stream (p50, p99, max). Every hit uses its own camera, so each opens a new alert.

The hit share (`--hit-ratio`, default 0.5 %) is far above a real city's, to get enough samples.
Ingest's own share of the end-to-end path (camera -> gateway -> ingest -> outbox) is not in
this figure: this is hotlist's part, from the read's arrival to the RTCC screen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alpr_common.auth import principal_claims
from alpr_common.jwt import KeyRing
from alpr_common.migrations import upgrade
from alpr_hotlist.main import SPEC

HERE = Path(__file__).resolve().parent
ISSUER = "alpr-access"
AUDIENCE = "alpr"
PURPOSE = {
    "X-ALPR-Purpose": "alert_response",
    "X-ALPR-Case": "BENCH-0001",
    "X-ALPR-Reason": "benchmark of the RTCC alert stream latency",
}
LETTERS = string.ascii_uppercase
DIGITS = string.digits


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_plate(rnd: random.Random) -> str:
    return "".join(rnd.choice(LETTERS) for _ in range(3)) + "".join(
        rnd.choice(DIGITS) for _ in range(4)
    )


def miss_plate(rnd: random.Random) -> str:
    # Six-character plates: never one of the seven-character entries, nor confusable with one.
    return "".join(rnd.choice(LETTERS) for _ in range(3)) + "".join(
        rnd.choice(DIGITS) for _ in range(3)
    )


class Tokens:
    def __init__(self, keys: KeyRing) -> None:
        self.keys = keys

    def headers(self, *roles: str, purpose: bool = False) -> dict[str, str]:
        machine = "service" in roles
        claims = principal_claims(
            subject="client:bench" if machine else "user:bench",
            kind="machine" if machine else "person",
            name="benchmark",
            roles=list(roles),
            training_valid_until=None if machine else datetime.now(UTC) + timedelta(days=30),
        )
        token = self.keys.sign(
            claims,
            issuer=ISSUER,
            audience=AUDIENCE,
            expires_at=datetime.now(UTC) + timedelta(minutes=15),
        )
        return {"Authorization": f"Bearer {token}", **(PURPOSE if purpose else {})}


def read(plate: str, camera: str) -> dict[str, Any]:
    return {
        "read_id": str(uuid.uuid4()),
        "plate": plate,
        "region": "US-TX",
        "captured_at": datetime.now(UTC).isoformat(),
        "camera_id": camera,
        "camera_type": "fixed",
        "zip_code": "78701",
        "sector": "GEORGE",
        "lat": 30.27,
        "lon": -97.74,
        "confidence": 0.9,
    }


@contextlib.asynccontextmanager
async def hotlist_process(workdir: Path, database_url: str, keys_dir: Path) -> AsyncIterator[str]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "BENCH_KEY_DIR": str(keys_dir),
            "BENCH_PORT": str(port),
            "HOTLIST_DATABASE_URL": database_url,
            "HOTLIST_ENVIRONMENT": "dev",
            "HOTLIST_RUN_RELAY": "false",  # no audit service here; events wait in the outbox
            "HOTLIST_LOG_LEVEL": "WARNING",
        }
    )
    log = (workdir / "hotlist.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "hotlist_server.py"),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 60
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"hotlist exited; see {workdir / 'hotlist.log'}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{url}/readyz")).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise TimeoutError("hotlist not ready after 60 s")
                await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        log.close()


class Stream:
    """The RTCC stream, read in the background: alert first_read_id -> arrival time."""

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> None:
        self.client = client
        self.url = url
        self.headers = headers
        self.arrivals: dict[str, float] = {}
        self.arrived = asyncio.Event()
        self.open = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async with self.client.stream(
            "GET",
            f"{self.url}/v1/alerts/stream",
            headers={**self.headers, "Accept": "text/event-stream"},
            timeout=httpx.Timeout(10, read=None),
        ) as resp:
            resp.raise_for_status()
            buffer = ""
            async for chunk in resp.aiter_text():
                now = time.perf_counter()
                buffer += chunk
                while "\n\n" in buffer:
                    raw, buffer = buffer.split("\n\n", 1)
                    if "stream open" in raw:
                        self.open.set()
                    for line in raw.split("\n"):
                        if line.startswith("data:"):
                            alert = json.loads(line[5:])
                            self.arrivals[alert["first_read_id"]] = now
                            self.arrived.set()

    async def __aenter__(self) -> Stream:
        self.task = asyncio.create_task(self.run())
        await asyncio.wait_for(self.open.wait(), 10)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.task is not None
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class Load:
    """Batches of reads, encoded before the clock starts so the client costs little."""

    def __init__(self, args: argparse.Namespace, plates: list[str], headers: dict[str, str]):
        self.args = args
        self.plates = plates
        self.headers = {**headers, "Content-Type": "application/json"}
        self.rnd = random.Random(args.stream_seed + 1)
        self.cameras = 0
        self.sent_hits: dict[str, float] = {}
        self.post_ms: list[float] = []

    def batch(self) -> tuple[bytes, list[str]]:
        reads, hits = [], []
        for _ in range(self.args.batch):
            if self.rnd.random() < self.args.hit_ratio:
                self.cameras += 1
                r = read(self.rnd.choice(self.plates), f"bench-cam-{self.cameras}")
                hits.append(r["read_id"])
            else:
                r = read(miss_plate(self.rnd), f"bench-cam-miss-{self.rnd.randrange(200)}")
            reads.append(r)
        return json.dumps(reads).encode(), hits

    def batches(self, n: int) -> list[tuple[bytes, list[str]]]:
        return [self.batch() for _ in range(n)]

    async def post(
        self,
        client: httpx.AsyncClient,
        url: str,
        batch: tuple[bytes, list[str]],
        *,
        record: bool,
    ) -> int:
        reads, hits = batch
        body = (
            b'{"events":[{"id":"' + str(uuid.uuid4()).encode() + b'","source":"ingest",'
            b'"type":"ingest.reads","data":{"reads":' + reads + b"}}]}"
        )
        sent = time.perf_counter()
        if record:
            for read_id in hits:
                self.sent_hits[read_id] = sent
        resp = await client.post(f"{url}/v1/events", content=body, headers=self.headers)
        resp.raise_for_status()
        if record:
            self.post_ms.append((time.perf_counter() - sent) * 1000)
        return self.args.batch


async def peak_rate(load: Load, client: httpx.AsyncClient, url: str) -> float:
    """Reads/s the intake sustains with batches posted back to back (hits repeat: the same
    reads cycle, and a read matched before is skipped as a duplicate, as in production)."""
    pool = load.batches(200)
    stop = time.perf_counter() + load.args.peak_seconds
    total = 0
    n = 0

    async def poster() -> None:
        nonlocal total, n
        while time.perf_counter() < stop:
            batch = pool[n % len(pool)]
            n += 1
            total += await load.post(client, url, batch, record=False)

    started = time.perf_counter()
    await asyncio.gather(*(poster() for _ in range(load.args.concurrency)))
    return total / (time.perf_counter() - started)


async def at_rate(load: Load, client: httpx.AsyncClient, url: str, rate: float) -> float:
    interval = load.args.batch / rate
    batches = load.batches(int(load.args.seconds / interval) + 1)
    tasks: list[asyncio.Task[int]] = []
    started = time.perf_counter()
    for n, batch in enumerate(batches):
        delay = started + n * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(load.post(client, url, batch, record=True)))
    sent = sum(await asyncio.gather(*tasks))
    return sent / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextlib.asynccontextmanager
async def scratch_postgres() -> AsyncIterator[str]:
    import asyncpg

    from alpr_common.testing.plugin import pg_admin_url

    name = f"bench_hotlist_{os.getpid()}"
    admin = await asyncpg.connect(pg_admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = pg_admin_url().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(pg_admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


async def run(args: argparse.Namespace) -> None:
    if args.postgres:
        async with scratch_postgres() as url:
            args.database_url = url
            await _run(args)
    else:
        await _run(args)


async def _run(args: argparse.Namespace) -> None:
    rnd = random.Random(args.stream_seed)
    workdir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
    try:
        database_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'hotlist.db'}"
        await upgrade(SPEC.migrations_dir, database_url)
        keys_dir = workdir / "keys"
        keys_dir.mkdir()
        KeyRing.write_new_key(keys_dir)
        tokens = Tokens(KeyRing.from_dir(keys_dir))
        plates = sorted({make_plate(rnd) for _ in range(args.stream_entries)})
        rows = ["plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source"]
        rows += [
            f"{p},TX,stolen_vehicle,V,Stolen vehicle,V{i:09d},TX2279900,2026-01-01,NCIC"
            for i, p in enumerate(plates)
        ]
        csv = ("\n".join(rows) + "\n").encode()
        backend = database_url.split(":", 1)[0].split("+", 1)[0]
        async with (
            hotlist_process(workdir, database_url, keys_dir) as url,
            httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=20)) as client,
        ):
            manager = tokens.headers("hotlist_manager")
            resp = await client.post(
                f"{url}/v1/hotlists", json={"name": "bench", "source": "ncic"}, headers=manager
            )
            resp.raise_for_status()
            t0 = time.perf_counter()
            resp = await client.post(
                f"{url}/v1/hotlist-imports",
                params={"hotlist_id": resp.json()["id"], "format": "canonical"},
                content=csv,
                headers={**manager, "Content-Type": "application/octet-stream"},
            )
            resp.raise_for_status()
            import_s = time.perf_counter() - t0
            added = resp.json()["added"]

            load = Load(args, plates, tokens.headers("service"))
            # Warm up: the replica's index is built, connections are pooled.
            for batch in load.batches(5):
                await load.post(client, url, batch, record=False)
            async with Stream(client, url, tokens.headers("rtcc_operator", purpose=True)) as st:
                peak = await peak_rate(load, client, url)
                await asyncio.sleep(1)
                achieved = await at_rate(load, client, url, peak / 2)
                # Bounded wait for the last alerts to arrive.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(10):
                        while not set(load.sent_hits) <= st.arrivals.keys():
                            st.arrived.clear()
                            await st.arrived.wait()
                latencies = [
                    (st.arrivals[r] - sent) * 1000
                    for r, sent in load.sent_hits.items()
                    if r in st.arrivals
                ]
                missing = len(load.sent_hits) - len(latencies)

        print(
            f"stream benchmark: hotlist as its own process (uvicorn), {backend}, "
            f"python {sys.version.split()[0]}"
        )
        print(
            f"import of {added:,} entries through the API   {import_s:8.2f} s "
            f"({added / import_s:,.0f} entries/s)"
        )
        print(
            f"peak intake (POST /v1/events)              {peak:10,.0f} reads/s "
            f"(batches of {args.batch}, {args.concurrency} posters, {args.hit_ratio:.1%} hits)"
        )
        print(
            f"half the peak, for {args.seconds:.0f} s                   {achieved:10,.0f} reads/s"
        )
        if latencies:
            print(
                f"read-to-alert on the RTCC stream           p50 {pct(latencies, 0.5):7.1f} ms"
                f"   p99 {pct(latencies, 0.99):7.1f} ms   max {max(latencies):7.1f} ms   "
                f"mean {statistics.fmean(latencies):.1f} ms   ({len(latencies)} alerts)"
            )
            print(
                f"POST /v1/events at half the peak           p50 {pct(load.post_ms, 0.5):7.1f} ms"
                f"   p99 {pct(load.post_ms, 0.99):7.1f} ms   max {max(load.post_ms):7.1f} ms"
            )
            verdict = "met" if pct(latencies, 0.99) < 100 else "NOT met"
            print(f"target p99 < 100 ms: {verdict}; alerts missing on the stream: {missing}")
        else:
            print("no alert reached the stream")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_arguments(p)
    return p


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--stream-entries", type=int, default=100_000, help="hot-list entries")
    p.add_argument("--seconds", type=float, default=30.0, help="of load at half the peak")
    p.add_argument("--peak-seconds", type=float, default=10.0)
    p.add_argument("--batch", type=int, default=200, help="reads per ingest.reads event")
    p.add_argument("--concurrency", type=int, default=2, help="posters during the peak phase")
    p.add_argument("--hit-ratio", type=float, default=0.005)
    p.add_argument("--database-url", default=None)
    p.add_argument(
        "--postgres",
        action="store_true",
        help="a scratch database on the test PostgreSQL (ALPR_TEST_PG_URL), dropped after",
    )
    p.add_argument("--stream-seed", type=int, default=344)


if __name__ == "__main__":
    asyncio.run(run(parser().parse_args()))
