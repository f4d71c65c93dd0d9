"""Prometheus metrics: the request middleware and the `/metrics` route that `build_app` gives
every service, and probes that report state read from the database when Prometheus scrapes.

Domain series are defined next to the code that counts them, with prometheus_client's own
constructors (`Counter`, `Histogram`; a `Gauge` only with a `multiprocess_mode`), and land in its
default registry. Under `serve --workers N` the CLI points PROMETHEUS_MULTIPROC_DIR at a fresh
directory before the workers start: each worker writes its values to files there, and whichever
worker answers `/metrics` sums them all (prometheus_client's multiprocess mode).

State that lives in the database (outbox backlog, alerts by state, checkpoint age...) is not
counted in process: a probe reads it at scrape time, so every worker answers the same and a
CronJob's work shows up too. Labels never carry a plate, a query string or a raw path: routes are
reported by their template (`/v1/reads/{read_id}`), unmatched paths as `unmatched`.

`/metrics` answers on the service's own port only. The gateway never forwards it (it is no route
of any service's OpenAPI), and every service refuses it (404) to a request that came through a
proxy (`X-Forwarded-For`, `Forwarded` or `X-Real-IP` present): Prometheus scrapes pods directly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alpr_common.errors import NotFound

log = logging.getLogger("alpr.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
ROUTE_KEY = "alpr.route"
UNMATCHED = "unmatched"
# Probes and the scrape itself would drown the traffic they watch.
_UNCOUNTED = frozenset({"/metrics", "/livez", "/readyz"})
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_PROXY_HEADERS = (b"x-forwarded-for", b"forwarded", b"x-real-ip")

# Seconds: from a cached token check (~1 ms) to a large search or export.
DURATION_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

HTTP_REQUESTS = Counter(
    "alpr_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "alpr_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer (a stream: its whole life).",
    ["method", "route"],
    buckets=DURATION_BUCKETS,
)
PROBE_ERRORS = Counter(
    "alpr_metrics_probe_errors_total",
    "Scrape-time probes that failed or timed out (their series are missing from that scrape).",
    ["probe"],
)


def set_route(scope: Scope, template: str) -> None:
    """Name the route of a request that no framework route handles (the gateway's proxy path)."""
    scope[ROUTE_KEY] = template


def _route_of(scope: Scope) -> str:
    named = scope.get(ROUTE_KEY)
    if named is not None:
        return str(named)
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class MetricsMiddleware:
    """Pure ASGI (streams stay unbuffered): count each request by route template and status, and
    time it. The labelled series are cached per (method, route, status), so a request costs two
    dictionary lookups and two increments (measured by bench/metrics/middleware.py)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _UNCOUNTED:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the request-context middleware answers if the app raises

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        method = scope["method"]
        key = (method, _route_of(scope), status)
        series = self._series.get(key)
        if series is None:
            if method not in _METHODS:
                method = "other"
            series = (
                HTTP_REQUESTS.labels(method, key[1], str(status)),
                HTTP_DURATION.labels(method, key[1]),
            )
            if len(self._series) < 10_000:
                self._series[key] = series
        series[0].inc()
        series[1].observe(seconds)


# ----------------------------------------------------------------------------- probes

Probe = Callable[[FastAPI], Awaitable[Iterable[Metric]]]
PROBE_TIMEOUT_SECONDS = 5.0


def add_probe(app: FastAPI, probe: Probe) -> None:
    """Run `probe` at every scrape: it reads state (the database, files) and returns gauges."""
    app.state.metric_probes.append(probe)


def gauge(
    name: str, documentation: str, samples: Iterable[tuple[dict[str, str], float]] = ()
) -> GaugeMetricFamily:
    """A gauge family for a probe: `samples` are (labels, value) pairs, one label set for all."""
    samples = list(samples)
    labels = sorted(samples[0][0]) if samples else []
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for values, value in samples:
        family.add_metric([values[k] for k in labels], value)
    return family


class _Families:
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def _probe_families(app: FastAPI) -> list[Metric]:
    probes: list[Probe] = getattr(app.state, "metric_probes", [])

    async def run(probe: Probe) -> list[Metric]:
        try:
            return list(await asyncio.wait_for(probe(app), PROBE_TIMEOUT_SECONDS))
        except Exception as exc:  # a failed probe drops its series, never the scrape
            name = getattr(probe, "__name__", "probe")
            log.warning("metrics probe %s failed: %s", name, type(exc).__name__)
            PROBE_ERRORS.labels(name).inc()
            return []

    results = await asyncio.gather(*(run(p) for p in probes))
    return [family for families in results for family in families]


def exposition(extra: Sequence[Metric] = ()) -> bytes:
    """The text exposition: this process's series (all workers' under multiprocess mode), then
    `extra` families."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    if extra:
        state = CollectorRegistry(auto_describe=False)
        state.register(_Families(list(extra)))
        body += generate_latest(state)
    return body


router = APIRouter(tags=["operations"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition, for a scraper that reaches the pod directly."""
    if any(key in _PROXY_HEADERS for key, _ in request.scope["headers"]):
        # Answered as any path the app does not serve (the gateway also logs it, 344.4(d)).
        unrouted: Callable[[Request], Awaitable[Response]] | None = getattr(
            request.app.state, "unrouted", None
        )
        if unrouted is not None:
            return await unrouted(request)
        raise NotFound("no route GET /metrics")
    body = exposition(await _probe_families(request.app))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


# ------------------------------------------------------------------- multiprocess mode


def prepare_multiprocess_dir(service: str) -> Path:
    """For a supervisor about to start workers: a new, empty directory for their metric files,
    named in the environment its children inherit. It is this supervisor's alone (made with
    `mkdtemp`): files of another run, or of another suite of the same service on this machine,
    would be summed with these, or wiped while its workers write them. The base is
    PROMETHEUS_MULTIPROC_DIR if set, else the temporary directory; the supervisor removes the
    directory when its workers have stopped."""
    base = Path(os.environ.get(MULTIPROC_ENV) or tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix=f"alpr-{service}-metrics-", dir=base))
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def clean_stale_files() -> None:
    """For a single process started with PROMETHEUS_MULTIPROC_DIR set: drop files other processes
    left there (an earlier run), keeping this process's own."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return
    mine = f"_{os.getpid()}.db"
    for path in Path(directory).glob("*.db"):
        if not path.name.endswith(mine):
            path.unlink(missing_ok=True)


def install(app: FastAPI) -> None:
    """What `build_app` wires: the route, the probe list (the middleware is added with the
    others, in order)."""
    app.state.metric_probes = []
    app.include_router(router)
