"""CPU cost of the request metrics (alpr_common.metrics.MetricsMiddleware) per request.

    flock /work/notes/bench.lock .venv/bin/python bench/metrics/bench_middleware.py

The same app as every service builds it (`build_app`, SQLite, one trivial route with a path
parameter), driven over ASGI in process, no network: once as shipped and once with the metrics
middleware taken out. The difference is the middleware's cost per request; the ratio puts it
against the whole in-process request (the ceiling this machine reaches for the cheapest route).
Both prometheus_client modes run: one process (its registry in memory) and multiprocess (values
in mmap'ed files, as under `serve --workers N`). CPU time of this process, so other work on the
machine changes the figures little; best of 5 rounds.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQUESTS = 20_000
ROUNDS = 5


def _app(with_metrics: bool, tmp: str):
    from fastapi import APIRouter

    from alpr_common.app import build_app
    from alpr_common.metrics import MetricsMiddleware
    from alpr_common.settings import BaseServiceSettings

    router = APIRouter()

    @router.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    settings = BaseServiceSettings(
        environment="test",
        run_relay=False,
        log_level="WARNING",
        database_url=f"sqlite+aiosqlite:///{tmp}/bench.db",
    )
    app = build_app(settings, title="bench", routers=[router])
    if not with_metrics:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not MetricsMiddleware]
    return app


async def _drive(app, n: int) -> float:
    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        return None

    base = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    for i in range(200):  # warm-up: build the middleware stack, the labelled series
        await app({**base, "path": f"/v1/things/w{i}", "raw_path": b"/"}, receive, send)
    started = time.process_time()
    for i in range(n):
        await app({**base, "path": f"/v1/things/T{i}", "raw_path": b"/"}, receive, send)
    return (time.process_time() - started) / n


def _measure() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        apps = {flag: _app(flag, tmp) for flag in (False, True)}
        best = {False: float("inf"), True: float("inf")}
        for _ in range(ROUNDS):
            for flag, app in apps.items():
                best[flag] = min(best[flag], asyncio.run(_drive(app, REQUESTS)))
    return best[False], best[True]


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        without, with_ = _measure()
        print(f"{without!r} {with_!r}")
        return 0
    print(f"load before: {os.getloadavg()[0]:.2f} (1-min average)")
    print(f"{REQUESTS} requests per round, best of {ROUNDS}, CPU time of this process")
    for mode in ("one process", "multiprocess"):
        env = dict(os.environ)
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        with tempfile.TemporaryDirectory() as metrics_dir:
            if mode == "multiprocess":
                env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
            out = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), "--child"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
        without, with_ = float(out[0]), float(out[1])
        cost = with_ - without
        print(
            f"  {mode:13} request without metrics {without * 1e6:7.1f} us, with {with_ * 1e6:7.1f}"
            f" us: metrics cost {cost * 1e6:5.1f} us per request = {cost / without:6.1%} of the"
            " cheapest in-process request"
        )
    print(f"load after: {os.getloadavg()[0]:.2f} (1-min average)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
