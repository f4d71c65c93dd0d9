from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Route

from alpr_common.app import ServiceSpec, build_app
from alpr_common.http import make_client
from alpr_common.upstream import UpstreamTransport
from alpr_gateway import models
from alpr_gateway.proxy import Gateway, KeyExchange
from alpr_gateway.ratelimit import RateLimiter
from alpr_gateway.routes import SERVICES, RouteTable
from alpr_gateway.settings import GatewaySettings
from alpr_gateway.status import AccessStatusSource, StatusCache
from alpr_gateway.translog import TransactionLog

log = logging.getLogger("alpr.gateway")

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def forward(request: Request) -> Response:
    """Every public request: routed, checked, logged and forwarded."""
    gateway: Gateway = request.app.state.gateway
    params = request.path_params
    return await gateway.handle(request, params["service"], params["rest"])


async def unknown(request: Request) -> Response:
    """Anything outside /v1/<service>/ is refused, and logged like every other request."""
    gateway: Gateway = request.app.state.gateway
    return await gateway.handle(request, "", request.path_params["path"])


# Plain Starlette routes: the proxy needs no dependency injection or validation, and skipping
# FastAPI's per-request machinery is measurable on the gateway's hot path.
router = APIRouter(
    routes=[
        Route("/v1/{service}/{rest:path}", forward, methods=METHODS, include_in_schema=False),
        Route("/{path:path}", unknown, methods=METHODS, include_in_schema=False),
    ]
)


async def load_routes(app: FastAPI, client: httpx.AsyncClient, *, once: bool = False) -> None:
    """Read each service's OpenAPI; retry fast until all are loaded, then refresh slowly."""
    settings: GatewaySettings = app.state.settings
    table: RouteTable = app.state.routes
    while True:
        for name in SERVICES:
            try:
                resp = await client.get(f"{settings.url_of(name)}/openapi.json", timeout=5.0)
                resp.raise_for_status()
                table.load(name, resp.json())
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("route table for %s not loaded: %s", name, type(exc).__name__)
        if once:
            return
        pending = [n for n in SERVICES if not table.loaded(n)]
        await asyncio.sleep(0.5 if pending else settings.route_refresh_seconds)


def route_loader(app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
    @contextlib.asynccontextmanager
    async def hook(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(load_routes(app, app.state.upstream), name="route-loader")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await app.state.gateway.translog.flush()
            await app.state.upstream.aclose()

    return hook(app)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    app = build_app(
        settings,
        title="ALPR gateway",
        description="The only public entry: JWT verification, route authorization, purpose "
        "checks and the transaction log (GO 344.4).",
        routers=[router],
        outbox=models.OUTBOX,
        hooks=[route_loader],
        transport=transport,
    )
    app.state.routes = RouteTable()
    # The proxy's transport (plain HTTP/1.1, O(1) keep-alive pool; tests inject theirs); the
    # client around it fetches the services' OpenAPI documents and closes it at shutdown.
    upstream = transport or UpstreamTransport(max_connections=500)
    app.state.upstream = make_client(
        timeout=settings.upstream_timeout_seconds, max_connections=500, transport=upstream
    )
    app.state.gateway = Gateway(
        settings=settings,
        routes=app.state.routes,
        upstream=upstream,
        verifier=app.state.verifier,
        status=StatusCache(
            AccessStatusSource(app.state.http, settings.access_url, app.state.tokens),
            settings.status_cache_seconds,
        ),
        keys=KeyExchange(
            app.state.http, settings.access_url, app.state.tokens, settings.status_cache_seconds
        ),
        translog=TransactionLog(lambda: app.state.db, models.OUTBOX),
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
    )

    async def routes_ready() -> str:
        missing = [n for n in SERVICES if not app.state.routes.loaded(n)]
        return "ok" if not missing else f"routes not loaded: {', '.join(missing)}"

    app.state.ready_checks["routes"] = routes_ready
    return app


SPEC = ServiceSpec(
    name="gateway",
    settings_cls=GatewaySettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
