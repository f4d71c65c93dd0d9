"""Concurrent writers on the embedded SQLite (issue 21): ingest as a real process, cameras
posting single reads and batches over HTTP while another process holds the database's write
lock for longer than a writer may wait. Every post is answered 200 or 503 with Retry-After,
never 500; a camera resends what got a 503, and every read is stored exactly once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pyotp
import pytest

from alpr_common.suite import SERVICES, Suite, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("sqlite-writers")]

CAMERAS = [f"contended-{i}" for i in range(4)]
WRITE_WAIT_SECONDS = 1.0
# How long the other process holds the lock each time: past the wait, so writers meet the end
# of it (the 503 path), not only the queue.
HOLD_SECONDS = 2.5


@pytest.fixture(scope="module")
def sqlite_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    suite = Suite(
        state_dir=tmp_path_factory.mktemp("sqlite-writers"),
        ports={svc: free_port() for svc in SERVICES},
        extra_env={"INGEST_DATABASE_WRITE_WAIT_SECONDS": str(WRITE_WAIT_SECONDS)},
    )
    suite.migrate(("access", "ingest"))
    suite.start(("access", "ingest"))
    try:
        suite.wait_ready(("access", "ingest"), timeout=90)
        yield suite
    finally:
        suite.stop()


def _register_cameras(suite: Suite) -> None:
    # Written to ingest's database as an administrator's registration would leave them (the
    # route needs a trained admin; what is tested here is the read path).
    at = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(suite.state_dir / "ingest.db", timeout=30) as db:
        db.executemany(
            "INSERT INTO camera (id, name, vendor, camera_type, status, lat, lon, zip_code, "
            "sector, created_at, created_by, updated_at, updated_by, activated_at) VALUES "
            "(?1, ?1, 'other', 'trailer', 'active', 30.27, -97.74, '78701', 'George', ?2, "
            "'test', ?2, 'test', ?2)",
            [(c, at) for c in CAMERAS],
        )


def _camera_token(suite: Suite) -> str:
    password = "violet-harbor-window-77"
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "contention",
        "--full-name",
        "Chief Security",
        "--badge",
        "9002",
        "--password-stdin",
        input_text=password + "\n",
    )
    totp = json.loads(out.strip().splitlines()[-1])["totp_secret"]
    with httpx.Client(base_url=suite.url("access"), timeout=30) as access:
        r = access.post(
            "/v1/token",
            data={
                "grant_type": "password",
                "username": "contention",
                "password": password,
                "totp": pyotp.TOTP(totp).now(),
            },
        )
        assert r.status_code == 200, r.text
        cso = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = access.post(
            "/v1/clients",
            json={"name": "contended cameras", "kind": "camera", "cameras": CAMERAS},
            headers=cso,
        )
        assert r.status_code == 201, r.text
        made = r.json()
        r = access.post(
            "/v1/token",
            data={
                "grant_type": "client_credentials",
                "client_id": made["client"]["id"],
                "client_secret": made["client_secret"],
            },
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def _hold_write_lock(path: str, stop: threading.Event, held: list[float]) -> None:
    """Another process's writer (a CLI command, a backup): takes the write lock, keeps it past
    the writers' wait, lets go, again until stopped."""
    conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        while not stop.is_set():
            time.sleep(0.7)
            conn.execute("BEGIN IMMEDIATE")
            started = time.monotonic()
            time.sleep(HOLD_SECONDS)
            conn.execute("COMMIT")
            held.append(time.monotonic() - started)
    finally:
        conn.close()


def _single(camera: str, n: int, tag: str) -> tuple[str, bytes, list[str]]:
    at = (datetime.now(UTC) - timedelta(seconds=n % 600)).isoformat()
    vid = f"{tag}-{camera}-{n}"
    body = {"reads": [{"plate": f"C{n:06d}", "captured_at": at, "camera": camera,
                       "vendor_read_id": vid}]}  # fmt: skip
    return "/v1/reads", json.dumps(body).encode(), [vid]


