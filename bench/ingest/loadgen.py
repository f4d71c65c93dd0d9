"""The load generator of the single-read benchmarks: CONCURRENCY keep-alive connections, each a
camera of its own, posting one new read per request (native 1-read batches, Plate Recognizer
webhooks, Hikvision ISAPI alerts) for SECONDS, and the figures of the run. `single_read.py`
points it at the suite, `http_floor.py` at the bare floor servers."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httptools
import httpx
import orjson

from alpr_common.suite import cpu_spent

SECONDS = float(os.environ.get("BENCH_SINGLE_SECONDS", "15"))
CONCURRENCY = int(os.environ.get("BENCH_SINGLE_CONCURRENCY", "16"))
# The fleet rows: native posts through the gateway from each of these numbers of connections
# (comma-separated), each a camera of its own posting again as soon as it is answered: points of
# the suite's throughput against its latency (issue 21); "0" leaves them out.
FLEET = tuple(
    n for n in (int(x) for x in os.environ.get("BENCH_SINGLE_FLEET", "32,64").split(",")) if n > 0
)
# The paced fleet row: this many cameras, each on its own connection, posting at their own pace
# (Poisson arrivals) for a total offered rate (`single_read.py`: the line of the
# database, or BENCH_SINGLE_PACED_RATE); 0 leaves it out.
PACED_CAMERAS = int(os.environ.get("BENCH_SINGLE_PACED_CAMERAS", "300"))
# A paced camera idle this long connects again before it posts (below uvicorn's 5 s).
KEEPALIVE_SECONDS = 4.0
# After the warm-up, the run waits this long before it measures: the warm-up's posts come all
# at once (three rounds from every connection), and their deliveries (audit's wait up to 1 s,
# `<SVC>_RELAY_AUDIT_DELAY_SECONDS`) would otherwise be measured as the run's first second.
SETTLE_SECONDS = 2.0


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


class CameraConnection(asyncio.Protocol):
    """One camera's keep-alive HTTP/1.1 connection, as lean as a load generator can be: the
    request is written as bytes and the answer parsed by llhttp (httptools), with no client
    library around it. The load generator shares the two cores with the suite, so whatever it
    spends is taken from the system under test. `bench_ingest.py`'s batches use it too."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.done: asyncio.Future[None] | None = None
        self.closed = False

    @classmethod
    async def open(cls, url: str) -> CameraConnection:
        parts = httpx.URL(url)
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(cls, parts.host, parts.port)
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc or ConnectionError("the server closed the connection"))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        assert self.done is not None
        if not self.done.done():
            self.done.set_result(None)

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        """Send `head` (a request's head up to `Content-Length: `) and `body`; the answer."""
        assert self.transport is not None
        self.body = []
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
        await self.done
        return self.parser.get_status_code(), b"".join(self.body)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def run_kind(
    base: str,
    kind: str,
    token: str,
    *,
    seconds: float,
    concurrency: int,
    cpu: Callable[[], dict[str, float]],
    tag: str,
    rate: float = 0.0,
) -> dict[str, Any]:
    """Post single reads of `kind` to `base` (`<gateway>/v1/ingest` or `<ingest>/v1`) for
    `seconds` from `concurrency` connections; the figures of the run. `cpu` reads the CPU
    seconds used so far by kind of process (`cpu_seconds` of a suite).

    Each connection posts again as soon as it is answered (a closed loop: the figures say what
    the suite can take from that many connections), or, with `rate`, at its own pace: a camera
    posts when its next read is due (Poisson arrivals, `rate` in all), as a fleet does. Then a
    post's latency runs from when it was due, so one that waited for its camera's previous
    answer counts that wait (no coordinated omission)."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    stored = 0
    conns = [await CameraConnection.open(base) for _ in range(concurrency)]
    makers = [Bodies(kind, i, f"{tag}-{kind}") for i in range(concurrency)]
    parts = httpx.URL(base)
    head = (
        f"POST {parts.raw_path.decode()}/{makers[0].path()} HTTP/1.1\r\n"
        f"Host: {parts.netloc.decode()}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {makers[0].content_type()}\r\nContent-Length: "
    ).encode()

    async def one(conn: CameraConnection, maker: Bodies, due: float | None = None) -> None:
        nonlocal stored
        t0 = time.perf_counter() if due is None else due
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
    await asyncio.sleep(SETTLE_SECONDS)
    before = cpu()
    started = time.perf_counter()
    deadline = started + seconds

    async def loop(conn: CameraConnection, maker: Bodies) -> None:
        while time.perf_counter() < deadline:
            await one(conn, maker)

    async def paced(i: int, maker: Bodies) -> None:
        arrivals = random.Random(maker.cam)  # the same schedule in every run
        per_camera = rate / concurrency
        due = started + arrivals.expovariate(per_camera)
        answered = started
        while due < deadline:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            if conns[i].closed or time.perf_counter() - answered > KEEPALIVE_SECONDS:
                # The server closes a connection idle for 5 s (uvicorn); a camera's HTTP client
                # connects again after a quiet spell, as httpx does past its keep-alive expiry.
                conns[i].close()
                conns[i] = await CameraConnection.open(base)
            await one(conns[i], maker, due)
            answered = time.perf_counter()
            due += arrivals.expovariate(per_camera)

    if rate > 0:
        await asyncio.gather(*(paced(i, m) for i, m in enumerate(makers)))
    else:
        await asyncio.gather(*(loop(c, m) for c, m in zip(conns, makers, strict=True)))
    elapsed = time.perf_counter() - started
    spent = cpu_spent(before, cpu())
    for c in conns:
        c.close()
    latencies.sort()
    posts = len(latencies)
    suite_cpu = sum(v for k, v in spent.items() if k not in ("load generator", "other") and v > 0)
    return {
        "kind": kind,
        "concurrency": concurrency,
        "offered": rate,
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
