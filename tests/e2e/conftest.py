"""End-to-end: the six services as real processes on loopback ports, driven over HTTP through the
gateway. Runs on PostgreSQL when it is available (as in production and CI), else on SQLite."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpr_common.suite import SERVICES, Suite, free_port
from alpr_common.testing.plugin import pg_admin_url, pg_unavailable_reason

pytestmark = [pytest.mark.e2e]


def _pg_databases(run_id: str) -> dict[str, str]:
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(pg_admin_url())
        try:
            for svc in SERVICES:
                name = f"alpr_e2e_{svc}_{run_id}"
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base = pg_admin_url().rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return {svc: f"{base}/alpr_e2e_{svc}_{run_id}" for svc in SERVICES}


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    state = tmp_path_factory.mktemp("suite")
    run_id = os.environ.get("PYTEST_XDIST_WORKER", "main") + uuid.uuid4().hex[:6]
    urls = _pg_databases(run_id) if pg_unavailable_reason() is None else {}
    s = Suite(
        state_dir=state,
        ports={svc: free_port() for svc in SERVICES},
        database_urls=urls,
        extra_env={
            "GATEWAY_STATUS_CACHE_SECONDS": "1",
            "AUDIT_CHECKPOINT_INTERVAL_SECONDS": "3600",
        },
    )
    s.migrate()
    s.start()
    try:
        s.wait_ready(timeout=90)
        yield s
    except BaseException:
        _dump_logs(s)
        raise
    finally:
        s.stop()


def _dump_logs(s: Suite) -> None:
    for svc in SERVICES:
        log = Path(s.state_dir) / "logs" / f"{svc}.log"
        if log.exists():
            print(f"----- {svc} log (tail) -----")
            print(log.read_text()[-3000:])


@pytest.fixture(scope="session")
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.url("gateway"), timeout=15.0) as client:
        yield client