def _vendor(camera: str, n: int, tag: str) -> tuple[str, bytes, list[str]]:
    at = (datetime.now(UTC) - timedelta(seconds=n % 600)).isoformat().replace("+00:00", "Z")
    body = {
        "data": {
            "camera_id": camera,
            "filename": f"{tag}/{n}.jpg",
            "timestamp": at,
            "results": [{"plate": f"v{n:06d}", "score": 0.9, "region": {"code": "us-tx"}}],
        },
        "hook": {"event": "recognition", "id": camera},
    }
    return "/v1/vendor-reads/platerecognizer", json.dumps(body).encode(), [f"{tag}/{n}.jpg"]


def _batch(camera: str, n: int, tag: str) -> tuple[str, bytes, list[str]]:
    now = datetime.now(UTC)
    ids = [f"{tag}-{camera}-b{n}-{k}" for k in range(200)]
    body = {
        "reads": [
            {
                "plate": f"B{n:03d}{k:03d}",
                "captured_at": (now - timedelta(seconds=k)).isoformat(),
                "camera": camera,
                "vendor_read_id": vid,
            }
            for k, vid in enumerate(ids)
        ]
    }
    return "/v1/reads", json.dumps(body).encode(), ids


async def _camera(
    client: httpx.AsyncClient,
    camera: str,
    make: object,
    deadline: float,
    statuses: Counter[int],
    problems: list[str],
    sent: list[str],
) -> None:
    n = 0
    tag = uuid.uuid4().hex[:6]
    while time.monotonic() < deadline:
        n += 1
        path, body, ids = make(camera, n, tag)  # type: ignore[operator]
        for _attempt in range(30):  # a camera resends until it is answered 2xx
            r = await client.post(path, content=body, headers={"Content-Type": "application/json"})
            statuses[r.status_code] += 1
            if r.status_code == 200:
                break
            if r.status_code != 503 or "retry-after" not in r.headers:
                problems.append(f"{path}: HTTP {r.status_code} {r.text[:300]}")
                return
            await asyncio.sleep(min(float(r.headers["retry-after"]), 1.0) / 4)
        else:
            problems.append(f"{path}: still 503 after 30 attempts")
            return
        sent.extend(ids)


@pytest.mark.timeout(240)
async def test_contended_sqlite_writers_get_503_never_500_and_lose_no_read(sqlite_suite):
    suite = sqlite_suite
    _register_cameras(suite)
    token = _camera_token(suite)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    sent: list[str] = []
    stop = threading.Event()
    held: list[float] = []
    holder = threading.Thread(
        target=_hold_write_lock, args=(str(suite.state_dir / "ingest.db"), stop, held)
    )
    makers = [_single, _single, _single, _vendor, _vendor, _batch]
    async with httpx.AsyncClient(
        base_url=suite.url("ingest"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
        limits=httpx.Limits(max_connections=32),
    ) as client:
        # Warm: the first post checks the token with access.
        path, body, ids = _single(CAMERAS[0], 0, "warm")
        r = await client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        sent.extend(ids)
        holder.start()
        deadline = time.monotonic() + 10
        try:
            await asyncio.gather(
                *(
                    _camera(client, CAMERAS[i % len(CAMERAS)], make, deadline, statuses,
                            problems, sent)
                    for i, make in enumerate(makers * 2)
                )
            )  # fmt: skip
        finally:
            stop.set()
            await asyncio.to_thread(holder.join)
    assert not problems, problems[:5]
    assert held, "the other writer never got the lock"
    assert statuses[200] > 20, statuses
    # The lock was held past the writers' wait: some writers had to give up, with a 503.
    assert statuses[503] > 0, statuses
    assert set(statuses) <= {200, 503}, statuses
    with sqlite3.connect(suite.state_dir / "ingest.db", timeout=30) as db:
        stored = Counter(
            vid
            for (vid,) in db.execute(
                "SELECT vendor_read_id FROM plate_read WHERE camera_id LIKE 'contended-%'"
            )
        )
    # Plate Recognizer reads carry a hashed vendor id: count those by their file name instead.
    expected_native = Counter(v for v in sent if not v.endswith(".jpg"))
    vendor_posts = sum(1 for v in sent if v.endswith(".jpg"))
    duplicated = [v for v, n in stored.items() if n > 1]
    assert not duplicated, duplicated[:5]
    assert all(stored[v] == 1 for v in expected_native), "an acknowledged read is missing"
    assert sum(stored.values()) == sum(expected_native.values()) + vendor_posts
