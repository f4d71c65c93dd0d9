"""Issue 19 item 8: scale-out on one machine. Two replicas each of ingest, hotlist and the gateway
(real processes on loopback ports) on one PostgreSQL, behind in-test round-robin balancers, the
gateways' rate limits in the machine's Redis. Reads posted across the replicas are each matched
once; a hot-list change reaches both hotlist replicas' indexes; no outbox relay delivers an event
twice; the rate limit holds across the two gateways."""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from alpr_common.db import create_engine
from alpr_common.suite import SERVICES, Suite, free_port, postgres_databases
from alpr_common.testing.plugin import pg_admin_url, require_postgresql
from tests.helpers.balancer import RoundRobin
from tests.helpers.e2e import SMALL_POOLS, eventually
from tests.helpers.fleet import Fleet, make_fleet, post_reads
from tests.helpers.redis import redis_url

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(900)]

# Persons: 40 requests at once, then one every 5 s; cameras: 200 at once, 100/s each.
RATE, BURST = 0.2, 40
HOT = [f"SCH{n:04d}" for n in range(8)]
COLD = [f"SCC{n:04d}" for n in range(8)]
DUPLICATES = re.compile(rb'"duplicates":\s*(\d+)')


@dataclass
class Cluster:
    suite: Suite
    gateways: list[str]
    balancers: dict[str, RoundRobin]
    replica_ports: dict[str, list[int]]
    fleet: Fleet | None = None
    hotlist_id: str = ""
    posted: dict[str, str] = field(default_factory=dict)  # read id -> plate

    def query(self, service: str, sql: str) -> list[tuple]:
        async def run() -> list[tuple]:
            engine = create_engine(self.suite.database_urls[service])
            try:
                async with engine.connect() as conn:
                    return [tuple(r) for r in await conn.execute(text(sql))]
            finally:
                await engine.dispose()

        return asyncio.run(run())


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgresql()
    redis = redis_url()
    run_id = os.environ.get("PYTEST_XDIST_WORKER", "main") + uuid.uuid4().hex[:6]
    prefix = f"alpr_scale_{run_id}"
    urls = postgres_databases(pg_admin_url(), prefix)
    ports = {svc: free_port() for svc in SERVICES}
    replicas = {svc: [free_port(), free_port()] for svc in ("ingest", "hotlist", "gateway")}
    replicas["audit"] = [free_port()]
    # Each hotlist replica also has a counting front of its own: ingest replica i relays its
    # reads to hotlist replica i through it, so the test sees which replica took deliveries.
    fronts = [free_port(), free_port()]
    suite = Suite(
        state_dir=Path(tmp_path_factory.mktemp("scale")),
        ports=ports,
        database_urls=urls,
        extra_env={
            **SMALL_POOLS,
            "GATEWAY_STATUS_CACHE_SECONDS": "1",
            "AUDIT_CHECKPOINT_INTERVAL_SECONDS": "3600",
            "GATEWAY_RATE_LIMIT_REDIS_URL": redis,
            "GATEWAY_RATE_LIMIT_REDIS_PREFIX": f"alpr-test:{run_id}:",
            "GATEWAY_RATE_LIMIT_PER_SECOND": str(RATE),
            "GATEWAY_RATE_LIMIT_BURST": str(BURST),
            "GATEWAY_RATE_LIMIT_PER_CAMERA_PER_SECOND": "100",
            "GATEWAY_RATE_LIMIT_PER_CAMERA_BURST": "200",
        },
    )
    balancers = {
        svc: RoundRobin(ports[svc], replicas[svc]) for svc in ("ingest", "hotlist", "gateway")
    }
    balancers["audit"] = RoundRobin(ports["audit"], replicas["audit"])
    for i, port in enumerate(fronts):
        balancers[f"hotlist-{i}"] = RoundRobin(port, [replicas["hotlist"][i]])
    try:
        suite.migrate()
        for balancer in balancers.values():
            balancer.__enter__()
        suite.start(("access", "sharing"))
        suite.start_replicas("audit", replicas["audit"])
        suite.start_replicas("hotlist", replicas["hotlist"])
        suite.start_replicas(
            "ingest",
            replicas["ingest"],
            env=[{"INGEST_HOTLIST_URL": f"http://127.0.0.1:{port}"} for port in fronts],
        )
        gateways = suite.start_replicas("gateway", replicas["gateway"])
        suite.wait_ready(
            (
                "access",
                "sharing",
                *(f"{svc}@{p}" for svc in ("audit", "hotlist", "ingest") for p in replicas[svc]),
                *(f"gateway@{p}" for p in replicas["gateway"]),
            ),
            timeout=180,
        )
        yield Cluster(suite, gateways, balancers, replicas)
    except BaseException:
        for log in sorted((suite.state_dir / "logs").glob("*.log")):
            print(f"----- {log.name} (tail) -----\n{log.read_text()[-2000:]}")
        raise
    finally:
        suite.stop()
        for balancer in balancers.values():
            balancer.__exit__()
        postgres_databases(pg_admin_url(), prefix, drop=True)


