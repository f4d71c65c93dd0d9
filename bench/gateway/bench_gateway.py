"""Gateway overhead: the same route called directly and through the gateway, in one run.

Starts the real suite (six processes, PostgreSQL by default, free loopback ports), makes people
through the gateway (CSO, training coordinator, a trained investigator; password + TOTP), then
drives two routes directly and through the gateway (JWT check, live status, route authorization,
purpose check, durable transaction log, proxy) with the same token and concurrency:

- `GET /v1/users/me` on access: the cheapest authenticated route, so the ratio is the gateway's
  bare overhead;
- `GET /v1/reads?plate=...` on ingest with purpose headers: the typical ALPR data query (purpose
  checked at both hops, count + page queries, audit event).

Each route is measured in alternating rounds (direct, gateway, direct, gateway, ...; `--rounds`,
default 3), so that other work on the machine, autovacuum or a relay burst weigh on both paths
alike; the figures are the medians of the rounds. Prints req/s and p50/p99 latency for each and
the ratios. Target: gateway >= 70% of direct.

The load generator shares the machine's cores with the suite, so it sends through the same lean
transport as the gateway's proxy (alpr_common.upstream) rather than httpcore's pool, whose
per-request cost would otherwise be taken from the processes being measured.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp

from alpr_common.suite import (
    SERVICES,
    Suite,
    cpu_seconds,
    cpu_spent,
    free_port,
    postgres_databases,
)
from alpr_common.upstream import UpstreamTransport


async def drive(url: str, headers: dict[str, str], seconds: float, concurrency: int) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    transport = UpstreamTransport(max_connections=concurrency, max_idle_per_origin=concurrency)
    async with httpx.AsyncClient(transport=transport, timeout=30) as client:

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


def _median_round(runs: list[dict]) -> dict:
    """The median of each figure over the rounds (requests and errors summed)."""
    return {
        "requests": sum(r["requests"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        **{k: statistics.median(r[k] for r in runs) for k in ("rps", "p50_ms", "p99_ms")},
    }


PASSWORD = "correct-horse-battery-staple-9"
SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-0042",
    "X-ALPR-Reason": "stolen pickup seen near the burglary",
}
TOPICS = ["appropriate_use", "safeguards", "misuse_consequences", "driver_not_wanted_person"]


def _person(gateway: httpx.Client, cso: dict[str, str], username: str, role: str) -> dict:
    created = (
        gateway.post(
            "/v1/access/users",
            headers=cso,
            json={"username": username, "full_name": f"{username.title()} Bench", "badge": "7"},
        )
        .raise_for_status()
        .json()
    )
    user_id = created["user"]["id"]
    gateway.post(
        f"/v1/access/users/{user_id}/roles", headers=cso, json={"role": role}
    ).raise_for_status()
    enrolled = (
        gateway.post(
            "/v1/access/enrolments",
            json={
                "username": username,
                "code": created["enrolment"]["enrolment_code"],
                "new_password": PASSWORD,
            },
        )
        .raise_for_status()
        .json()
    )
    return {"id": user_id, "username": username, "totp": enrolled["totp_secret"]}


def _login(gateway: httpx.Client, username: str, totp_secret: str) -> dict[str, str]:
    form = {
        "grant_type": "password",
        "username": username,
        "password": PASSWORD,
        "totp": pyotp.TOTP(totp_secret).now(),
    }
    token = gateway.post("/v1/access/token", data=form).raise_for_status().json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


def _people(suite: Suite) -> tuple[dict[str, str], dict[str, str]]:
    """The CSO's headers and a trained investigator's, all made through the gateway."""
    cso_info = json.loads(
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
            input_text=PASSWORD + "\n",
        )
    )
    with httpx.Client(base_url=suite.url("gateway"), timeout=30) as gateway:
        cso = _login(gateway, "bench", cso_info["totp_secret"])
        trainer = _person(gateway, cso, "trainer", "training_coordinator")
        investigator = _person(gateway, cso, "ivy", "investigator")
        gateway.post(
            "/v1/access/training-records",
            headers=_login(gateway, trainer["username"], trainer["totp"]),
            json={
                "user_id": investigator["id"],
                "course": "ALPR annual",
                "version": "2026.1",
                "topics": TOPICS,
                "completed_at": datetime.now(UTC).isoformat(),
            },
        ).raise_for_status()
        return cso, _login(gateway, investigator["username"], investigator["totp"])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    pg = args.pg_url if args.backend == "postgresql" else None
    prefix = f"alpr_bench_gw_{os.getpid()}"
    rounds: dict[tuple[str, str], list[dict]] = {}
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
            cso, investigator = _people(suite)
            gw = suite.url("gateway")
            query = "/reads?plate=ABC1234&limit=10"
            cases = [
                ("users/me", cso, f"{suite.url('access')}/v1/users/me", f"{gw}/v1/access/users/me"),
                (
                    "search",
                    investigator | SEARCH_PURPOSE,
                    f"{suite.url('ingest')}/v1{query}",
                    f"{gw}/v1/ingest{query}",
                ),
            ]
            for route, headers, direct, through in cases:
                asyncio.run(drive(through, headers, 2, args.concurrency))  # warm up both paths
                asyncio.run(drive(direct, headers, 1, args.concurrency))
                for round_no in range(1, args.rounds + 1):
                    for name, url in (("direct", direct), ("gateway", through)):
                        print(
                            f"{route}: {name}, round {round_no}/{args.rounds}, "
                            f"{args.seconds:.0f}s at concurrency {args.concurrency}…",
                            flush=True,
                        )
                        before = cpu_seconds(suite)
                        run = asyncio.run(drive(url, headers, args.seconds, args.concurrency))
                        run["cpu"] = cpu_spent(before, cpu_seconds(suite))
                        rounds.setdefault((route, name), []).append(run)
        finally:
            suite.stop()
            if pg:
                postgres_databases(pg, prefix, drop=True)
    results = {key: _median_round(runs) for key, runs in rounds.items()}
    print()
    print(f"medians of {args.rounds} alternating rounds of {args.seconds:.0f}s")
    print(
        f"{'route':10} {'path':8} {'requests':>9} {'errors':>7} {'req/s':>8} {'p50 ms':>8} "
        f"{'p99 ms':>8}  rounds (req/s)"
    )
    for (route, name), r in results.items():
        print(
            f"{route:10} {name:8} {r['requests']:>9} {r['errors']:>7} {r['rps']:>8.0f} "
            f"{r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}  "
            + " ".join(f"{x['rps']:.0f}" for x in rounds[(route, name)])
        )
    print("\nCPU time per request, by process (µs; all rounds), and cores busy:")
    kinds = ["load generator", "gateway", "access", "ingest", "audit", "postgresql", "other"]
    print(f"{'':19}" + "".join(f"{k[:14]:>15}" for k in kinds) + f"{'total':>9}{'cores':>7}")
    for (route, name), runs in rounds.items():
        n = sum(r["requests"] for r in runs)
        spent: dict[str, float] = defaultdict(float)
        for r in runs:
            for kind, seconds in r["cpu"].items():
                spent[kind] += seconds
        total = sum(max(v, 0.0) for v in spent.values())
        seconds = args.seconds * len(runs)
        print(
            f"{route + ' ' + name:19}"
            + "".join(f"{spent[k] / n * 1e6:>15.0f}" for k in kinds)
            + f"{total / n * 1e6:>9.0f}{total / seconds:>7.2f}"
        )
    print()
    for route in dict.fromkeys(route for route, _ in results):
        ratio = results[(route, "gateway")]["rps"] / results[(route, "direct")]["rps"]
        print(f"{route}: gateway / direct throughput {ratio:.0%} (target >= 70%)")
    return 0 if not any(r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
