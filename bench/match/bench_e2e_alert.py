"""Read-to-alert latency over the whole suite, camera to RTCC screen, at half the peak intake.

    .venv/bin/python bench/match/bench_e2e_alert.py [--database postgresql,sqlite]
        [--listeners 1,20] [--entries 5000] [--seconds 20]

For each database (default both: PostgreSQL at ALPR_TEST_PG_URL or
postgresql://postgres@127.0.0.1:5432/postgres, throwaway databases dropped at the end; SQLite,
the `make run` default, fresh files), starts the six services as processes, then, everything
through the gateway: a CSO (create-cso), a training coordinator, a trained admin, hotlist manager
and RTCC operator; a trailer camera registered at ingest and a camera client at access bound to
it; a hot list of `--entries` plates imported by the manager. Then:

1. peak: batches of `--batch` reads (a few hot, the rest six-character plates that match no
   entry) posted back to back to `POST /v1/ingest/reads` by `--concurrency` posters for
   `--peak-seconds`: the reads/s the gateway and ingest sustain;
2. for each count of `--listeners`, that many RTCC consoles read the stream
   (`GET /v1/hotlist/alerts/stream`, server-sent events, each on a thread of its own):
   - floor: 20 batches, 4 a second, one at a time: the path's own cost with no queueing;
   - half: the same size of batch at half the peak rate for `--seconds`, on a fixed schedule,
     each batch carrying exactly one hot read of an entry not used before (alerts are
     de-duplicated per entry and camera for 300 s, so each hot read opens a new alert).

Latency = the moment an alert's event is received on a console minus the moment just before the
POST carrying its read was sent, for every alert on every console: gateway -> ingest commit ->
ingest outbox relay -> hotlist intake and match -> alert committed -> stream -> gateway -> this
client. The hops are split on the wall clock all processes share (see bench/match/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import secrets
import string
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alpr_common.suite import SERVICES, Suite, free_port, postgres_databases

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the tests' helpers, as the package `tests.helpers`
from tests.helpers.e2e import PASSWORD, create_person, login, record_training  # noqa: E402

PG_URL = os.environ.get("ALPR_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CAMERA = "bench-e2e-trailer-1"
CSO_PASSWORD = "amber-compass-rolling-19"
RTCC_PURPOSE = {
    "X-ALPR-Purpose": "alert_response",
    "X-ALPR-Case": "BENCH-E2E-0001",
    "X-ALPR-Reason": "benchmark of read-to-alert latency on the RTCC stream",
}
LETTERS = string.ascii_uppercase
DIGITS = string.digits


def hot_plate(n: int) -> str:
    # Digits only after a fixed prefix: no two entries fold to the same confusable form.
    return f"HE{n:05d}"


def miss_plate(rnd: random.Random) -> str:
    # Six characters: never one of the seven-character entries, nor confusable with one.
    return "".join(rnd.choice(LETTERS) for _ in range(3)) + "".join(
        rnd.choice(DIGITS) for _ in range(3)
    )


class StreamReader:
    """The RTCC console on a thread of its own (its clock is not delayed by the posting loop):
    plate -> perf_counter at which its alert's event was received."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.base_url = base_url
        self.headers = {**headers, **RTCC_PURPOSE, "Accept": "text/event-stream"}
        self.arrivals: dict[str, float] = {}
        self.created: dict[str, float] = {}  # plate -> alert created_at, wall-clock seconds
        self.wall: dict[str, float] = {}  # plate -> wall-clock receipt
        self.events: queue.Queue[str] = queue.Queue()
        self.opened = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        timeout = httpx.Timeout(10.0, read=60.0)  # heartbeats come well within
        try:
            with (
                httpx.Client(base_url=self.base_url, timeout=timeout) as client,
                client.stream("GET", "/v1/hotlist/alerts/stream", headers=self.headers) as resp,
            ):
                if resp.status_code != 200:
                    raise RuntimeError(f"stream: HTTP {resp.status_code} {resp.read()[:300]!r}")
                buffer = ""
                for chunk in resp.iter_text():
                    now, wall = time.perf_counter(), time.time()
                    buffer += chunk
                    while "\n\n" in buffer:
                        raw, buffer = buffer.split("\n\n", 1)
                        if "stream open" in raw:
                            self.opened.set()
                        for line in raw.split("\n"):
                            if line.startswith("data:"):
                                alert = json.loads(line[5:])
                                plate = alert["plate"]
                                if plate not in self.arrivals:
                                    self.arrivals[plate] = now
                                    self.wall[plate] = wall
                                    self.created[plate] = datetime.fromisoformat(
                                        alert["created_at"]
                                    ).timestamp()
                                self.events.put(plate)
                    if self.stop.is_set():
                        return
        except httpx.ReadTimeout:
            if not self.stop.is_set():
                self.error = RuntimeError("stream silent for 60 s (no heartbeat)")
        except BaseException as exc:  # reported by the main thread
            self.error = exc

    def __enter__(self) -> StreamReader:
        self.thread.start()
        if not self.opened.wait(15):
            raise RuntimeError(f"the stream did not open: {self.error}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(5)

    def wait_for(self, plates: set[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not plates <= self.arrivals.keys() and time.monotonic() < deadline:
            time.sleep(0.05)


def setup(suite: Suite, entries: list[str]) -> tuple[str, dict[str, str]]:
    """People, camera, camera client and hot list, all through the gateway: (camera token,
    RTCC operator headers)."""
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "bench-cso",
        "--full-name",
        "Bench CSO",
        "--badge",
        "9100",
        "--password-stdin",
        input_text=CSO_PASSWORD + "\n",
    )
    totp = json.loads(out.strip().splitlines()[-1])["totp_secret"]
    with httpx.Client(base_url=suite.url("gateway"), timeout=60) as gw:
        cso = login(gw, "bench-cso", CSO_PASSWORD, totp)
        roles = {
            "bench-trainer": "training_coordinator",
            "bench-admin": "admin",
            "bench-manager": "hotlist_manager",
            "bench-rtcc": "rtcc_operator",
        }
        users = {u: create_person(gw, cso, u, r) for u, r in roles.items()}
        trainer = login(gw, "bench-trainer", PASSWORD, users["bench-trainer"]["totp"])
        for u in roles:
            if u != "bench-trainer":
                record_training(gw, trainer, users[u]["id"], datetime.now(UTC) - timedelta(days=1))
        heads = {u: login(gw, u, PASSWORD, users[u]["totp"]) for u in roles if u != "bench-trainer"}

        def ok(r: httpx.Response, *codes: int) -> dict[str, Any]:
            if r.status_code not in codes:
                raise RuntimeError(f"{r.request.method} {r.request.url}: {r.status_code} {r.text}")
            return dict(r.json())

        ok(
            gw.post(
                "/v1/ingest/cameras",
                headers=heads["bench-admin"],
                json={
                    "id": CAMERA,
                    "name": "Bench trailer",
                    "vendor": "native",
                    "camera_type": "trailer",
                    "location": {"lat": 30.2686, "lon": -97.7540},
                },
            ),
            201,
        )
        made = ok(
            gw.post(
                "/v1/access/clients",
                headers=cso,
                json={"name": "bench camera", "kind": "camera", "cameras": [CAMERA]},
            ),
            201,
        )
        token = ok(
            gw.post(
                "/v1/access/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": made["client"]["id"],
                    "client_secret": made["client_secret"],
                },
            ),
            200,
        )["access_token"]
        manager = heads["bench-manager"]
        hotlist = ok(
            gw.post(
                "/v1/hotlist/hotlists",
                headers=manager,
                json={"name": "Bench stolen", "source": "ncic", "import_format": "canonical"},
            ),
            201,
        )
        rows = ["plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source"]
        rows += [
            f"{p},TX,stolen_vehicle,V,Stolen vehicle,V{i:09d},TX2279900,2026-11-01,NCIC"
            for i, p in enumerate(entries)
        ]
        added = ok(
            gw.post(
                "/v1/hotlist/hotlist-imports",
                params={"hotlist_id": hotlist["id"]},
                content=("\n".join(rows) + "\n").encode(),
                headers={**manager, "Content-Type": "application/octet-stream"},
            ),
            201,
        )["added"]
        if added != len(entries):
            raise RuntimeError(f"imported {added} of {len(entries)} entries")
    return str(token), heads["bench-rtcc"]


class Load:
    def __init__(self, args: argparse.Namespace, url: str, token: str) -> None:
        self.args = args
        self.url = f"{url}/v1/ingest/reads"
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.rnd = random.Random(7)
        self.n = 0
        # Vendor read ids unique across the run's loads: ingest drops a repeated one as a
        # duplicate (no event, no alert).
        self.prefix = secrets.token_hex(4)
        self.sent: dict[str, float] = {}
        self.post_ms: list[float] = []
        self.answered: dict[str, float] = {}  # hot plate -> wall clock when its POST answered

    def batch(self, hot: list[str]) -> bytes:
        now = datetime.now(UTC).isoformat()
        reads = []
        for i in range(self.args.batch):
            self.n += 1
            reads.append(
                {
                    "plate": hot[i] if i < len(hot) else miss_plate(self.rnd),
                    "region": "US-TX",
                    "captured_at": now,
                    "camera": CAMERA,
                    "vendor_read_id": f"bench-{self.prefix}-{self.n}",
                    "confidence": 0.93,
                }
            )
        self.rnd.shuffle(reads)
        return json.dumps({"reads": reads}).encode()

    async def post(self, client: httpx.AsyncClient, body: bytes, hot: str | None) -> None:
        sent = time.perf_counter()
        if hot is not None:
            self.sent[hot] = sent
        resp = await client.post(self.url, content=body, headers=self.headers)
        if resp.status_code != 200:
            raise RuntimeError(f"POST reads: HTTP {resp.status_code} {resp.text[:300]}")
        if hot is not None:
            self.answered[hot] = time.time()
            self.post_ms.append((time.perf_counter() - sent) * 1000)


async def peak_rate(
    load: Load, client: httpx.AsyncClient, hot: list[str]
) -> tuple[float, set[str]]:
    """Reads/s with batches posted back to back; 2 hot reads per batch, cycling `hot`
    (repeats are de-duplicated into the open alerts, as in production). Also the hot plates
    the batches posted carried."""
    plates = [hot[(2 * k) % len(hot) : (2 * k) % len(hot) + 2] for k in range(1500)]
    pool = [load.batch(p) for p in plates]
    stop = time.perf_counter() + load.args.peak_seconds
    total = 0
    n = 0

    async def poster() -> None:
        nonlocal total, n
        while time.perf_counter() < stop and n < len(pool):
            body = pool[n]
            n += 1
            await load.post(client, body, None)
            total += load.args.batch

    started = time.perf_counter()
    await asyncio.gather(*(poster() for _ in range(load.args.concurrency)))
    return total / (time.perf_counter() - started), {p for pair in plates[:n] for p in pair}


async def at_rate(load: Load, client: httpx.AsyncClient, rate: float, hot: list[str]) -> float:
    interval = load.args.batch / rate
    count = min(int(load.args.seconds / interval) + 1, len(hot))
    batches = [(load.batch([hot[k]]), hot[k]) for k in range(count)]
    tasks: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for k, (body, plate) in enumerate(batches):
        delay = started + k * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(load.post(client, body, plate)))
    await asyncio.gather(*tasks)
    return count * load.args.batch / (time.perf_counter() - started)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class SpanSink:
    """An OTLP/HTTP trace receiver on a thread (`--trace`): the services export their spans
    here (OTEL_EXPORTER_OTLP_ENDPOINT), and the benchmark reports each hop's duration."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        self.spans: list[tuple[str, str, float, float]] = []  # service, name, start s, ms
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    service = next(
                        (
                            a.value.string_value
                            for a in resource.resource.attributes
                            if a.key == "service.name"
                        ),
                        "?",
                    )
                    for scope in resource.scope_spans:
                        for span in scope.spans:
                            sink.spans.append(
                                (
                                    service,
                                    span.name,
                                    span.start_time_unix_nano / 1e9,
                                    (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6,
                                )
                            )
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def env(self) -> dict[str, str]:
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{self.port}",
            "OTEL_BSP_SCHEDULE_DELAY": "500",
        }

    def report(self, since: float, until: float) -> list[tuple[str, str]]:
        """Duration of each kind of span begun in [since, until], p50 / p99 / count: the hops
        of the path, on the event path's spans only."""
        wanted = ("POST /v1/", "outbox.deliver", "alerts.record", "alerts.publish")
        kinds: dict[tuple[str, str], list[float]] = {}
        for service, name, start, ms in self.spans:
            if (
                since <= start <= until
                and name.startswith(wanted)
                and not name.endswith(("http send", "http receive"))
            ):
                kinds.setdefault((service, name), []).append(ms)
        return [
            (f"  span {service}: {name}", f"{pct(v, 0.5):.1f} / {pct(v, 0.99):.1f} ms  ({len(v)})")
            for (service, name), v in sorted(kinds.items(), key=lambda kv: -pct(kv[1], 0.5))
        ]

    def close(self) -> None:
        self.server.shutdown()


