"""The kernel's metrics (alpr_common.metrics) on SQLite: requests counted by route template and
status, never by a path's values or a query string; `/metrics` refused through a proxy; the
outbox probe reads the backlog at scrape time; several workers' files summed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from fastapi import APIRouter

from alpr_common.app import build_app
from alpr_common.db import Database
from alpr_common.events import Event
from alpr_common.migrations import upgrade
from alpr_common.outbox import enqueue_many
from alpr_common.settings import BaseServiceSettings
from alpr_gateway.main import SPEC as GATEWAY
from alpr_gateway.models import OUTBOX
from tests.helpers.metrics import has, label_values, parse, value

ROUTE = "/v1/things/{thing_id}"


def _router() -> APIRouter:
    router = APIRouter()

    @router.get(ROUTE)
    async def thing(thing_id: str) -> dict[str, str]:
        return {"id": thing_id}

    @router.get("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("a bug")

    return router


@pytest.fixture
async def app_client(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}"
    await upgrade(GATEWAY.migrations_dir, url)
    settings = BaseServiceSettings(environment="test", run_relay=False, database_url=url)
    app = build_app(settings, title="t", routers=[_router()], outbox=OUTBOX)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield app, client
    await app.state.db.dispose()


async def _scrape(client: httpx.AsyncClient):
    r = await client.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text, parse(r.text)


async def test_requests_are_counted_by_route_template_never_by_value(app_client):
    _, client = app_client
    _, before = await _scrape(client)
    for plate in ("ABC123", "XYZ789", "ABC123"):
        assert (await client.get(f"/v1/things/{plate}", params={"plate": plate})).status_code == 200
    assert (await client.get("/v1/no-such/ABC123")).status_code == 404
    assert (await client.get("/v1/boom")).status_code == 500
    text, after = await _scrape(client)

    def delta(**labels):
        return value(after, "alpr_http_requests_total", **labels) - value(
            before, "alpr_http_requests_total", **labels
        )

    assert delta(method="GET", route=ROUTE, status="200") == 3
    assert delta(route="unmatched", status="404") == 1
    assert delta(route="/v1/boom", status="500") == 1
    assert value(after, "alpr_http_request_duration_seconds_count", route=ROUTE) >= 3
    # Neither the values in a path nor a query string ever become a label.
    assert "ABC123" not in text and "XYZ789" not in text and "no-such" not in text
    # The scrape and the probes are not counted as traffic.
    assert "/metrics" not in label_values(after, "alpr_http_requests_total", "route")


async def test_metrics_refused_to_a_request_that_came_through_a_proxy(app_client):
    _, client = app_client
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        r = await client.get("/metrics", headers={header: "203.0.113.9"})
        assert r.status_code == 404, header
        assert "alpr_http_requests_total" not in r.text


async def test_outbox_backlog_is_read_at_scrape_time(app_client):
    app, client = app_client
    _, samples = await _scrape(client)
    assert not has(samples, "alpr_outbox_pending_events", destination="audit")
    db: Database = app.state.db
    events = [Event(source="t", type="gateway.request", data={"n": n}) for n in range(3)]
    async with db.sessionmaker() as session:
        await enqueue_many(session, OUTBOX, destination="audit", events=events)
        await session.commit()
    _, samples = await _scrape(client)
    assert value(samples, "alpr_outbox_pending_events", destination="audit") == 3
    assert value(samples, "alpr_outbox_oldest_event_age_seconds", destination="audit") >= 0
    assert value(samples, "alpr_outbox_retrying_events", destination="audit") == 0


async def test_a_failing_probe_drops_its_series_not_the_scrape(app_client):
    app, client = app_client

    async def broken(_app):
        raise RuntimeError("database gone")

    app.state.metric_probes.append(broken)
    text, samples = await _scrape(client)
    assert value(samples, "alpr_metrics_probe_errors_total", probe="broken") >= 1
    assert has(samples, "alpr_http_requests_total") or "alpr_http_requests" in text


def test_workers_metric_files_are_summed(tmp_path):
    """Two processes count into one PROMETHEUS_MULTIPROC_DIR (as `serve --workers 2` sets it):
    the exposition of either holds both counts, and a new supervisor starts from an empty one."""
    script = textwrap.dedent(
        """
        import sys
        from alpr_common import metrics
        metrics.HTTP_REQUESTS.labels("GET", "/v1/x", "200").inc(int(sys.argv[1]))
        sys.stdout.write(metrics.exposition().decode())
        """
    )
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    run = [sys.executable, "-c", script]
    subprocess.run([*run, "2"], env=env, check=True, capture_output=True)
    out = subprocess.run([*run, "3"], env=env, check=True, capture_output=True, text=True)
    assert value(parse(out.stdout), "alpr_http_requests_total", route="/v1/x") == 5

    code = (
        "import os; from alpr_common import metrics; print(metrics.prepare_multiprocess_dir('svc'))"
    )
    made = [
        subprocess.run(
            [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
        ).stdout.strip()
        for _ in range(2)
    ]
    # Two supervisors of one service on one machine (two suites) never share or wipe a directory.
    assert made[0] != made[1]
    assert all(m.startswith(str(tmp_path)) and os.listdir(m) == [] for m in made)
