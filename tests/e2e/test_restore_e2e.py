"""Issue 19 item 3: after a restore the purge runs before the suite serves, and the audit chain
and its signed checkpoints are verified. Real backups (pg_dump / pg_restore of the suite's
PostgreSQL databases) restored into fresh databases, real service processes started on them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from alpr_common.db import create_engine
from alpr_common.errors import problem_type
from alpr_common.suite import Suite, free_port
from alpr_common.testing.plugin import pg_admin_url
from tests.helpers.e2e import eventually
from tests.helpers.fleet import SEARCH_PURPOSE, make_fleet, post_reads

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e"), pytest.mark.timeout(900)]

PLATES = [f"RST{n:04d}" for n in range(6)]
AGE = timedelta(days=40)


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _admin(sql: str) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(pg_admin_url())
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


@contextmanager
def scratch_database() -> Iterator[str]:
    """A fresh, empty database (async URL), dropped afterwards."""
    name = f"alpr_restore_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"{pg_admin_url().rsplit('/', 1)[0]}/{name}".replace(
            "postgresql://", "postgresql+asyncpg://", 1
        )
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backup(url: str, path: Path) -> None:
    """pg_dump, custom format: what a scheduled logical backup keeps."""
    subprocess.run(
        ["pg_dump", "--format=custom", "--no-owner", f"--file={path}", libpq(url)], check=True
    )


def restore(path: Path, url: str) -> None:
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={libpq(url)}", str(path)],
        check=True,
    )


def age_reads(url: str, by: timedelta) -> None:
    """Make the database hold the reads `by` older, as a backup restored `by` later would."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from alpr_ingest import partitions

    async def run() -> None:
        engine = create_engine(url)
        try:
            async with AsyncSession(engine) as session:
                rows = await session.execute(text("SELECT DISTINCT captured_at FROM plate_read"))
                days = {(r[0] - by).astimezone(UTC).date() for r in rows}
                await partitions.ensure(session, days)
                for table in ("plate_read", "read_alias"):
                    await session.execute(
                        text(
                            f"UPDATE {table} "
                            "SET captured_at = captured_at - make_interval(days => :days)"
                        ),
                        {"days": by.days},
                    )
                await session.commit()
        finally:
            await engine.dispose()

    asyncio.run(run())


def query(url: str, sql: str, **params: object) -> list[tuple]:
    async def run() -> list[tuple]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return [tuple(r) for r in await conn.execute(text(sql), params)]
        finally:
            await engine.dispose()

    return asyncio.run(run())


@contextmanager
def service_on(suite: Suite, service: str, database_url: str, **env: str) -> Iterator[str]:
    """One more process of `service` on its own port and database; yields its URL."""
    port = free_port()
    prefix = service.upper() + "_"
    environ = suite.env() | {
        prefix + "DATABASE_URL": database_url,
        prefix + "PORT": str(port),
        prefix + "RUN_RELAY": "false",
        **{prefix + k: v for k, v in env.items()},
    }
    log = (suite.state_dir / "logs" / f"{service}-restored-{port}.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", f"alpr_{service}", "serve"],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def fleet(suite: Suite, gateway: httpx.Client):
    if not suite.database_urls:
        pytest.skip("restores are tested on PostgreSQL (pg_dump / pg_restore)")
    return make_fleet(suite, gateway, "rst", {"investigator": "investigator"})


