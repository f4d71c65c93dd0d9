"""The app factory every service uses: settings, database, JWT verifier, service tokens, outbox
relay, error rendering, request ids, telemetry and health, wired the same way everywhere."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import email.message
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.constants import REF_TEMPLATE
from fastapi.openapi.models import Schema
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from opentelemetry import context as otel_context
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from pydantic_core import from_json
from sqlalchemy import MetaData
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from alpr_common import direct
from alpr_common.apidocs import install_docs
from alpr_common.auth import ServiceCaller
from alpr_common.db import (
    WRITE_BUSY_DETAIL,
    Database,
    WriteLockBusy,
    is_lock_timeout,
    request_transaction,
)
from alpr_common.errors import (
    PROBLEM_JSON,
    AppError,
    BadRequest,
    Forbidden,
    HeadersTooLarge,
    Problem,
    RetryLater,
    Unauthorized,
    Unavailable,
    Unprocessable,
    bearer_challenge,
    problem_title,
    problem_type,
    responses,
    retry_after_value,
)
from alpr_common.events import Event, EventBatch, EventBatchResult
from alpr_common.health import router as health_router
from alpr_common.http import ServiceTokens, make_client
from alpr_common.jsonenc import FastJSONResponse
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.metrics import MetricsMiddleware
from alpr_common.metrics import install as install_metrics
from alpr_common.outbox import EventHandler, OutboxTables, consume, outbox_probe
from alpr_common.query import refuse_protected_attributes
from alpr_common.relay import OutboxRelay
from alpr_common.settings import BaseServiceSettings
from alpr_common.status import AccessStatusSource, PrincipalStatusCheck, StatusCache
from alpr_common.telemetry import (
    REQUEST_ID_HEADER,
    configure_logging,
    configure_tracing,
    continue_trace,
    new_request_id,
    request_id_var,
    tracing_exported,
)

log = logging.getLogger("alpr.app")

LifespanHook = Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class ServiceSpec:
    """What the CLI, the migrations and the test plugin need to know about a service."""

    name: str
    settings_cls: type[BaseServiceSettings]
    metadata: MetaData
    migrations_dir: Path
    app_factory: Callable[..., FastAPI]


_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Outbox destinations whose events are read to alert (hot-list matching): sent the moment they
# commit, several deliveries under way at once (`OutboxRelay`, `relay_live_in_flight`).
LIVE_DESTINATIONS = ("hotlist",)


class RequestContextMiddleware:
    """Pure ASGI (no buffering, so server-sent events stream): take or make the request id, and
    continue the caller's W3C trace (or start one), exposing both to logs and outgoing calls.

    With an OTLP endpoint configured, OpenTelemetry's own FastAPI instrumentation records spans;
    without one, this middleware alone keeps `traceparent` flowing at a fraction of the cost.
    """

    def __init__(
        self, app: ASGIApp, *, trace: bool = True, max_header_bytes: int = 32 * 1024
    ) -> None:
        self.app = app
        self.trace = trace
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        carrier: dict[str, str] = {}
        header_bytes = 0
        for key, value in scope["headers"]:
            header_bytes += len(key) + len(value)
            if key == b"x-request-id":
                incoming = value.decode("latin-1")
            elif key in (b"traceparent", b"tracestate"):
                carrier[key.decode()] = value.decode("latin-1")
        rid = incoming if incoming and _REQUEST_ID_OK.match(incoming) else new_request_id()
        token = request_id_var.set(rid)
        path_token = _instance_var.set(scope.get("path") or None)
        ctx_token = otel_context.attach(continue_trace(carrier)) if self.trace else None

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.lower().encode(), rid.encode()),
                ]
            await send(message)

        try:
            if header_bytes > self.max_header_bytes:
                exc = HeadersTooLarge(
                    f"request headers of {header_bytes} bytes exceed the "
                    f"{self.max_header_bytes}-byte limit"
                )
                await problem_response(exc)(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered here, inside the request's context: Starlette's outermost error
            # middleware runs after the request id is gone, and the answer must carry it.
            if started:
                raise
            log.exception("unhandled error")
            await internal_error()(scope, receive, send_with_id)
        finally:
            if ctx_token is not None:
                otel_context.detach(ctx_token)
            request_id_var.reset(token)
            _instance_var.reset(path_token)


class ProtectedAttributeQueryBan:
    """Pure ASGI: every request to a service is checked before routing, as at the gateway."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("query_string"):
            try:
                refuse_protected_attributes(scope["query_string"].decode("latin-1"))
            except Forbidden as exc:
                await problem_response(exc)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


