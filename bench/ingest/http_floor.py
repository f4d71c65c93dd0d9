"""The floor of a single-read post on this machine: the ceiling the single-read figures are read
against (issue 21).

The same native posts, from the same load generator and connections as `single_read.py`, go to
a bare FastAPI service that validates the read and answers, with no database, no token, no event
(`backend`), directly and through a bare proxy (`proxy`: uvicorn and the suite's own upstream
transport, nothing else). Each runs in its own process under uvicorn, as the suite's services do.
What the suite spends above these figures is its own work: the transaction log, the token and
status checks, the store, the events, the database.

    .venv/bin/python bench/ingest/http_floor.py       # alone; single_read.py prints it too
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import loadgen  # the single-read benchmarks' load generator, beside this module
from fastapi import FastAPI
from pydantic import BaseModel

from alpr_common.suite import free_port
from alpr_common.upstream import UpstreamTransport

HERE = Path(__file__).resolve().parent


class FloorRead(BaseModel):
    plate: str
    region: str | None = None
    captured_at: datetime
    camera: str
    vendor_read_id: str | None = None
    confidence: float | None = None
    candidates: list[dict[str, Any]] = []


class FloorBatch(BaseModel):
    reads: list[FloorRead]


backend = FastAPI()


@backend.post("/v1/reads")
async def post_reads(batch: FloorBatch) -> dict[str, int]:
    return {"stored": len(batch.reads), "duplicates": 0}


class _Proxy:
    """Forward every request to FLOOR_UPSTREAM as the gateway does (the whole body, the headers,
    the answer relayed whole), with none of the gateway's checks."""

    def __init__(self) -> None:
        self.upstream = os.environ.get("FLOOR_UPSTREAM", "")
        self.transport: UpstreamTransport | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if self.transport is None:
            self.transport = UpstreamTransport(max_connections=500)
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k != b"host"]
        url = self.upstream + scope["path"]
        body = b"".join(chunks)
        request = httpx.Request(scope["method"], url, headers=headers, content=body)
        response = await self.transport.handle_async_request(request)
        answer = await response.aread()
        await response.aclose()
        out = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        await send({"type": "http.response.body", "body": answer})


proxy = _Proxy()


def _start(app: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", f"http_floor:{app}", "--port", str(port)),
            *("--no-access-log", "--log-level", "warning"),
        ],
        cwd=HERE,
        env=os.environ | env,
    )


def _cpu(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def _up(url: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the floor server at {url} did not start") from None
                await asyncio.sleep(0.2)


async def run_floor(*, seconds: float, concurrency: int) -> list[dict[str, Any]]:
    """Native single reads to the bare service through the bare proxy, then directly."""
    back_port, proxy_port = free_port(), free_port()
    procs = [
        _start("backend", back_port, {}),
        _start("proxy", proxy_port, {"FLOOR_UPSTREAM": f"http://127.0.0.1:{back_port}"}),
    ]
    try:
        await _up(f"http://127.0.0.1:{back_port}/")
        await _up(f"http://127.0.0.1:{proxy_port}/")
        pids = [p.pid for p in procs]
        results = []
        for route, port in (("proxy", proxy_port), ("direct", back_port)):
            print(f"  floor: native via a bare {route} ({seconds:.0f}s)...", flush=True)
            r = await loadgen.run_kind(
                f"http://127.0.0.1:{port}/v1",
                "native",
                "none",
                seconds=seconds,
                concurrency=concurrency,
                cpu=lambda: {"floor": _cpu(pids), "load generator": time.process_time()},
                tag=f"floor-{route}",
            )
            r["route"] = route
            results.append(r)
        return results
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


def print_floor(results: list[dict[str, Any]], suite_rows: list[dict[str, Any]]) -> None:
    """The floor's figures, and the suite's native figures as a share of them."""
    floor = {r["route"]: r for r in results}
    suite = {r["route"]: r for r in suite_rows if r.get("kind") == "native"}
    print(
        "  floor on this machine (bare FastAPI validating the read; no database, token or "
        "event), same connections:"
    )
    for route, label in (("proxy", "gateway"), ("direct", "direct")):
        f = floor[route]
        line = (
            f"    via a bare {route:6} {f['posts_per_s']:>7,.0f} posts/s, p99 "
            f"{f['p99_ms']:.1f} ms, {f['cpu_ms_per_post']:.2f} ms CPU/post"
        )
        s = suite.get(label)
        if s is not None:
            line += (
                f"; the suite's native via {label}: {s['posts_per_s'] / f['posts_per_s']:.2f} "
                f"of its posts/s at {s['cpu_ms_per_post'] / f['cpu_ms_per_post']:.1f}x its CPU"
            )
        print(line)


async def main() -> None:
    results = await run_floor(seconds=loadgen.SECONDS, concurrency=loadgen.CONCURRENCY)
    print_floor(results, [])


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