@pytest.mark.policy("344.4(d)")
def test_restored_older_state_is_purged_before_it_answers_a_search(
    suite: Suite, gateway: httpx.Client, fleet, tmp_path: Path
):
    post_reads(gateway, fleet, PLATES)
    investigator = fleet.headers("investigator") | SEARCH_PURPOSE
    with scratch_database() as older, scratch_database() as restored:
        # The backup: a database holding reads 40 days old (ingest's, aged by 40 days).
        backup(suite.database_urls["ingest"], tmp_path / "ingest-now.dump")
        restore(tmp_path / "ingest-now.dump", older)
        age_reads(older, AGE)
        cutoff = datetime.now(UTC) - timedelta(days=30)
        old = query(older, "SELECT count(*) FROM plate_read WHERE captured_at < :c", c=cutoff)
        assert old[0][0] >= len(PLATES)
        backup(older, tmp_path / "ingest-older.dump")
        # The restore, into a fresh database; ingest started on it (two workers, both purging
        # at start-up, as two replicas would).
        restore(tmp_path / "ingest-older.dump", restored)
        answers: list[httpx.Response] = []
        with service_on(suite, "ingest", restored, WORKERS="2") as url:
            with httpx.Client(base_url=url, timeout=10.0) as client:

                def search_answered() -> bool:
                    try:
                        r = client.get(
                            "/v1/reads", params={"plate": PLATES[0]}, headers=investigator
                        )
                    except httpx.TransportError:
                        return False  # not listening yet
                    answers.append(r)
                    return r.status_code == 200

                eventually(search_answered, seconds=90, step=0.05)
                # The first answer came after the purge: no read past the window is left...
                left = query(
                    restored, "SELECT count(*) FROM plate_read WHERE captured_at < :c", c=cutoff
                )
                assert left[0][0] == 0
                assert client.get("/readyz").json()["checks"]["purge"] == "ok"
        # ...and the purge was committed before the search was (ingest's outbox, in order).
        events = [
            (seq, json.loads(env)["type"], json.loads(env)["data"])
            for seq, env in query(restored, "SELECT seq, envelope FROM outbox_event ORDER BY seq")
            if json.loads(env)["type"] in ("ingest.purge", "ingest.search")
        ]
        kinds = [kind for _, kind, _ in events]
        assert "ingest.purge" in kinds and "ingest.search" in kinds
        assert kinds.index("ingest.purge") < kinds.index("ingest.search")
        purged_days = [
            d for _, kind, data in events if kind == "ingest.purge" for d in data["days"]
        ]
        aged_day = (datetime.now(UTC) - AGE).date()
        assert any(date.fromisoformat(d["day"]) <= aged_day for d in purged_days)
        # Every answer before it was 503 with Retry-After, never a read and never a 500.
        for r in answers[:-1]:
            assert r.status_code == 503, r.text
            assert r.json()["type"] == problem_type("PurgePending")
            assert int(r.headers["retry-after"]) >= 1
        assert answers[-1].json()["items"] == []  # the fresh copies are older than 30 days too


@pytest.mark.policy("344.4(d)")
def test_restored_audit_log_is_verified_against_its_checkpoints(
    suite: Suite, gateway: httpx.Client, fleet, tmp_path: Path
):
    audit_db = suite.database_urls["audit"]
    env = {"CHECKPOINT_INTERVAL_SECONDS": "0"}
    backup(audit_db, tmp_path / "audit-before.dump")
    # The log grows past the backup, and a checkpoint signs its new head.
    entries_then = query(audit_db, "SELECT count(*) FROM log_entry")[0][0]
    post_reads(gateway, fleet, ["RSTA0001"])
    eventually(lambda: query(audit_db, "SELECT count(*) FROM log_entry")[0][0] > entries_then)
    suite.command("audit", "checkpoint")
    backup(audit_db, tmp_path / "audit-after.dump")

    # The latest state: entries and checkpoints verify.
    with scratch_database() as current:
        restore(tmp_path / "audit-after.dump", current)
        with service_on(suite, "audit", current, **env) as url:
            with httpx.Client(base_url=url, timeout=10.0) as client:
                assert eventually(lambda: _ready(client), seconds=60)["checks"]["chain"] == "ok"
            assert "transaction log verified at start-up" in _log_of(suite, url)

    # An older state: its entries verify, so audit takes events again, and the newest
    # checkpoint, past the restored head, is reported as the record of what was rolled back.
    with scratch_database() as older:
        restore(tmp_path / "audit-before.dump", older)
        with service_on(suite, "audit", older, **env) as url:
            with httpx.Client(base_url=url, timeout=10.0) as client:
                eventually(lambda: _ready(client), seconds=60)
            log = eventually(
                lambda: (t := _log_of(suite, url)) and "checkpoint(s) do not match" in t and t
            )
            assert "transaction log verification failed" in log

    # A restored log whose entries were altered does not serve.
    with scratch_database() as altered:
        restore(tmp_path / "audit-after.dump", altered)
        tamper = (
            "ALTER TABLE log_entry DISABLE TRIGGER USER; "
            "UPDATE log_entry SET data = '{\"forged\": true}' "
            "WHERE seq = (SELECT max(seq) - 1 FROM log_entry)"
        )
        subprocess.run(["psql", "-q", "-c", tamper, libpq(altered)], check=True)
        with service_on(suite, "audit", altered, **env) as url:
            with httpx.Client(base_url=url, timeout=10.0) as client:

                def refused() -> dict | None:
                    body = _readiness(client)
                    return body if body and body["checks"]["chain"].startswith("error") else None

                body = eventually(refused, seconds=60)
                assert "python -m alpr_audit verify" in body["checks"]["chain"]
                assert client.get("/readyz").status_code == 503


def _log_of(suite: Suite, url: str) -> str:
    port = url.rsplit(":", 1)[1]
    return next((suite.state_dir / "logs").glob(f"*-restored-{port}.log")).read_text()


def _readiness(client: httpx.Client) -> dict | None:
    try:
        return dict(client.get("/readyz").json())
    except (httpx.TransportError, ValueError):
        return None


def _ready(client: httpx.Client) -> dict | None:
    body = _readiness(client)
    return body if body and body.get("status") == "ok" else None