@pytest.fixture(scope="module")
def fleet(cluster: Cluster) -> Iterator[Fleet]:
    with httpx.Client(base_url=cluster.suite.url("gateway"), timeout=30.0) as gateway:
        fleet = make_fleet(
            cluster.suite, gateway, "sc", {"manager": "hotlist_manager", "analyst": "investigator"}
        )
        r = gateway.post(
            "/v1/hotlist/hotlists",
            headers=fleet.headers("manager"),
            json={"name": "Scale stolen vehicles", "source": "ncic", "import_format": "canonical"},
        )
        assert r.status_code == 201, r.text
        cluster.hotlist_id = r.json()["id"]
        import_plates(gateway, fleet, cluster.hotlist_id, HOT)
        cluster.fleet = fleet
        yield fleet


def import_plates(gateway: httpx.Client, fleet: Fleet, hotlist_id: str, plates: list[str]) -> None:
    rows = ["plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source"]
    for n, plate in enumerate(plates):
        rows.append(
            f"{plate},TX,stolen_vehicle,V,Stolen vehicle,V8{n:08d},TX2279900,2026-11-01,NCIC"
        )
    r = gateway.post(
        "/v1/hotlist/hotlist-imports",
        params={"hotlist_id": hotlist_id},
        content=("\n".join(rows) + "\n").encode(),
        headers={**fleet.headers("manager"), "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def post_one(cluster: Cluster, fleet: Fleet, gateway_url: str, plate: str) -> str:
    with httpx.Client(base_url=gateway_url, timeout=30.0) as client:
        body = post_reads(client, fleet, [plate])
    (read,) = body["reads"]
    cluster.posted[read["read_id"]] = plate
    return str(read["read_id"])


def camera_token(cluster: Cluster, fleet: Fleet) -> str:
    """The camera's token, as the gateway gets it: its ingest key exchanged at access with the
    gateway's service credentials (to post to one ingest replica directly)."""
    access = cluster.suite.url("access")
    with httpx.Client(base_url=access, timeout=30.0) as client:
        r = client.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "gateway",
                "client_secret": cluster.suite.secrets()["gateway"],
            },
        )
        assert r.status_code == 200, r.text
        service = r.json()["access_token"]
        r = client.post(
            "/v1/ingest-keys/exchange",
            json={"key": fleet.ingest_key},
            headers={"Authorization": f"Bearer {service}"},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def post_to_replica(cluster: Cluster, fleet: Fleet, token: str, replica: int, plate: str) -> str:
    """One read posted straight to ingest replica `replica`, whose relay sends it to hotlist
    replica `replica` (through that replica's front)."""
    port = cluster.replica_ports["ingest"][replica]
    r = httpx.post(
        f"http://127.0.0.1:{port}/v1/reads",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "reads": [
                {
                    "plate": plate,
                    "captured_at": (datetime.now(UTC) - timedelta(seconds=2)).isoformat(),
                    "camera": fleet.camera,
                }
            ]
        },
        timeout=30.0,
    )
    assert r.status_code == 200, r.text
    (read,) = r.json()["reads"]
    cluster.posted[read["read_id"]] = plate
    return str(read["read_id"])


def hits_by_read(cluster: Cluster) -> dict[str, int]:
    return dict(
        cluster.query("hotlist", "SELECT read_id, count(*) FROM alert_hit GROUP BY read_id")
    )