class Listeners:
    """`count` RTCC consoles on the stream at once, each on its own thread."""

    def __init__(self, base_url: str, headers: dict[str, str], count: int) -> None:
        self.readers = [StreamReader(base_url, headers) for _ in range(count)]

    def __enter__(self) -> Listeners:
        for reader in self.readers:
            reader.thread.start()
        for reader in self.readers:
            if not reader.opened.wait(30):
                raise RuntimeError(f"a stream did not open: {reader.error}")
        return self

    def __exit__(self, *exc: Any) -> None:
        for reader in self.readers:
            reader.stop.set()
        for reader in self.readers:
            reader.thread.join(5)

    def wait_for(self, plates: set[str], seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for reader in self.readers:
            reader.wait_for(plates, max(0.0, deadline - time.monotonic()))

    def errors(self) -> list[BaseException]:
        return [r.error for r in self.readers if r.error is not None]


async def measure_peak(
    args: argparse.Namespace, suite: Suite, token: str, hot: list[str]
) -> tuple[float, set[str]]:
    load = Load(args, suite.url("gateway"), token)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        for k in range(3):  # warm-up: connections, tokens, the first partition
            await load.post(client, load.batch([hot[k]]), None)
        rate, posted = await peak_rate(load, client, hot)
        return rate, posted | set(hot[:3])


async def measure(
    args: argparse.Namespace,
    suite: Suite,
    token: str,
    listeners: Listeners,
    peak: float,
    floor_hot: list[str],
    half_hot: list[str],
) -> dict[str, Any]:
    load = Load(args, suite.url("gateway"), token)
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:
        await load.post(client, load.batch([]), None)  # a connection
        # Floor: 20 batches, 4 a second, one at a time: the path's own cost with no queueing.
        for plate in floor_hot:
            await load.post(client, load.batch([plate]), plate)
            await asyncio.sleep(0.25)
        await asyncio.to_thread(listeners.wait_for, set(floor_hot), 10)
        floor = [
            (r.arrivals[p] - load.sent[p]) * 1000
            for r in listeners.readers
            for p in floor_hot
            if p in r.arrivals
        ]
        floor_missing = len(floor_hot) * len(listeners.readers) - len(floor)
        for p in floor_hot:
            load.sent.pop(p, None)
            load.answered.pop(p, None)
        load.post_ms.clear()
        await asyncio.sleep(1)
        # Half the peak, or a rate given (two versions compared under the same load).
        achieved = await at_rate(load, client, args.rate or peak / 2, half_hot)
    await asyncio.to_thread(listeners.wait_for, set(load.sent), 15)
    latencies = [
        (r.arrivals[p] - t) * 1000
        for r in listeners.readers
        for p, t in load.sent.items()
        if p in r.arrivals
    ]
    # Where the time goes, on the wall clock all processes share, for the first console: the
    # POST (gateway, ingest commit), its answer -> the alert's created_at (ingest relay, hotlist
    # intake and match; negative when the relay beat the answer back), created_at -> received.
    first = listeners.readers[0]
    got = [p for p in load.sent if p in first.arrivals]
    to_created = [(first.created[p] - load.answered[p]) * 1000 for p in got]
    to_stream = [(first.wall[p] - first.created[p]) * 1000 for p in got]
    # The spread between consoles: the last console's receipt minus the first's, per alert.
    spread = [
        (
            max(r.arrivals[p] for r in listeners.readers)
            - min(r.arrivals[p] for r in listeners.readers)
        )
        * 1000
        for p in got
        if all(p in r.arrivals for r in listeners.readers)
    ]
    return {
        "floor": floor,
        "floor_missing": floor_missing,
        "to_created": to_created,
        "to_stream": to_stream,
        "spread": spread,
        "achieved": achieved,
        "expected": len(load.sent) * len(listeners.readers),
        "received": len(latencies),
        "latencies": latencies,
        "post_ms": load.post_ms,
    }


def report(
    args: argparse.Namespace, database: str, listeners: int, peak: float, result: dict[str, Any]
) -> list[tuple[str, str]]:
    lat = result["latencies"]
    post = result["post_ms"]
    rows = [
        ("peak intake through the gateway (back to back)", f"{peak:,.0f} reads/s"),
        (
            f"rate used ({f'{args.rate:,.0f} given' if args.rate else 'half the peak'}), achieved",
            f"{result['achieved']:,.0f} reads/s",
        ),
        ("batch", f"{args.batch} reads, 1 hot"),
        (
            "floor: 4 batches/s, one at a time (p50 / max)",
            f"{pct(result['floor'], 0.5):.1f} / {max(result['floor']):.1f} ms"
            f"  ({result['floor_missing']} missing)  (target p50 < 30)"
            if result["floor"]
            else "no alerts",
        ),
        (
            "alerts expected / received (all consoles)",
            f"{result['expected']} / {result['received']}",
        ),
    ]
    if lat:
        rows += [
            ("read to alert on the stream, p50", f"{pct(lat, 0.50):.1f} ms"),
            ("read to alert on the stream, p99", f"{pct(lat, 0.99):.1f} ms  (target < 100)"),
            ("read to alert on the stream, max", f"{max(lat):.1f} ms"),
            (
                "  hop: the POST itself: gateway, ingest commit (p50 / p99)",
                f"{pct(post, 0.5):.1f} / {pct(post, 0.99):.1f} ms",
            ),
            (
                "  hop: POST answered -> alert created: relay, hotlist intake, match (p50 / p99)",
                f"{pct(result['to_created'], 0.5):.1f} / {pct(result['to_created'], 0.99):.1f} ms",
            ),
            (
                "  hop: alert created (hotlist, before its commit) -> on the stream (p50 / p99)",
                f"{pct(result['to_stream'], 0.5):.1f} / {pct(result['to_stream'], 0.99):.1f} ms",
            ),
        ]
        if listeners > 1 and result["spread"]:
            rows.append(
                (
                    f"  first to last of {listeners} consoles, per alert (p50 / p99)",
                    f"{pct(result['spread'], 0.5):.1f} / {pct(result['spread'], 0.99):.1f} ms",
                )
            )
    return rows


def run_database(args: argparse.Namespace, database: str) -> tuple[bool, list[str]]:
    """One suite on `database`: its peak, then a timed run per listener count. Returns whether
    every run met its bar of completeness (every alert on every console) and the summary lines."""
    started = time.monotonic()
    prefix = f"bench_e2e_{os.getpid()}_{secrets.token_hex(2)}"
    state = Path(tempfile.mkdtemp(prefix="bench-e2e-alert-"))
    print(f"\n[{database}] suite state and logs in {state}", flush=True)
    urls = postgres_databases(PG_URL, prefix) if database == "postgresql" else {}
    sink = SpanSink() if args.trace else None
    suite = Suite(
        state,
        ports={svc: free_port() for svc in SERVICES},
        database_urls=urls,
        extra_env={
            "GATEWAY_RATE_LIMIT_PER_SECOND": "100000",
            "GATEWAY_RATE_LIMIT_BURST": "100000",
            "AUDIT_CHECKPOINT_INTERVAL_SECONDS": "3600",
            **(sink.env() if sink else {}),
        },
    )
    hot = [hot_plate(n) for n in range(args.entries)]
    counts = args.listener_counts
    per_run = (len(hot) - 100) // len(counts)
    ok = True
    summary: list[str] = []
    try:
        suite.migrate()
        suite.start()
        suite.wait_ready(timeout=90)
        token, rtcc = setup(suite, hot)
        print(f"  suite up and set up in {time.monotonic() - started:.0f}s", flush=True)
        with Listeners(suite.url("gateway"), rtcc, 1) as warm:
            peak, posted = asyncio.run(
                asyncio.wait_for(measure_peak(args, suite, token, hot[:100]), 60)
            )
            # Let ingest's outbox and hotlist drain the peak before the timed runs.
            warm.wait_for(posted, 30)
            if not posted <= warm.readers[0].arrivals.keys():
                print("  (the peak's alerts still not all on the stream after 30 s)", flush=True)
        time.sleep(2)
        for k, count in enumerate(counts):
            mine = hot[100 + k * per_run : 100 + (k + 1) * per_run]
            uptime = os.getloadavg()
            with Listeners(suite.url("gateway"), rtcc, count) as listeners:
                began = time.time()
                result = asyncio.run(
                    asyncio.wait_for(
                        measure(args, suite, token, listeners, peak, mine[:20], mine[20:]), 120
                    )
                )
                errors = listeners.errors()
            rows = report(args, database, count, peak, result)
            if sink is not None:
                time.sleep(1.5)  # the services' last span batches
                rows += sink.report(began, time.time())
            width = max(len(r[0]) for r in rows)
            print(
                f"\n[{database}] {count} listener{'s' * (count > 1)} "
                f"(load average {uptime[0]:.1f} before, {os.getloadavg()[0]:.1f} after)"
            )
            print(f"{'measure':<{width}}  figure")
            print("-" * (width + 30))
            for name, figure in rows:
                print(f"{name:<{width}}  {figure}")
            for error in errors:
                print(f"  stream error: {error!r}", flush=True)
            lat, floor = result["latencies"], result["floor"]
            complete = bool(lat) and result["received"] == result["expected"]
            ok = ok and complete
            summary.append(
                f"{database:<10} {count:>3} listener{'s' if count > 1 else ' '}  "
                f"p50 {pct(lat, 0.5) if lat else float('nan'):6.1f}  "
                f"p99 {pct(lat, 0.99) if lat else float('nan'):6.1f} ms  "
                f"floor p50 {pct(floor, 0.5) if floor else float('nan'):6.1f} ms"
                f"  {result['received']}/{result['expected']} received  "
                f"rate {args.rate or peak / 2:,.0f} reads/s"
            )
    finally:
        suite.stop()
        if sink is not None:
            sink.close()
        if urls:
            postgres_databases(PG_URL, prefix, drop=True)
    return ok, summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database",
        default="postgresql,sqlite",
        help="comma-separated: postgresql, sqlite (default both)",
    )
    parser.add_argument(
        "--listeners",
        default="1,20",
        help="comma-separated counts of RTCC consoles on the stream (default 1,20)",
    )
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--peak-seconds", type=float, default=4.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="reads/s of the timed runs (default: half the peak just measured); a fixed rate "
        "compares two versions under the same load, where a faster one would set itself more",
    )
    parser.add_argument(
        "--trace",
        action="store_true",
        help="export the services' OpenTelemetry spans to the benchmark and print each hop's "
        "duration (recording spans costs CPU: latency figures of such a run read higher)",
    )
    args = parser.parse_args()
    args.listener_counts = [int(n) for n in args.listeners.split(",") if n.strip()]
    databases = [d.strip() for d in args.database.split(",") if d.strip()]
    unknown = set(databases) - {"postgresql", "sqlite"}
    if unknown or not databases or not args.listener_counts:
        parser.error(
            f"--database takes postgresql and/or sqlite (got {args.database!r}); "
            "--listeners takes counts such as 1,20"
        )
    started = time.monotonic()
    print(
        f"read-to-alert benchmark: {', '.join(databases)}; listeners {args.listeners}", flush=True
    )
    ok = True
    summary: list[str] = []
    for database in databases:
        done, lines = run_database(args, database)
        ok = ok and done
        summary += lines
    print(
        "\nread to alert on the RTCC stream at half the peak intake (target p99 < 100 ms, "
        "floor p50 < 30 ms):"
    )
    for line in summary:
        print(f"HEADLINE read to alert  {line}")  # `make bench` repeats these at the end
    print(
        f"(python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at the end, {time.monotonic() - started:.0f}s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
