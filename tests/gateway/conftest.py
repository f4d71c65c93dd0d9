"""Gateway tests: the real gateway app over its real spool database, in front of in-process
upstreams. `access` here is a small stand-in serving principal status and key exchange from
dictionaries the test controls; the real access service is exercised through the gateway in
tests/e2e."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import httpx
import pytest
from fastapi import FastAPI, Form, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from alpr_common.app import use_database
from alpr_common.auth import Principal, require
from alpr_common.db import Database
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.purpose import PurposeDep
from alpr_common.roles import Role
from alpr_common.testing.plugin import AUDIENCE, ISSUER, TokenFactory
from alpr_common.upstream import Content, Reply, Timeouts, UpstreamTransport
from alpr_gateway.main import SPEC, create_app, load_routes
from alpr_gateway.settings import GatewaySettings

SERVICE_HOSTS = ("access", "ingest", "hotlist", "sharing", "audit")


@pytest.fixture
def service_spec():
    return SPEC


class Directory:
    """What the stand-in access knows: principal status and ingest keys."""

    def __init__(self) -> None:
        self.status: dict[str, dict[str, Any]] = {}
        self.keys: dict[str, str] = {}
        self.status_calls = 0

    def person(
        self,
        tokens: TokenFactory,
        *roles: str,
        active: bool = True,
        training: timedelta | None = timedelta(days=100),
    ) -> tuple[str, dict[str, str]]:
        trn = datetime.now(UTC) + training if training is not None else None
        subject = f"user:{uuid.uuid4().hex[:8]}"
        token = tokens.token(*roles, subject=subject, training_valid_until=trn)
        self.status[subject] = {
            "subject": subject,
            "kind": "person",
            "active": active,
            "roles": list(roles),
            "training_valid_until": trn.isoformat() if trn else None,
        }
        return subject, {"Authorization": f"Bearer {token}"}


class KeyIn(BaseModel):
    key: str


def fake_access(directory: Directory, tokens: TokenFactory) -> FastAPI:
    app = FastAPI()
    app.state.verifier = None

    @app.post("/v1/token")
    async def token(grant_type: Annotated[str, Form()]) -> dict[str, Any]:
        return {
            "access_token": tokens.token(Role.SERVICE),
            "token_type": "bearer",
            "expires_in": 600,
        }

    @app.get("/v1/principals/{subject}/status")
    async def status(subject: str) -> Any:
        directory.status_calls += 1
        if subject not in directory.status:
            from fastapi.responses import JSONResponse

            return JSONResponse({"error": "NotFound", "detail": "unknown"}, status_code=404)
        return directory.status[subject]

    @app.post("/v1/ingest-keys/exchange")
    async def exchange(body: KeyIn) -> Any:
        from fastapi.responses import JSONResponse

        camera = directory.keys.get(body.key)
        if camera is None:
            return JSONResponse({"error": "Unauthorized", "detail": "no"}, status_code=401)
        tok = tokens.token(Role.CAMERA, subject=f"client:{camera}", cameras=(camera,))
        return {"access_token": tok, "token_type": "bearer", "expires_in": 600}

    return app


def upstream_app(tokens: TokenFactory) -> FastAPI:
    """A service as the gateway sees one: routes that declare roles and purpose."""
    app = FastAPI()
    app.state.verifier = TokenVerifier(
        JWKSCache(static=tokens.keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    app.state.calls = []
    Investigator = Annotated[Principal, require(Role.INVESTIGATOR, Role.RTCC_OPERATOR)]
    Camera = Annotated[Principal, require(Role.CAMERA)]

    @app.get("/v1/reads")
    async def search(request: Request, who: Investigator, purpose: PurposeDep) -> dict[str, Any]:
        app.state.calls.append(("search", dict(request.headers)))
        return {
            "subject": who.subject,
            "purpose": purpose.code.value,
            "case": purpose.case_number,
            "query": request.url.query,
        }

    @app.post("/v1/reads")
    async def post_reads(request: Request, who: Camera) -> dict[str, Any]:
        body = await request.body()
        app.state.calls.append(("post", len(body)))
        return {"bytes": len(body), "cameras": list(who.cameras)}

    @app.get("/v1/public-info")
    async def public_info() -> dict[str, str]:
        return {"hello": "world"}

    @app.get("/v1/echoes/{value}")
    async def echo(value: str) -> dict[str, str]:
        return {"value": value}

    @app.get("/v1/alerts/stream")
    async def stream(who: Investigator) -> StreamingResponse:
        async def events() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"id: {i}\ndata: alert {i}\n\n".encode()
                await asyncio.sleep(0.01)

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.get("/v1/slow")
    async def slow(who: Investigator) -> dict[str, str]:
        await asyncio.sleep(5)
        return {"late": "yes"}

    @app.post("/v1/events")
    async def internal(who: Annotated[Principal, require(Role.SERVICE)]) -> dict[str, str]:
        return {"internal": "yes"}

    return app


class HostRouter(UpstreamTransport):
    """Routes each request to an in-process ASGI app by host name; unknown hosts are down. The
    proxy path's `send` goes the same way, as an httpx request."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        super().__init__()
        self.transports = {h: httpx.ASGITransport(app=a) for h, a in apps.items()}
        self.down: set[str] = set()

    async def send(
        self,
        method: str,
        host: str,
        port: int,
        target: bytes,
        headers: Iterable[tuple[bytes, bytes]],
        content: Content,
        timeouts: Timeouts,
        *,
        request: httpx.Request | None = None,
    ) -> Reply:
        forwarded = httpx.Request(
            method,
            f"http://{host}:{port}{target.decode('ascii')}",
            headers=list(headers),
            content=content,
            extensions={"timeout": timeouts},
        )
        response = await self.handle_async_request(forwarded)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return Reply(response.status_code, response.headers.raw, response.stream)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        if host in self.down or host not in self.transports:
            raise httpx.ConnectError(f"{host} is down", request=request)
        # In-process transports ignore timeouts; enforce the read timeout as a socket would.
        read = request.extensions.get("timeout", {}).get("read")
        try:
            return await asyncio.wait_for(
                self.transports[host].handle_async_request(request), timeout=read
            )
        except TimeoutError:
            raise httpx.ReadTimeout("read timed out", request=request) from None


