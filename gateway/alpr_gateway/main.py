from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from alpr_common.app import ServiceSpec, build_app, problem_response
from alpr_common.errors import AppError
from alpr_common.http import make_client
from alpr_common.tasks import periodic
from alpr_common.upstream import UpstreamTransport
from alpr_gateway import models
from alpr_gateway.openapi import PublicDocument
from alpr_gateway.proxy import Gateway, KeyExchange
from alpr_gateway.ratelimit import RateLimiter
from alpr_gateway.routes import SERVICES, RouteTable
from alpr_gateway.settings import GatewaySettings
from alpr_gateway.translog import TransactionLog

log = logging.getLogger("alpr.gateway")

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


class ProxyPath:
    """Every public request under /v1/<service>/: routed, checked, logged and forwarded.

    Pure ASGI, just inside the request-id middleware: the proxy needs no routing, dependency
    injection or validation from the framework, and skipping those layers is measurable on the
    gateway's hot path. Errors are answered as every other route answers them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _PROXIED.match(scope["path"]) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        gateway: Gateway = scope["app"].state.gateway
        response: Response
        try:
            response = await gateway.handle(Request(scope, receive), match[1], match[2])
        except AppError as exc:
            response = problem_response(exc)
        await response(scope, receive, send)


_PROXIED = re.compile(r"/v1/([^/]+)/(.*)", re.DOTALL)


async def unknown(request: Request) -> Response:
    """Anything outside /v1/<service>/ is refused, and logged like every other request."""
    gateway: Gateway = request.app.state.gateway
    return await gateway.handle(request, "", request.scope["path"].lstrip("/"))


router = APIRouter(
    routes=[Route("/{path:path}", unknown, methods=METHODS, include_in_schema=False)]
)


async def load_routes(app: FastAPI, client: httpx.AsyncClient, *, once: bool = False) -> None:
    """Read each service's OpenAPI; retry fast until all are loaded, then refresh slowly."""
    settings: GatewaySettings = app.state.settings
    table: RouteTable = app.state.routes
    document: PublicDocument = app.state.api_document

    # The document each table was built from: an unchanged one (every refresh, mostly) is not
    # parsed and merged again, which held the gateway's loop for milliseconds every refresh.
    loaded_from: dict[str, bytes] = app.state.route_documents

    async def load() -> None:
        for name in SERVICES:
            try:
                resp = await client.get(f"{settings.url_of(name)}/openapi.json", timeout=5.0)
                resp.raise_for_status()
                if loaded_from.get(name) == resp.content and table.loaded(name):
                    continue
                schema = resp.json()
                table.load(name, schema)
                document.load(name, schema)
                loaded_from[name] = resp.content
            except (httpx.HTTPError, ValueError) as exc:
                log.warning("route table for %s not loaded: %s", name, type(exc).__name__)

    def pace() -> float:
        pending = [n for n in SERVICES if not table.loaded(n)]
        return 0.5 if pending else settings.route_refresh_seconds

    if once:
        await load()
        return
    await periodic("route-loader", pace, load, logger=log)


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
            await app.state.gateway.limiter.aclose()
            await app.state.upstream.aclose()

    return hook(app)


def create_app(
    settings: GatewaySettings | None = None,
    *,
    transport: UpstreamTransport | None = None,
) -> FastAPI:
    settings = settings or GatewaySettings()
    app = build_app(
        settings,
        title="ALPR governance suite",
        description="The only public entry: JWT verification, route authorization, purpose "
        "checks and the transaction log (GO 344.4).",
        routers=[router],
        outbox=models.OUTBOX,
        hooks=[route_loader],
        transport=transport,
        # The proxy path refuses such queries itself, after recording them in the log.
        refuse_protected_queries=False,
    )
    # Innermost of the app's own middleware: inside the request-id one, before routing.
    app.user_middleware.append(Middleware(ProxyPath))
    app.state.routes = RouteTable()
    app.state.route_documents = {}  # service: the OpenAPI document its routes were read from
    # `/openapi.json` (and so /docs and /redoc) is the services' documents merged, public paths.
    app.state.api_document = PublicDocument(SERVICES, public_url=settings.public_url)
    app.openapi = app.state.api_document.document  # type: ignore[method-assign]
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
        status=app.state.principal_status,
        keys=KeyExchange(
            app.state.http, settings.access_url, app.state.tokens, settings.status_cache_seconds
        ),
        translog=TransactionLog(lambda: app.state.db, models.OUTBOX),
        limiter=RateLimiter.from_settings(settings),
    )

    async def routes_ready() -> str:
        missing = [n for n in SERVICES if not app.state.routes.loaded(n)]
        return "ok" if not missing else f"routes not loaded: {', '.join(missing)}"

    app.state.ready_checks["routes"] = routes_ready
    # /metrics relayed by the edge (alpr_common.metrics) is refused and logged as `unknown` is.
    app.state.unrouted = unknown
    return app


SPEC = ServiceSpec(
    name="gateway",
    settings_cls=GatewaySettings,
    metadata=models.metadata,
    migrations_dir=Path(__file__).resolve().parents[1] / "migrations",
    app_factory=create_app,
)
