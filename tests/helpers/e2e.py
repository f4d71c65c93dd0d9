"""Helpers for end-to-end tests: people and tokens made through the real gateway."""

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import httpx
import pyotp
import pytest

from alpr_common.suite import SERVICES, Suite, free_port, postgres_databases
from alpr_common.testing.plugin import in_ci, pg_admin_url, pg_unavailable_reason

PASSWORD = "violet-harbor-window-77"
ALL_TOPICS = ["appropriate_use", "safeguards", "misuse_consequences", "driver_not_wanted_person"]


def create_cso(suite: Suite, username: str, password: str) -> dict[str, str]:
    # The e2e modules share one suite per test worker and each makes its own CSO, in whichever
    # order the worker runs them; refusing a second CSO is tested in tests/access/test_cli.py.
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        username,
        "--full-name",
        "Chief Security",
        "--badge",
        "9001",
        "--password-stdin",
        "--allow-additional",
        input_text=password + "\n",
    )
    return dict(json.loads(out))


def login(gateway: httpx.Client, username: str, password: str, totp_secret: str) -> dict:
    r = gateway.post(
        "/v1/access/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "totp": pyotp.TOTP(totp_secret).now(),
        },
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def create_person(gateway: httpx.Client, cso: dict, username: str, role: str) -> dict:
    r = gateway.post(
        "/v1/access/users",
        headers=cso,
        json={
            "username": username,
            "full_name": f"{username.title()} Person",
            "badge": username[:6],
        },
    )
    assert r.status_code == 201, r.text
    created = r.json()
    r = gateway.post(
        f"/v1/access/users/{created['user']['id']}/roles", headers=cso, json={"role": role}
    )
    assert r.status_code in (200, 201), r.text
    r = gateway.post(
        "/v1/access/enrolments",
        json={
            "username": username,
            "code": created["enrolment"]["enrolment_code"],
            "new_password": PASSWORD,
        },
    )
    assert r.status_code in (200, 201), r.text
    return {"id": created["user"]["id"], "username": username, "totp": r.json()["totp_secret"]}


def record_training(
    gateway: httpx.Client, coordinator: dict, user_id: str, completed_at: datetime
) -> None:
    r = gateway.post(
        "/v1/access/training-records",
        headers=coordinator,
        json={
            "user_id": user_id,
            "course": "ALPR annual",
            "version": "2026.1",
            "topics": ALL_TOPICS,
            "completed_at": completed_at.isoformat(),
        },
    )
    assert r.status_code == 201, r.text


# Each test worker may run two suites at once on PostgreSQL (the session's and a module's own),
# six services each, against a server whose default max_connections is 100: small pools keep
# a test run well inside it (production keeps the default, <SVC>_DATABASE_POOL_SIZE=20).
SMALL_POOLS = {f"{svc.upper()}_DATABASE_POOL_SIZE": "3" for svc in SERVICES}


def running_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """A whole suite of real processes, migrated and ready; stopped (and its databases dropped)
    when the generator closes. The session's `suite` fixture is one; a module whose tests change
    much (a fuzz run) starts its own."""
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
            **SMALL_POOLS,
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


T = TypeVar("T")


def eventually(check: Callable[[], T | None], seconds: float = 45.0, step: float = 0.25) -> T:
    """Poll `check` until it returns something true, and return that; fail after `seconds`.
    What the suite does after answering (outbox deliveries, matching) is waited for this way."""
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {seconds}s")
        time.sleep(step)
