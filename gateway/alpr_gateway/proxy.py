"""The request path through the gateway: route, authenticate, authorize, check purpose, record,
forward (streaming both ways), record the outcome."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import quote, urlsplit

import httpx
from fastapi import Request
from fastapi.responses import Response, StreamingResponse

from alpr_common.auth import Principal
from alpr_common.errors import (
    AppError,
    Forbidden,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UpstreamError,
    UpstreamTimeout,
)
from alpr_common.forwarded import client_address
from alpr_common.http import ServiceTokens
from alpr_common.jwt import TokenVerifier
from alpr_common.metrics import set_route
from alpr_common.purpose import PURPOSE_HEADERS, check_purpose
from alpr_common.query import refuse_protected_attributes
from alpr_common.status import PrincipalStatusCheck
from alpr_common.telemetry import outgoing_headers, request_id_var
from alpr_common.upstream import SMALL_BODY, Reply, UpstreamTransport
from alpr_gateway.ratelimit import RateLimiter
from alpr_gateway.routes import SERVICES, RouteRule, RouteTable, public_template, service_path
from alpr_gateway.settings import GatewaySettings
from alpr_gateway.translog import Transaction, TransactionLog

log = logging.getLogger("alpr.gateway")

INGEST_KEY_HEADER = "x-alpr-ingest-key"
# Header fields as the ASGI scope holds them (bytes, lower case).
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
        b"host",
        b"x-forwarded-for",
        b"x-request-id",
        b"traceparent",
        b"tracestate",
        INGEST_KEY_HEADER.encode(),
    }
)
BUFFER_LIMIT = 1024 * 1024
# What is not relayed, by (a body is relayed, the gateway sends its own credentials).
_DROPPED = {
    (True, False): HOP_BY_HOP,
    (True, True): HOP_BY_HOP | {b"authorization"},
    (False, False): HOP_BY_HOP | {b"content-length"},
    (False, True): HOP_BY_HOP | {b"content-length", b"authorization"},
}
# RFC 3986 pchar and "/" stay as they are; everything else is percent-encoded (UTF-8).
_PATH_SAFE = "/:@!$&'()*+,;=~"
# Bytes a query string passes on as they are: the printable ASCII ones; the rest are
# percent-encoded, as a URL must have them.
_QUERY_UNSAFE = re.compile(rb"[^\x21-\x7e]")
# The service echoes the request id the gateway gave it; the gateway adds its own once.
# `date` and `server` are the gateway's own server's to send: relayed, they came out twice.
RESPONSE_DROP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"transfer-encoding",
        b"content-length",
        b"x-request-id",
        b"date",
        b"server",
    }
)


def request_target(prefix: bytes, path: str, query: bytes) -> bytes:
    """The request line's target for the service: its URL's path `prefix`, then the path as the
    gateway matched and authorized it (decoded), encoded again (a decoded control character or
    non-ASCII letter is not a valid URL: a 500, once), then the query as the caller sent it, with
    any byte a URL may not hold percent-encoded."""
    target = prefix + quote(path, safe=_PATH_SAFE).encode("ascii")
    if query:
        target += b"?" + _QUERY_UNSAFE.sub(lambda m: b"%%%02X" % m[0][0], query)
    return target


class KeyExchange:
    """Camera ingest keys become short camera tokens from access; cached only as long as the
    status cache, so a revoked key stops working within seconds."""

    def __init__(
        self, client: httpx.AsyncClient, access_url: str, tokens: ServiceTokens, ttl: float
    ) -> None:
        self.client = client
        self.url = f"{access_url.rstrip('/')}/v1/ingest-keys/exchange"
        self.tokens = tokens
        self.ttl = ttl
        self._cache: dict[str, tuple[float, str]] = {}

    async def token_for(self, key: str) -> str:
        digest = hashlib.sha256(key.encode()).hexdigest()
        hit = self._cache.get(digest)
        now = time.monotonic()
        if hit and now - hit[0] < self.ttl:
            return hit[1]
        service_token = await self.tokens.get()
        try:
            resp = await self.client.post(
                self.url,
                json={"key": key},
                headers={"Authorization": f"Bearer {service_token}"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable("access is unreachable to check the ingest key; retry") from exc
        if resp.status_code in (401, 403, 404):
            self._cache.pop(digest, None)
            raise Unauthorized("ingest key unknown or revoked")
        if resp.status_code != 200:
            raise Unavailable(f"access answered {resp.status_code} to a key exchange; retry")
        token = str(resp.json()["access_token"])
        self._cache[digest] = (now, token)
        if len(self._cache) > 10_000:
            self._cache.clear()
        return token


class Gateway:
    def __init__(
        self,
        *,
        settings: GatewaySettings,
        routes: RouteTable,
        upstream: UpstreamTransport,
        verifier: TokenVerifier,
        status: PrincipalStatusCheck,
        keys: KeyExchange,
        translog: TransactionLog,
        limiter: RateLimiter,
    ) -> None:
        self.settings = settings
        self.routes = routes
        self.upstream = upstream
        self.verifier = verifier
        self.status = status
        self.keys = keys
        self.translog = translog
        self.limiter = limiter
        self.trusted_proxies = settings.trusted_proxy_networks()
        self._origins: dict[str, tuple[str, int, bytes]] = {}

    def _origin(self, service: str) -> tuple[str, int, bytes]:
        """Host, port and path prefix of a service's URL (read once)."""
        origin = self._origins.get(service)
        if origin is None:
            url = self.settings.url_of(service)
            parts = urlsplit(url)
            if parts.scheme != "http" or not parts.hostname:
                raise UpstreamError(
                    f"the {service} service's URL {url!r} is not plain http://host[:port]; "
                    "the gateway speaks plain HTTP to the services (TLS ends at the mesh)"
                )
            prefix = quote(parts.path, safe=_PATH_SAFE).encode("ascii")
            origin = (parts.hostname, parts.port or 80, prefix)
            self._origins[service] = origin
        return origin

    def _source_address(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if not self.trusted_proxies:
            return peer
        return client_address(
            peer, request.headers.getlist("x-forwarded-for"), self.trusted_proxies
        )

    async def handle(self, request: Request, service: str, rest: str) -> Response:
        tx = Transaction(
            request_id=request_id_var.get() or "",
            method=request.method,
            # From the ASGI scope: request.url would build (and parse) a whole URL per request.
            path=request.scope["path"],
            query=request.scope["query_string"].decode("latin-1"),
            source_address=self._source_address(request),
            service=service,
        )
        recorded = False
        try:
            rule, path, token = await self._admit(request, tx, service, rest)
            await self.translog.record_request(tx)
            recorded = True
            return await self._forward(request, tx, service, path, token, rule)
        except AppError as exc:
            if not recorded:
                if isinstance(exc, Unavailable) and "transaction log" in exc.detail:
                    raise
                await self.translog.record_refusal(tx, exc.status_code, exc.detail)
            else:
                await self.translog.record_outcome(tx, exc.status_code, 0)
            raise

    async def _admit(
        self, request: Request, tx: Transaction, service: str, rest: str
    ) -> tuple[RouteRule, str, str | None]:
        entry = SERVICES.get(service)
        if entry is None:
            raise NotFound(f"no service {service!r}; known: {', '.join(sorted(SERVICES))}")
        if not self.routes.loaded(service):
            raise Unavailable(f"the {service} service has not published its routes yet; retry")
        path = service_path(rest)
        rule = self.routes.match(service, request.method, path)
        if rule is None:
            raise NotFound(f"no route {request.method} {tx.path}")
        if rule is False:
            raise MethodNotAllowed(f"{request.method} is not allowed on {tx.path}")
        assert isinstance(rule, RouteRule)
        set_route(request.scope, public_template(service, rule.template))
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > self.settings.max_body_bytes:
            raise PayloadTooLarge(
                f"body of {length} bytes exceeds the {self.settings.max_body_bytes}-byte limit"
            )
        # 344.4(a)1: the kernel's one check, which every service also applies itself.
        refuse_protected_attributes(tx.query)
        if rule.public:
            await self.limiter.check_address(tx.source_address)
            return rule, path, None
        principal, token = await self._authenticate(request, service)
        tx.subject = principal.subject
        await self.limiter.check_principal(principal)
        # The kernel's live check, the one every service applies too: deactivation, revoked
        # tokens, roles no longer held (344.7(b)).
        principal = await self.status.admit(principal, training_required=False)
        roles = principal.roles
        tx.roles = sorted(roles)
        if rule.roles and not roles & rule.roles:
            raise Forbidden(
                f"this route is for roles {', '.join(sorted(rule.roles))}; "
                f"you hold {', '.join(sorted(roles)) or 'none'} (344.4(c))",
                extra={"clause": "344.4(c)"},
            )
        if entry.training_required:
            self.status.require_training(principal, await self.status.status_of(principal))
        if rule.purpose:
            h = request.headers
            purpose = check_purpose(*(h.get(name) for name in PURPOSE_HEADERS))
            tx.purpose = purpose.as_log()
        return rule, path, token

    async def _authenticate(self, request: Request, service: str) -> tuple[Principal, str]:
        auth = request.headers.get("authorization", "")
        key = request.headers.get(INGEST_KEY_HEADER)
        scheme, _, value = auth.partition(" ")
        if key is None and scheme.lower() == "basic":
            try:
                key = base64.b64decode(value).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                raise Unauthorized("malformed basic credentials") from None
        if key is not None:
            if service != "ingest":
                raise Unauthorized("ingest keys are valid on ingest routes only")
            token = await self.keys.token_for(key)
        elif scheme.lower() == "bearer" and value:
            token = value.strip()
        else:
            raise Unauthorized(
                "missing credentials: send `Authorization: Bearer <token>` "
                "(cameras may use an ingest key)",
                credentials_sent=False,
            )
        return Principal.from_claims(await self.verifier.verify(token)), token

    async def _forward(
        self,
        request: Request,
        tx: Transaction,
        service: str,
        path: str,
        token: str | None,
        rule: RouteRule,
    ) -> Response:
        with_body = request.method in ("POST", "PUT", "PATCH")
        # A body is relayed only where it means something; the framing of one that is dropped
        # (a GET with Content-Length) must go too, or the upstream would wait for bytes that
        # never come and read the next request on the connection as them.
        # The caller's credentials give way to the token the gateway verified (or got for an
        # ingest key).
        dropped = _DROPPED[with_body, token is not None]
        # The fields as the ASGI server gave them (bytes, lower case), not decoded and encoded
        # again on the way through.
        headers = [(k, v) for k, v in request.scope["headers"] if k not in dropped]
        if token is not None:
            headers.append((b"authorization", b"Bearer " + token.encode("latin-1")))
        headers.append((b"x-forwarded-for", tx.source_address.encode("latin-1")))
        # The request id and the trace context.
        headers += [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in outgoing_headers().items()
        ]
        host, port, prefix = self._origin(service)
        target = request_target(prefix, path, request.scope["query_string"])
        streaming = "text/event-stream" in request.headers.get("accept", "")
        limit = self.settings.upstream_timeout_seconds
        content: bytes | AsyncIterator[bytes] | None = None
        if with_body:
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) <= SMALL_BODY:
                # A small body (a camera's read) is read whole: the upstream transport sends a
                # body up to this size in the same write as the head, not one write after it
                # (two sends, and often two reads for the service), and can send it again if a
                # pooled connection turns out closed. Its size was checked against the limit
                # with its Content-Length (`_admit`).
                content = await request.body()
            else:
                content = self._limited_body(request)
        timeouts = {
            "connect": limit,
            "read": None if streaming else limit,
            "write": limit,
            "pool": limit,
        }
        try:
            reply = await self.upstream.send(
                request.method, host, port, target, headers, content, timeouts
            )
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"the {service} service did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"the {service} service is unreachable: {type(exc).__name__}"
            ) from exc
        except _BodyTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from None
        relayed = [(k.lower(), v) for k, v in reply.headers]
        relayed = [(k, v) for k, v in relayed if k not in RESPONSE_DROP]
        size = reply.header(b"content-length")
        response: Response
        if size and size.isdigit() and int(size) <= BUFFER_LIMIT:
            # Small, complete answers are relayed whole: cheaper than a streamed relay.
            body = await reply.read()
            await self.translog.record_outcome(tx, reply.status, len(body))
            response = Response(body, status_code=reply.status)
        else:
            response = StreamingResponse(self._relay_body(reply, tx), status_code=reply.status)
        # Starlette set the framing (Content-Length for a whole body); the rest is the service's.
        response.raw_headers.extend(relayed)
        return response

    async def _limited_body(self, request: Request) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > self.settings.max_body_bytes:
                raise _BodyTooLarge(f"body exceeds the {self.settings.max_body_bytes}-byte limit")
            yield chunk

    async def _relay_body(self, reply: Reply, tx: Transaction) -> AsyncIterator[bytes]:
        sent = 0
        try:
            async for chunk in reply.body:
                sent += len(chunk)
                yield chunk
        finally:
            await reply.body.aclose()
            await self.translog.record_outcome(tx, reply.status, sent)


class _BodyTooLarge(Exception):
    pass