# The path of the request being answered: a problem's `instance` (never the query string, which
# may hold a plate).
_instance_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "problem_instance", default=None
)


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> ProblemResponse:
    """The one error answer: an RFC 9457 problem (`Problem`) with the request's path as
    `instance` and its request id. 401 always carries a bearer challenge, 429 and 503 always
    `Retry-After`, whoever raised them."""
    body.setdefault("type", problem_type(_STATUS_NAMES.get(status, "Error")))
    body.setdefault("title", problem_title(_STATUS_NAMES.get(status, "Error")))
    body["status"] = status
    instance = _instance_var.get()
    if instance:
        body.setdefault("instance", instance)
    rid = request_id_var.get()
    if rid:
        body.setdefault("request_id", rid)
    headers = dict(headers or {})
    if status == 401 and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = bearer_challenge()
    if status in (429, 503) and "Retry-After" not in headers:
        headers["Retry-After"] = retry_after_value(RetryLater.retry_after_seconds)
    return ProblemResponse(body, status_code=status, headers=headers)


def problem_response(exc: AppError) -> ProblemResponse:
    """The answer to a raised `AppError`."""
    return error_response(exc.status_code, exc.to_body(), exc.headers())


_STATUS_NAMES = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    422: "Unprocessable",
    429: "TooManyRequests",
    431: "HeadersTooLarge",
    500: "InternalError",
    502: "UpstreamError",
    503: "Unavailable",
    504: "UpstreamTimeout",
}