def test_reads_posted_across_replicas_are_each_matched_once(cluster: Cluster, fleet: Fleet):
    plates = [p for pair in zip(HOT, COLD, strict=True) for p in pair] * 2
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(
            pool.map(
                lambda n: post_one(cluster, fleet, cluster.gateways[n % 2], plates[n]),
                range(len(plates)),
            )
        )
    hot_ids = {i for i in ids if cluster.posted[i] in HOT}
    # Both ingest replicas took posts (the gateways' connections alternate between them).
    ingest = cluster.balancers["ingest"]
    for port in cluster.replica_ports["ingest"]:
        assert ingest.requests_to(port, b"POST /v1/reads") > 0, f"ingest@{port} took no read"

    eventually(lambda: hot_ids <= set(hits_by_read(cluster)), seconds=60)
    hits = hits_by_read(cluster)
    assert {i: hits[i] for i in hot_ids} == dict.fromkeys(hot_ids, 1)
    assert not set(hits) & (set(ids) - hot_ids)  # cold plates match nothing
    (total,) = cluster.query("hotlist", "SELECT coalesce(sum(read_count), 0) FROM alert")[0]
    assert total == len(hot_ids)


def test_a_list_change_reaches_both_hotlist_replicas(cluster: Cluster, fleet: Fleet):
    fronts = [cluster.balancers["hotlist-0"], cluster.balancers["hotlist-1"]]
    before = [f.requests_to(f.backends[0], b"POST /v1/events") for f in fronts]
    new = [f"SCN{n:04d}" for n in range(40)]
    with httpx.Client(base_url=cluster.gateways[0], timeout=30.0) as gateway:
        import_plates(gateway, fleet, cluster.hotlist_id, new)
    # From the moment the change is acknowledged, every read of the new plates matches,
    # whichever hotlist replica takes it; post until both have taken deliveries. The reads go
    # to each ingest replica in turn, directly: through the gateways, whose keep-alive
    # connections the round-robin pins to one replica, both might reach the same one.
    token = camera_token(cluster, fleet)
    changed_at = time.monotonic()
    ids = []
    for n, plate in enumerate(new):
        ids.append(post_to_replica(cluster, fleet, token, n % 2, plate))
        eventually(lambda i=ids[-1]: hits_by_read(cluster).get(i) == 1, seconds=30)
        took = [f.requests_to(f.backends[0], b"POST /v1/events") for f in fronts]
        if all(t > b for t, b in zip(took, before, strict=True)) and n >= 3:
            break
    took = [f.requests_to(f.backends[0], b"POST /v1/events") for f in fronts]
    assert all(t > b for t, b in zip(took, before, strict=True)), (before, took)
    hits = hits_by_read(cluster)
    assert [hits.get(i) for i in ids] == [1] * len(ids)
    # Bounded: each of them matched within 30 s of being posted (eventually above).
    assert time.monotonic() - changed_at < 30 * len(ids)


def test_outbox_relays_never_deliver_an_event_twice(cluster: Cluster, fleet: Fleet):
    # Every consumer answers a delivery with how many of its events it had already taken.
    consumers = ["hotlist", "hotlist-0", "hotlist-1", "audit"]
    seen = 0
    for name in consumers:
        balancer = cluster.balancers[name]
        for port in balancer.backends:
            answers = balancer.answers_from(port)
            counts = [int(n) for n in DUPLICATES.findall(answers)]
            seen += len(counts)
            assert sum(counts) == 0, f"{name}@{port} was sent an event twice"
    assert seen > 0, "no delivery was seen"


def test_rate_limit_holds_across_the_two_gateways(cluster: Cluster, fleet: Fleet):
    analyst = fleet.headers("analyst")
    clients = [httpx.Client(base_url=url, timeout=30.0) for url in cluster.gateways]
    try:
        started = time.monotonic()
        codes = []
        retry_after = []
        for n in range(2 * BURST + 10):
            r = clients[n % 2].get("/v1/access/users/me", headers=analyst)
            codes.append(r.status_code)
            if r.status_code == 429:
                retry_after.append(int(r.headers["retry-after"]))
        elapsed = time.monotonic() - started
    finally:
        for c in clients:
            c.close()
    assert set(codes) <= {200, 429}, codes
    granted = codes.count(200)
    # One bucket for both gateways: the burst plus what refilled meanwhile (a bucket per
    # gateway would have granted two bursts).
    assert granted <= BURST + RATE * elapsed + 1, (granted, elapsed)
    assert granted < 2 * BURST
    assert retry_after and min(retry_after) >= 1
    # Both gateways refused once it was empty.
    assert 429 in codes[0::2] and 429 in codes[1::2]
