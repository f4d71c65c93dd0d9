"""Quarterly report time against the number of reads: one quarter with 1x reads and the same
quarter with 10x reads (the same hits, queries, requests and sharing steps), side by side in
one run.

Two audit databases (PostgreSQL by default, `--sqlite` for SQLite files), migrated with audit's
own Alembic migrations, are loaded through audit's intake (the code behind `POST /v1/events`,
hash chain and report facts included) with the events the suite sends in a quarter: ingest's
`ingest.scan_counts` (one per camera batch: 10x reads are 10x batches), hotlist's alerts and their
steps, ingest's searches, the gateway's request/response pairs, sharing's request steps. Then the
report is asked for through the real app (`GET /v1/reports/quarterly`, in process over ASGI), in
alternating rounds (1x, 10x, 1x, ...), and the medians are compared. Target: 10x / 1x <= 1.3,
since the report reads audit's day-by-camera counters, never the reads.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from alpr_audit import intake
from alpr_audit.main import SPEC, create_app
from alpr_audit.settings import AuditSettings
from alpr_common.app import use_database
from alpr_common.contracts import hotlist as hl
from alpr_common.contracts import ingest as ig
from alpr_common.contracts import sharing as sh
from alpr_common.db import Database, create_engine
from alpr_common.events import Event
from alpr_common.jwt import JWKSCache, KeyRing, TokenVerifier
from alpr_common.migrations import upgrade
from alpr_common.testing.plugin import AUDIENCE, ISSUER, TokenFactory, pg_admin_url

Q_START = datetime(2026, 7, 1, tzinfo=UTC)
DAYS = 92
CAMERAS = 24
BATCHES_PER_CAMERA_DAY = 2  # at 1x; each batch one `ingest.scan_counts` event
READS_PER_BATCH = 40
ALERTS = 600
SEARCHES = 3000
REQUESTS = 3000
SHARING_REQUESTS = 150
TARGET = 1.3


def _event(type_: str, data: dict[str, Any], at: datetime, source: str | None = None) -> Event:
    return Event(
        id=uuid.uuid4().hex,
        source=source or type_.split(".", 1)[0],
        type=type_,
        time=at,
        subject="bench",
        data=data,
    )


def _scan_events(scale: int, rng: random.Random) -> list[Event]:
    events = []
    for d in range(DAYS):
        day = (Q_START + timedelta(days=d)).date()
        for cam in range(CAMERAS):
            ctype = ("fixed", "trailer", "vehicle")[cam % 3]
            for b in range(BATCHES_PER_CAMERA_DAY * scale):
                count = ig.ScanCount(
                    day=day.isoformat(),
                    camera_type=ctype,
                    zip_code=f"787{cam % 12:02d}" if ctype != "vehicle" else None,
                    sector=("Adam", "Baker", "Charlie", "David", "Edward", "Frank")[cam % 6],
                    camera_id=f"cam-{cam:03d}",
                    reads=READS_PER_BATCH + rng.randrange(-5, 6),
                )
                at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    seconds=b * 86400 // (BATCHES_PER_CAMERA_DAY * scale)
                )
                data = ig.ScanCountsData(batch_id=uuid.uuid4().hex, counts=[count])
                events.append(_event(ig.SCAN_COUNTS, data.model_dump(), at))
    return events


def _other_events(rng: random.Random) -> list[Event]:
    """Everything but the reads: the same for both databases (same seed)."""
    events = []
    for n in range(ALERTS):
        cam = rng.randrange(CAMERAS)
        at = Q_START + timedelta(seconds=rng.randrange(DAYS * 86400))
        facts = hl.AlertData(
            actor="service:hotlist",
            seq=n + 1,
            entry_source="ncic",
            read_id=f"rd{n}",
            plate=f"BEN{n:04d}",
            match_type="exact",
            missing_endangered=False,
            origin="live",
            alert_id=f"al{n:05d}",
            entry_id=n,
            hotlist_id=f"hl{n % 4}",
            hotlist_name=f"List {n % 4}",
            entry_type="stolen_vehicle",
            entry_origin="manual" if n % 3 == 0 else "import",
            manual_reason="bolo_investigation" if n % 3 == 0 else None,
            entered_by_role="officer",
            camera_id=f"cam-{cam:03d}",
            camera_type=("fixed", "trailer", "vehicle")[cam % 3],
            zip_code=f"787{cam % 12:02d}",
            sector="Baker",
            status="new",
        ).model_dump()
        events.append(_event(hl.ALERT_CREATED, facts, at))
        for i, (step, extra) in enumerate(
            [
                ("acknowledged", {}),
                ("visual_confirmation", {"matches": True}),
                ("ncic_tcic_confirmation", {"still_valid": n % 5 != 0}),
            ]
        ):
            t = at + timedelta(minutes=5 * (i + 1))
            data = hl.AlertStepData(
                **facts, step=step, step_id=f"{n}-{i}", at=t.isoformat(), **extra
            )
            events.append(_event(f"hotlist.alert_{step}", data.model_dump(), t))
        if n % 5 == 1:
            t = at + timedelta(hours=2)
            data = hl.AlertOutcomeData(
                **facts,
                step="outcome",
                step_id=f"{n}-o",
                at=t.isoformat(),
                outcome=("arrest", "released_without_action")[n % 2],
                enforcement_action="traffic_stop",
                detention=True,
                offense="auto theft",
                driver_race="unknown",
                driver_gender="unknown",
                victim_race="not_applicable",
                victim_gender="not_applicable",
            )
            events.append(_event(hl.ALERT_OUTCOME, data.model_dump(), t))
    for _ in range(SEARCHES):
        at = Q_START + timedelta(seconds=rng.randrange(DAYS * 86400))
        data = ig.SearchData(
            purpose="criminal_investigation",
            case_number="2026-1",
            kind="plate",
            subject="user:inv",
            criteria={"plate": "ABC1234"},
            result_count=3,
            returned=3,
            at=at.isoformat(),
        )
        events.append(_event(ig.SEARCH, data.model_dump(), at))
    for _ in range(REQUESTS):
        at = Q_START + timedelta(seconds=rng.randrange(DAYS * 86400))
        rid = uuid.uuid4().hex[:16]
        events.append(
            _event(
                "gateway.request",
                {"request_id": rid, "subject": "user:inv", "method": "GET", "path": "/v1/reads"},
                at,
            )
        )
        events.append(_event("gateway.response", {"request_id": rid, "status": 200}, at))
    for n in range(SHARING_REQUESTS):
        at = Q_START + timedelta(seconds=rng.randrange(DAYS * 86400))
        base = {
            "request_id": f"rq{n}",
            "kind": "agency_data",
            "requester_type": "law_enforcement",
            "agency_name": f"Agency {n % 5}",
        }
        events.append(_event(sh.REQUEST_RECEIVED, base, at))
        decided = {**base, "decision": ("approved", "denied")[n % 2]}
        events.append(_event(sh.REQUEST_DECIDED, decided, at + timedelta(hours=3)))
    return events


async def _load(db: Database, events: list[Event]) -> float:
    started = time.perf_counter()
    for i in range(0, len(events), 500):
        async with db.sessionmaker() as session:
            await intake.record_events(session, events=events[i : i + 500])
            await session.commit()
    return time.perf_counter() - started


async def _pg_database(name: str) -> str:
    import asyncpg

    admin = await asyncpg.connect(pg_admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = pg_admin_url().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{name}"


async def _drop_pg(name: str) -> None:
    import asyncpg

    admin = await asyncpg.connect(pg_admin_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


class Target:
    def __init__(self, label: str, url: str, tmp: Path, keys: KeyRing) -> None:
        self.label = label
        settings = AuditSettings(
            environment="test",
            run_relay=False,
            database_url=url,
            checkpoint_dir=tmp / f"{label}-checkpoints",
            checkpoint_key_file=tmp / f"{label}-key.pem",
            checkpoint_interval_seconds=0,
        )
        self.app = create_app(settings)
        self.db = Database(create_engine(url))
        use_database(self.app, self.db)
        self.app.state.verifier = TokenVerifier(
            JWKSCache(static=keys.jwks()), issuer=ISSUER, audience=AUDIENCE
        )


async def _time_report(client: httpx.AsyncClient, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    r = await client.get("/v1/reports/quarterly", params={"quarter": "2026Q3"}, headers=headers)
    elapsed = time.perf_counter() - started
    if r.status_code != 200:
        raise SystemExit(f"report failed: {r.status_code} {r.text[:300]}")
    return elapsed


async def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    names = {"1x": "alpr_bench_audit_1x", "10x": "alpr_bench_audit_10x"}
    if args.sqlite:
        urls = {k: f"sqlite+aiosqlite:///{tmp / (k + '.db')}" for k in names}
    else:
        urls = {k: await _pg_database(n) for k, n in names.items()}
    backend = "sqlite" if args.sqlite else "postgresql"
    try:
        keys = KeyRing.from_dir(tmp / "keys", create=True)
        headers = TokenFactory(keys).headers("city_auditor", expires_in=timedelta(hours=1))
        scans = {"1x": _scan_events(1, random.Random(1)), "10x": _scan_events(10, random.Random(1))}
        others = _other_events(random.Random(2))
        targets = {}
        print(f"backend: {backend}; loading one quarter into each database through the intake")
        for label in ("1x", "10x"):
            await upgrade(SPEC.migrations_dir, urls[label])
            target = Target(label, urls[label], tmp, keys)
            events = scans[label] + others
            random.Random(3).shuffle(events)
            seconds = await _load(target.db, events)
            print(
                f"  {label:>3}: {len(scans[label]):>6} scan-count events, {len(others)} others, "
                f"loaded in {seconds:.1f}s ({len(events) / seconds:.0f} events/s)"
            )
            targets[label] = target
        times: dict[str, list[float]] = {"1x": [], "10x": []}
        reads: dict[str, int] = {}
        clients = {}
        for label, target in targets.items():
            clients[label] = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=target.app), base_url="http://audit"
            )
            r = await clients[label].get(
                "/v1/reports/quarterly", params={"quarter": "2026Q3"}, headers=headers
            )
            body = r.json()
            reads[label] = body["plates_scanned"]["plates_scanned"]
            same = (body["hits"]["hits"], body["sharing_requests"]["received"])
            print(f"  {label:>3}: plates scanned {reads[label]:,}; hits, sharing requests {same}")
        for _ in range(args.rounds):
            for label in ("1x", "10x"):
                times[label].append(await _time_report(clients[label], headers))
        for label, target in targets.items():
            await clients[label].aclose()
            await target.db.engine.dispose()
        m1, m10 = statistics.median(times["1x"]), statistics.median(times["10x"])
        ratio = m10 / m1
        print()
        print(f"{'':24}{'1x reads':>14}{'10x reads':>14}")
        print(f"{'plates scanned':24}{reads['1x']:>14,}{reads['10x']:>14,}")
        print(
            f"{'report p50 (ms)':24}{m1 * 1000:>14.1f}{m10 * 1000:>14.1f}"
            f"   ({args.rounds} alternating rounds each)"
        )
        print(f"{'report min (ms)':24}{min(times['1x']) * 1000:>14.1f}"
              f"{min(times['10x']) * 1000:>14.1f}")  # fmt: skip
        verdict = "ok" if ratio <= TARGET else "ABOVE TARGET"
        print(f"ratio 10x/1x: {ratio:.2f} (target <= {TARGET}) {verdict}")
        return 0 if ratio <= TARGET else 1
    finally:
        if not args.sqlite:
            for name in names.values():
                await _drop_pg(name)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", action="store_true", help="SQLite files, not PostgreSQL")
    parser.add_argument("--rounds", type=int, default=15)
    sys.exit(asyncio.run(main(parser.parse_args())))
