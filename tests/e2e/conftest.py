"""End-to-end: the six services as real processes on loopback ports, driven over HTTP through the
gateway. Runs on PostgreSQL when it is available (as in production and CI), else on SQLite."""

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpr_common.suite import SERVICES, Suite, free_port, postgres_databases
from alpr_common.testing.plugin import in_ci, pg_admin_url, pg_unavailable_reason

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    state = tmp_path_factory.mktemp("suite")
    run_id = os.environ.get("PYTEST_XDIST_WORKER", "main") + uuid.uuid4().hex[:6]
    prefix = f"alpr_e2e_{run_id}"
    reason = pg_unavailable_reason()
    if reason is not None and in_ci():
        pytest.fail(f"CI requires PostgreSQL at {pg_admin_url()} for end-to-end tests: {reason}")
    use_pg = reason is None
    urls = postgres_databases(pg_admin_url(), prefix) if use_pg else {}
    s = Suite(
        state_dir=state,
        ports={svc: free_port() for svc in SERVICES},
        database_urls=urls,
        extra_env={
            "GATEWAY_STATUS_CACHE_SECONDS": "1",
            "AUDIT_CHECKPOINT_INTERVAL_SECONDS": "3600",
            # On PostgreSQL ingest runs as two worker processes on one port, as a host with
            # spare cores would run it: every ingest flow below crosses both.
            "INGEST_WORKERS": "2" if use_pg else "1",
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
        if use_pg:
            postgres_databases(pg_admin_url(), prefix, drop=True)


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