@pytest.fixture
def directory() -> Directory:
    return Directory()


@pytest.fixture
def upstream(tokens: TokenFactory) -> FastAPI:
    return upstream_app(tokens)


@pytest.fixture
def hosts(directory: Directory, tokens: TokenFactory, upstream: FastAPI) -> HostRouter:
    apps = {h: upstream for h in SERVICE_HOSTS}
    apps["access"] = fake_access(directory, tokens)
    return HostRouter(apps)


@pytest.fixture
def app_settings(migrated: Any) -> GatewaySettings:
    urls = {f"{h}_url": f"http://{h}" for h in SERVICE_HOSTS}
    return GatewaySettings(
        environment="test",
        run_relay=False,
        database_url=migrated.url,
        client_id="gateway",
        client_secret="test-secret",
        status_cache_seconds=0.0,
        upstream_timeout_seconds=0.5,
        max_body_bytes=1000,
        rate_limit_per_second=1000,
        rate_limit_burst=1000,
        **urls,
    )


@pytest.fixture
async def app(
    app_settings: GatewaySettings, db: Database, keyring: Any, hosts: HostRouter
) -> AsyncIterator[FastAPI]:
    application = create_app(app_settings, transport=hosts)
    use_database(application, db)
    application.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    application.state.gateway.verifier = application.state.verifier
    await load_routes(application, application.state.upstream, once=True)
    yield application
    await application.state.gateway.translog.flush()


@pytest.fixture
async def logged(db: Database, app: FastAPI):
    """The transaction-log events the gateway spooled, in order (outcomes flushed first)."""
    from sqlalchemy import select

    from alpr_gateway.models import OUTBOX

    async def read() -> list[dict[str, Any]]:
        await app.state.gateway.translog.flush()
        async with db.sessionmaker() as session:
            rows = await session.execute(
                select(OUTBOX.outbox.c.envelope).order_by(OUTBOX.outbox.c.seq)
            )
            return [json.loads(r.envelope) for r in rows]

    return read
