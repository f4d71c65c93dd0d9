"""Gateway overhead: the same route called directly and through the gateway, in one run.

Starts the real suite (six processes, PostgreSQL by default, free loopback ports), creates a
Chief Security Officer, logs in through the gateway with password + TOTP, then drives
`GET /v1/users/me` on access directly and as `/v1/access/users/me` through the gateway (JWT
check, live status, route authorization, durable transaction log, proxy) with the same token and
the same concurrency.
Prints req/s and p50/p99 latency for each and the ratio. Target: gateway >= 70% of direct.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pyotp

from alpr_common.suite import SERVICES, Suite, free_port, postgres_databases


async def drive(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                r = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 200:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    pg = args.pg_url if args.backend == "postgresql" else None
    prefix = f"alpr_bench_gw_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        suite = Suite(
            Path(tmp),
            ports={s: free_port() for s in SERVICES},
            database_urls=postgres_databases(pg, prefix) if pg else {},
            extra_env={
                "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
                "GATEWAY_RATE_LIMIT_BURST": "100000",
            },
        )
        print(f"starting the suite ({args.backend})…", flush=True)
        suite.migrate()
        suite.start()
        try:
            suite.wait_ready()
            password = "correct-horse-battery-staple-9"
            cso = json.loads(
                suite.command(
                    "access",
                    "create-cso",
                    "--username",
                    "bench",
                    "--full-name",
                    "Bench Mark",
                    "--badge",
                    "1",
                    "--password-stdin",
                    input_text=password + "\n",
                )
            )
            token = (
                httpx.post(
                    f"{suite.url('gateway')}/v1/access/token",
                    data={
                        "grant_type": "password",
                        "username": "bench",
                        "password": password,
                        "totp": pyotp.TOTP(cso["totp_secret"]).now(),
                    },
                )
                .raise_for_status()
                .json()["access_token"]
            )
            headers = {"Authorization": f"Bearer {token}"}
            direct = f"{suite.url('access')}/v1/users/me"
            through = f"{suite.url('gateway')}/v1/access/users/me"
            asyncio.run(drive(through, headers, 2, args.concurrency))  # warm up both paths
            asyncio.run(drive(direct, headers, 1, args.concurrency))
            results = {}
            for name, url in (("direct", direct), ("gateway", through)):
                print(
                    f"driving {name} for {args.seconds:.0f}s at concurrency {args.concurrency}…",
                    flush=True,
                )
                results[name] = asyncio.run(drive(url, headers, args.seconds, args.concurrency))
        finally:
            suite.stop()
            if pg:
                postgres_databases(pg, prefix, drop=True)
    print()
    print(f"{'path':10} {'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, r in results.items():
        print(
            f"{name:10} {r['requests']:>9} {r['errors']:>7} {r['rps']:>9.0f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}"
        )
    ratio = results["gateway"]["rps"] / results["direct"]["rps"]
    print(f"\ngateway / direct throughput: {ratio:.0%} (target >= 70%)")
    return 0 if not any(r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