def _describe_validation(errors: Sequence[Any]) -> str:
    parts = []
    for err in errors[:10]:
        where = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def validation_problem(errors: Sequence[Any]) -> dict[str, Any]:
    """The problem for invalid input: `detail` names the fields, `errors` lists them one by one."""
    fields = [
        {
            "loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "invalid")),
            "type": str(e.get("type", "value_error")),
        }
        for e in errors
    ]
    return {
        "type": problem_type("ValidationFailed"),
        "title": "Validation failed",
        "detail": _describe_validation(fields),
        "errors": fields,
    }


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_timeout(request: Request, _exc: PoolTimeout) -> JSONResponse:
        # Every connection busy past the wait (SQLite: the writers' queue): a delay, not a fault.
        log.warning("no database connection within the wait; answered 503")
        return await _app_error(request, WriteLockBusy(WRITE_BUSY_DETAIL))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, validation_problem(exc.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such route; the service's routes are listed in its /openapi.json"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = "this route does not take that method; see the Allow header"
        return error_response(exc.status_code, {"detail": detail}, dict(exc.headers or {}))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            log.warning("database connection lost; the pool reconnects")
            return problem_response(
                Unavailable("the database connection was lost; nothing was stored, retry")
            )
        if is_lock_timeout(exc):
            log.warning("the SQLite write lock stayed taken past the wait; answered 503")
            return await _app_error(request, WriteLockBusy(WRITE_BUSY_DETAIL))
        if refused_connection(exc):
            log.warning("the database refuses new connections (%s); answered 503", exc.orig)
            return problem_response(
                Unavailable(
                    "the database refuses new connections for now; nothing was stored, retry"
                )
            )
        return await _unexpected(request, exc)

    @app.exception_handler(ConnectionError)
    async def _unreachable(_: Request, exc: ConnectionError) -> JSONResponse:
        # A dependency (the database at connect time, a service) that cannot be reached.
        log.warning("a dependency cannot be reached (%s); answered 503", type(exc).__name__)
        return problem_response(Unavailable("a dependency cannot be reached; retry shortly"))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return internal_error()


# SQLSTATEs of a server that will not take a new connection now (too many clients, starting up,
# shutting down, unreachable): a dependency that is down, answered 503, not a fault (500).
_REFUSED_CONNECTION = frozenset({"53300", "57P01", "57P02", "57P03", "08001", "08004", "08006"})


def refused_connection(exc: DBAPIError) -> bool:
    """The database refused or could not be reached for a new connection."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    cause = getattr(orig, "__cause__", None)
    code = code or getattr(cause, "sqlstate", None)
    return code in _REFUSED_CONNECTION or isinstance(cause, OSError)


def internal_error() -> JSONResponse:
    """The 500 answer: nothing about the failure, only the request id to quote."""
    return error_response(
        500, {"detail": "unexpected server error; quote the request id when reporting it"}
    )


def _custom_openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Document the errors the handlers really send (`Problem`, as application/problem+json),
    not FastAPI's default, on every route: 422 everywhere, 400 where there is a body, 401 and 403
    where there is security."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        _add_own_body_schemas(schema, components)
        _, defs = models_json_schema([(Problem, "serialization")], ref_template=REF_TEMPLATE)
        components.update(defs.get("$defs", {}))
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        content = {PROBLEM_JSON: {"schema": {"$ref": REF_TEMPLATE.format(model="Problem")}}}
        for ops in schema.get("paths", {}).values():
            for op in ops.values():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                resp = op["responses"]
                resp["422"] = {
                    "description": "The request is malformed; `errors` names each field "
                    f"(`{problem_type('ValidationFailed')}`)"
                }
                if "requestBody" in op:
                    resp.setdefault("400", {"description": "The body cannot be decoded"})
                if any(p.get("name") == "cursor" for p in op.get("parameters", [])):
                    resp.setdefault(
                        "400",
                        {"description": "The cursor is not one this list gave out"},
                    )
                if op.get("security"):
                    resp.setdefault(
                        "401",
                        {"description": "Missing or invalid token (with `WWW-Authenticate`)"},
                    )
                    resp.setdefault("403", {"description": "Role or purpose not allowed"})
                for code, body in resp.items():
                    if code[0] in "45":
                        body["content"] = content
                        if code in ("429", "503"):
                            body["headers"] = {"Retry-After": _RETRY_AFTER_DOC}
                        elif code == "401":
                            body["headers"] = {"WWW-Authenticate": _CHALLENGE_DOC}
        app.openapi_schema = schema
        return schema

    return openapi


_RETRY_AFTER_DOC = {
    "description": "Seconds to wait before repeating the request",
    "schema": {"type": "integer"},
}
_CHALLENGE_DOC = {
    "description": 'The bearer challenge of RFC 6750 (`error="invalid_token"` when a token '
    "was sent and refused)",
    "schema": {"type": "string"},
}


# Models of the routes that validate their own JSON body, by schema name: FastAPI documents
# only the models of body parameters, so `_custom_openapi` adds these to the components.
_OWN_BODY_MODELS: dict[str, type[BaseModel]] = {}


def own_json_body(
    model: type[BaseModel], *, examples: dict[str, Any] | None = None
) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (to decode it faster, or to
    refuse items one by one): documents a required body of `model`, as a body parameter would,
    with named `examples` (`{"name": {"summary": ..., "value": ...}}`) if given."""
    _OWN_BODY_MODELS[model.__name__] = model
    media: dict[str, Any] = {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}
    if examples:
        media["examples"] = examples
    return {"requestBody": {"content": {"application/json": media}, "required": True}}


def _add_own_body_schemas(schema: dict[str, Any], components: dict[str, Any]) -> None:
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            if not isinstance(op, dict):
                continue
            content = op.get("requestBody", {}).get("content", {})
            ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
            model = _OWN_BODY_MODELS.get(ref.rpartition("/")[2])
            if model is None or model.__name__ in components:
                continue
            _, defs = models_json_schema([(model, "validation")], ref_template=REF_TEMPLATE)
            for name, definition in defs.get("$defs", {}).items():
                # What get_openapi does to the schemas it generates (drops null defaults).
                components.setdefault(
                    name, jsonable_encoder(Schema(**definition), by_alias=True, exclude_none=True)
                )


_BODY_UNREADABLE = "There was an error parsing the body"


def _is_json(content_type: str | None) -> bool:
    """FastAPI's test for a JSON body: application/json or application/*+json."""
    if content_type == "application/json":
        return True
    if not content_type:
        return False  # FastAPI's strict content type: no header, no JSON
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


@dataclass(frozen=True)
class _ParsedBatch:
    batch: EventBatch | None
    errors: list[dict[str, Any]]

    def get(self) -> EventBatch:
        if self.batch is None:
            raise RequestValidationError(self.errors)
        return self.batch


async def _parse_batch(request: Request) -> _ParsedBatch:
    """The body of `POST /v1/events`, decoded by pydantic-core's JSON parser, then validated.

    A FastAPI body parameter decodes with the standard-library `json`: a quarter of a busy
    consumer's CPU on read batches. pydantic-core builds the same values in about 60% of the time
    (`model_validate_json` saves far less: it re-walks the `data` trees it parsed); validating
    the result costs next to nothing, and is FastAPI's own (python mode, `from_attributes`), so
    schema errors read as before. Answers stay FastAPI's: an undecodable body is refused here,
    before the token is checked, and schema errors after it (`_ParsedBatch.get`).
    """
    try:
        body = await request.body()
    except StarletteHTTPException:  # a body size limit
        raise
    except Exception as exc:
        raise StarletteHTTPException(400, _BODY_UNREADABLE) from exc
    if not body:
        return _ParsedBatch(None, [{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    value: Any = body  # a body that is not JSON is validated as bytes, and refused
    if _is_json(request.headers.get("content-type")):
        try:
            # Keys only: caching values (read ids, times) costs more than it saves.
            value = from_json(body, cache_strings="keys")
        except ValueError:
            # pydantic-core is stricter than the standard library about a few things (lone
            # surrogates, nesting deeper than 200, UTF-16, a BOM) and otherwise builds equal
            # values: decode as FastAPI does, so such a body is taken or refused as before.
            value = _stdlib_json(body)
    try:
        return _ParsedBatch(EventBatch.model_validate(value, from_attributes=True), [])
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        return _ParsedBatch(None, [{**e, "loc": ("body", *e["loc"])} for e in errors])


def _stdlib_json(body: bytes) -> Any:
    """`json.loads`, refusing as FastAPI does: 422 `json_invalid` at the position, else 400."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise RequestValidationError(
            [
                {
                    "type": "json_invalid",
                    "loc": ("body", exc.pos),
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": exc.msg},
                }
            ],
            body=exc.doc,
        ) from exc
    except Exception as exc:  # not UTF-8/16/32, an integer over the digit limit, too deep
        raise StarletteHTTPException(400, _BODY_UNREADABLE) from exc


EventBatchBody = Annotated[_ParsedBatch, Depends(_parse_batch)]

BatchHandler = Callable[[AsyncSession, Sequence[Event]], Awaitable[EventBatchResult]]


def event_router(
    tables: OutboxTables,
    handler: EventHandler | None = None,
    *,
    batch_handler: BatchHandler | None = None,
) -> APIRouter:
    """`POST /v1/events` for the service role. Most services give a per-event `handler` and the
    kernel applies each event id once; a service that takes very many events (audit) gives a
    `batch_handler` that does the same de-duplication in bulk."""
    router = APIRouter(tags=["internal"])

    # A direct route (`alpr_common.direct`): every relay delivery comes here, and the framework's
    # routing and dependency resolution were a fifth of a consumer's CPU at single-read rates.
    # The body and the caller are taken in this order, as before; the transaction commits
    # before the answer is sent, as `SessionDep`'s does.
    @router.post(
        "/v1/events",
        response_model=EventBatchResult,
        responses=responses(BadRequest, Unauthorized, Forbidden, Unprocessable),
        openapi_extra=own_json_body(EventBatch),
    )
    @direct.direct
    async def receive_events(
        request: Request, body: EventBatchBody, _caller: ServiceCaller
    ) -> FastJSONResponse:
        """Internal: accept a batch of events from another service's outbox, once per event id."""
        batch = body.get()
        async with request_transaction(request.app.state.db) as session:
            if batch_handler is not None:
                result = await batch_handler(session, batch.events)
            else:
                assert handler is not None
                result = await consume(session, tables, batch.events, handler)
        return FastJSONResponse(result.model_dump())

    return router


def operation_id(route: APIRoute) -> str:
    """A route's operationId is its function's name (`search_reads`), which reads well in
    generated code; the gateway's merged document prefixes it with the service
    (`ingest_search_reads`). FastAPI's default appends the path and method."""
    return route.name


def use_database(app: FastAPI, db: Database) -> None:
    """Serve `app` from `db`: its request sessions, its relay's, and the relay's wake-up when a
    session of `db` commits events to the outbox. Tests swap in their database this way."""
    app.state.db = db
    relay: OutboxRelay | None = getattr(app.state, "relay", None)
    if relay is not None:
        relay.db = db
        db.on_outbox_commit = relay.notify


def build_app(
    settings: BaseServiceSettings,
    *,
    title: str,
    description: str = "",
    routers: Sequence[APIRouter] = (),
    outbox: OutboxTables | None = None,
    event_handler: EventHandler | None = None,
    event_batch_handler: BatchHandler | None = None,
    hooks: Sequence[LifespanHook] = (),
    verifier: TokenVerifier | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    refuse_protected_queries: bool = True,
    training_required: bool = True,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name)
    # `transport` lets tests route this service's outgoing calls to in-process apps.
    http = make_client(timeout=settings.http_timeout_seconds, transport=transport)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        relay: OutboxRelay | None = app.state.relay
        if relay is not None and settings.run_relay:
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
        async with contextlib.AsyncExitStack() as stack:
            for hook in hooks:
                await stack.enter_async_context(hook(app))
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                for task in tasks:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        await app.state.http.aclose()
        await app.state.db.dispose()

    app = FastAPI(
        title=title,
        description=description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        generate_unique_id_function=operation_id,
        # FastAPI's own OpenTelemetry off: spans come from the instrumentation below when this
        # process exports traces (both would record each request twice), metrics are
        # Prometheus' (`MetricsMiddleware`), logs are JSON on stderr. Off here, it costs
        # nothing per request; left on, it looked for global providers on every request
        # (2-3 % of a camera post's CPU in ingest).
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.db = Database.from_url(
        settings.database_url,
        pool_size=settings.database_pool_size,
        write_wait_seconds=settings.database_write_wait_seconds,
    )
    app.state.http = http
    app.state.verifier = verifier or TokenVerifier(
        JWKSCache(f"{settings.access_url}/.well-known/jwks.json", client=http),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
    )
    app.state.tokens = ServiceTokens(
        http,
        access_url=settings.access_url,
        client_id=settings.client_id,
        client_secret=settings.client_secret.get_secret_value(),
    )
    app.state.principal_status = PrincipalStatusCheck(
        StatusCache(
            AccessStatusSource(http, settings.access_url, app.state.tokens.get),
            settings.status_cache_seconds,
        ),
        training_required=training_required,
    )
    app.state.ready_checks = {}
    app.state.relay = None
    if outbox is not None:
        app.state.relay = OutboxRelay(
            app.state.db,
            outbox,
            urls=settings.url_of,
            token=app.state.tokens.get,
            client=http,
            batch_size=settings.relay_batch_size,
            interval=settings.relay_interval_seconds,
            delays={"audit": settings.relay_audit_delay_seconds},
            linger=settings.relay_linger_seconds,
            in_flight={d: settings.relay_live_in_flight for d in LIVE_DESTINATIONS},
            coalesce=settings.relay_live_coalesce_seconds,
            live_linger=settings.relay_live_linger_seconds,
            deliver=settings.delivers_outbox,
        )
    use_database(app, app.state.db)
    install_error_handlers(app)
    app.include_router(health_router)
    install_metrics(app)
    if outbox is not None:
        app.state.metric_probes.append(outbox_probe(outbox))
    install_docs(app)
    routers = list(routers)
    if outbox is not None and (event_handler or event_batch_handler) is not None:
        routers.append(event_router(outbox, event_handler, batch_handler=event_batch_handler))
    for router in routers:
        app.include_router(router)
    direct.install(app, routers)
    # FastAPI's documented way to extend the schema is to replace the method on the instance.
    app.openapi = _custom_openapi(app)  # type: ignore[method-assign]
    exporting = tracing_exported()
    if exporting:
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="livez,readyz")
    if refuse_protected_queries:
        # 344.4(a)1 on every service, not only at the gateway (which checks, and logs, itself).
        app.add_middleware(ProtectedAttributeQueryBan)
    # Inside the request context, so a 500 it answers is counted as one.
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        RequestContextMiddleware,
        trace=not exporting,
        max_header_bytes=settings.max_header_bytes,
    )
    return app
