"""Per-read cost of `POST /v1/reads` in process: the real app over ASGI on a scratch PostgreSQL
database, batches of 500 as in bench_ingest.py, no network and no gateway.

    .venv/bin/python bench/ingest/micro_ingest.py                 # best of 3 rounds
    MICRO_PROFILE=1 .venv/bin/python bench/ingest/micro_ingest.py  # plus a cProfile summary
    MICRO_TIMERS=1 ...   # wall time of the SQL steps and of the events, per read
    MICRO_GC=1 ...       # the GC tuning of served processes (alpr_common.cli.tune_gc; that
                         # runs in `serve`, which this in-process run skips)

Prints the route's wall time per read (Python + the batch's SQL round trips) and the CPU time of
this process per read (client + app, not PostgreSQL): the CPU figure is the one to compare when
other work loads the machine.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from bench_ingest import (
    CAMERA,
    RUN,
    create_db,
    drop_db,
    in_process_app,
    payloads,
    register_camera,
)

from alpr_common.auth import principal_claims
from alpr_common.cli import tune_gc
from alpr_common.migrations import upgrade
from alpr_ingest import partitions
from alpr_ingest import reads as reads_mod
from alpr_ingest.main import SPEC
from alpr_ingest.repository import cameras as camera_repo
from alpr_ingest.repository import reads as read_repo

READS = int(os.environ.get("MICRO_READS", "10000"))
ROUNDS = int(os.environ.get("MICRO_ROUNDS", "3"))
PROFILE = os.environ.get("MICRO_PROFILE") == "1"
TIMERS: dict[str, float] = {}


def _timed(module: Any, name: str) -> None:
    """Wrap an async function of `module` to add its wall time to TIMERS (MICRO_TIMERS=1)."""
    fn = getattr(module, name)

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            TIMERS[name] = TIMERS.get(name, 0.0) + time.perf_counter() - started

    setattr(module, name, wrapper)


if os.environ.get("MICRO_GC") == "1":
    tune_gc()  # what every served process does at startup

if os.environ.get("MICRO_TIMERS") == "1":
    _timed(camera_repo, "camera_sites")
    for _name in ("find_by_dedup_keys", "insert_reads"):
        _timed(read_repo, _name)
    _timed(reads_mod, "_events")
    _timed(reads_mod, "ingest")
    _timed(partitions, "ensure")


async def run(state: Path) -> None:
    logging.getLogger("alpr").setLevel(logging.WARNING)
    name = f"alpr_micro_{RUN}"
    url = await create_db(name)
    try:
        await upgrade(SPEC.migrations_dir, url)
        await register_camera(url)
        app, ring = in_process_app(url, state)
        now = datetime.now(UTC)
        token = ring.sign(
            principal_claims(
                subject="client:bench-cam",
                kind="machine",
                name="bench camera",
                roles=["camera"],
                cameras=[CAMERA],
            ),
            issuer="alpr-access",
            audience="alpr",
            expires_at=now + timedelta(minutes=30),
        )
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
            # Warm up (partition creation, prepared statements, imports).
            for body in payloads(1000, "warm"):
                r = await client.post("/v1/reads", content=body, headers=headers)
                r.raise_for_status()
            best = best_cpu = float("inf")
            for rnd in range(ROUNDS):
                bodies = payloads(READS, f"r{rnd}")
                prof = cProfile.Profile() if PROFILE and rnd == ROUNDS - 1 else None
                started = time.perf_counter()
                cpu_started = time.process_time()
                if prof:
                    prof.enable()
                for body in bodies:
                    r = await client.post("/v1/reads", content=body, headers=headers)
                    assert r.status_code == 200, r.text[:500]
                    assert r.json()["stored"] == 500
                if prof:
                    prof.disable()
                elapsed = time.perf_counter() - started
                cpu = (time.process_time() - cpu_started) / READS * 1e6
                per = elapsed / READS * 1e6
                best = min(best, per)
                best_cpu = min(best_cpu, cpu)
                for key, total in sorted(TIMERS.items()):
                    print(f"  {key}: {total / READS * 1e6:.1f} µs/read")
                TIMERS.clear()
                print(
                    f"round {rnd}: {per:.1f} µs/read wall, {cpu:.1f} µs/read CPU of this process "
                    f"(client + app, not PostgreSQL), {READS / elapsed:,.0f} reads/s"
                )
                if prof:
                    pstats.Stats(prof).sort_stats("tottime").print_stats(40)
            print(
                f"best: {best:.1f} µs/read wall ({1e6 / best:,.0f} reads/s), "
                f"{best_cpu:.1f} µs/read CPU; in process, 1 client"
            )
    finally:
        await drop_db(name)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp)))


if __name__ == "__main__":
    main()
