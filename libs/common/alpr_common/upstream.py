"""A lean HTTP/1.1 transport for httpx: asyncio protocols, llhttp (httptools) and an O(1)
keep-alive pool.

httpcore's pool polls every pooled socket on every request and runs each read through anyio
streams; on the gateway that was half of the CPU. Here a request takes the most recently used idle
connection of its origin (LIFO), the response is parsed in C as it arrives, and body chunks are
handed to the reader as they come (server-sent events pass unbuffered).

Two ways in: `send` takes the request as bytes (method, target, header fields) and gives a `Reply`
(the gateway's proxy path, which has the fields as bytes already); `handle_async_request` is the
httpx transport over it (the services' clients). Building an httpx `Request` and `Response` per
request (a URL parsed, every header normalized twice) was a tenth of the gateway's CPU.

Plain http:// only: upstreams are cluster-internal and TLS ends at the mesh or the ingress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import cast

import httptools
import httpx

log = logging.getLogger("alpr.upstream")

# Response bytes buffered before the socket stops being read, and the level that resumes it.
HIGH_WATER = 1024 * 1024
LOW_WATER = 256 * 1024
# A body up to this size goes out in the same write as the head.
SMALL_BODY = 64 * 1024

Timeouts = dict[str, float | None]
# A request body: whole (sent with the head when small, replayed on a stale connection) or
# streamed (chunked unless the header fields give its length).
Content = bytes | AsyncIterable[bytes] | None


@dataclass(slots=True)
class Reply:
    """An upstream's answer: the status, the header fields as received, and the body as it
    arrives. Read the body to the end (`read`, or iterate it) or close it."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: httpx.AsyncByteStream
    http_version: bytes = b"HTTP/1.1"

    def header(self, name: bytes) -> bytes | None:
        """The first field called `name` (lower case)."""
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    async def read(self) -> bytes:
        try:
            return b"".join([chunk async for chunk in self.body])
        finally:
            await self.body.aclose()


def _expire(fut: asyncio.Future[bool]) -> None:
    if not fut.done():
        fut.set_result(False)


class _Stale(Exception):
    """The connection died before any response byte: the request may be replayed."""

    def __init__(self, error: httpx.TransportError) -> None:
        super().__init__(str(error))
        self.error = error


class _Origin:
    """The connections of one (host, port): idle ones newest last, and who waits for a slot."""

    __slots__ = ("count", "idle", "waiters")

    def __init__(self) -> None:
        self.idle: deque[_Connection] = deque()
        self.count = 0
        self.waiters: deque[asyncio.Future[bool]] = deque()

    def wake(self) -> None:
        while self.waiters:
            fut = self.waiters.popleft()
            if not fut.done():
                fut.set_result(True)
                return


class _Connection(asyncio.Protocol):
    """One TCP connection, one request at a time. The per-exchange state is reset by `start`."""

    def __init__(self, pool: UpstreamTransport, origin: _Origin) -> None:
        self.pool = pool
        self.origin = origin
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.lost = False
        self.lost_exc: BaseException | None = None
        self.idle_since = 0.0
        self.waiter: asyncio.Future[bool] | None = None
        self.write_paused = False
        self.read_paused = False
        self.parser: httptools.HttpResponseParser | None = None
        self.head = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.sent = False
        self.received = False
        self.bad: Exception | None = None
        self.chunks: deque[bytes] = deque()
        self.buffered = 0

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:
            # Idle: a server speaks unasked only to say goodbye (408, close).
            self.close()
            return
        self.received = True
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.complete = True
            self.keep_alive = False
        except httptools.HttpParserError as exc:
            self.bad = exc
            self.close()
        self.wake()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.lost_exc = exc
        self._release_slot()
        if self.headers_done and not self.complete and exc is None and self._close_delimited():
            self.complete = True  # a body without framing ends where the server closes
        self.keep_alive = False
        self.wake()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.wake()

    # ------------------------------------------------------------------ llhttp callbacks

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        assert parser is not None
        if self.headers_done:  # a second response nobody asked for
            self.keep_alive = False
            return
        status = parser.get_status_code()
        if status < 200 and status != 101:
            self.headers = []  # informational; the real answer follows
            return
        self.status = status
        self.headers_done = True
        self.keep_alive = parser.should_keep_alive()
        if self.head or status == 101:
            # llhttp cannot be told the request was HEAD; the answer ends with its headers and
            # the next exchange gets a fresh parser.
            self.complete = True
            self.keep_alive = self.keep_alive and status != 101

    def on_body(self, body: bytes) -> None:
        if self.complete:
            self.keep_alive = False
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self.read_paused and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self.headers_done:
            self.complete = True

    # ------------------------------------------------------------------ state

    def _close_delimited(self) -> bool:
        if self.head or self.status in (204, 304):
            return False
        framing = (b"content-length", b"transfer-encoding")
        return not any(name.lower() in framing for name, _ in self.headers)

    def _release_slot(self) -> None:
        if not self.closed:
            self.closed = True
            self.origin.count -= 1
            self.origin.wake()

    def close(self) -> None:
        self._release_slot()
        if self.transport is not None:
            self.transport.abort()

    def wake(self) -> None:
        fut = self.waiter
        if fut is not None and not fut.done():
            fut.set_result(True)

    async def wait(self, seconds: float | None) -> bool:
        """Until any event on the connection; False when `seconds` passed first. (A timer handle on
        one future: cheaper than asyncio.timeout on every read.)"""
        fut = self.loop.create_future()
        self.waiter = fut
        handle = None if seconds is None else self.loop.call_later(seconds, _expire, fut)
        try:
            return await fut
        finally:
            self.waiter = None
            if handle is not None:
                handle.cancel()

    def start(self, head: bool) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.head = head
        self.status = 0
        self.headers = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.sent = False
        self.received = False
        self.bad = None

    def finish(self) -> bool:
        """End the exchange; True when the connection can serve another request."""
        self.parser = None
        self.chunks.clear()
        self.buffered = 0
        if self.read_paused and not self.lost and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()
        return self.complete and self.keep_alive and self.sent and not self.closed

    def failure(self, request: httpx.Request | None) -> httpx.TransportError | _Stale:
        if self.bad is not None:
            return httpx.RemoteProtocolError(
                f"malformed upstream response: {self.bad}", request=request
            )
        error: httpx.TransportError
        if self.lost_exc is not None:
            error = httpx.ReadError(
                f"upstream connection broken: {type(self.lost_exc).__name__}", request=request
            )
        else:
            error = httpx.RemoteProtocolError(
                "upstream closed the connection before a complete response", request=request
            )
        return error if self.received or self.headers_done else _Stale(error)

    # ------------------------------------------------------------------ the exchange

    async def exchange(
        self,
        head: bytes,
        content: bytes,
        stream: AsyncIterable[bytes] | None,
        length: int | None,
        timeouts: Timeouts,
        request: httpx.Request | None,
    ) -> Reply:
        self.start(head.startswith(b"HEAD "))
        parser = self.parser
        assert parser is not None
        try:
            if self.lost:
                raise self.failure(request)
            transport = self.transport
            assert transport is not None
            if stream is None:
                if len(content) <= SMALL_BODY:
                    transport.write(head + content)
                else:
                    transport.write(head)
                    transport.write(content)
                await self._drain(timeouts.get("write"), request)
                self.sent = not self.lost
            else:
                transport.write(head)
                sent = await self._send_stream(stream, length, timeouts.get("write"), request)
                self.sent = sent and not self.lost
            read_timeout = timeouts.get("read")
            while not self.headers_done:
                if self.lost or self.bad is not None:
                    raise self.failure(request)
                if not await self.wait(read_timeout):
                    raise httpx.ReadTimeout("upstream sent no response in time", request=request)
        except BaseException:
            self.close()
            raise
        version = b"HTTP/1.0" if parser.get_http_version() == "1.0" else b"HTTP/1.1"
        return Reply(self.status, self.headers, _Body(self, request, timeouts.get("read")), version)

    async def _drain(self, seconds: float | None, request: httpx.Request | None) -> None:
        while self.write_paused and not self.lost and not self.complete:
            if not await self.wait(seconds):
                raise httpx.WriteTimeout(
                    "upstream did not take the request body in time", request=request
                )

    async def _send_stream(
        self,
        stream: AsyncIterable[bytes],
        length: int | None,
        seconds: float | None,
        request: httpx.Request | None,
    ) -> bool:
        """Send a streamed body (`length` None: chunked); False when the upstream answered or
        left before it all went out. Exceptions of the body's iterator pass through as they are
        (the caller closes the connection)."""
        transport = self.transport
        assert transport is not None
        sent = 0
        async for chunk in stream:
            if not chunk:
                continue
            if self.lost or self.complete:
                return False
            sent += len(chunk)
            if length is not None:
                transport.write(chunk)
            elif len(chunk) <= SMALL_BODY:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                transport.write(b"%x\r\n" % len(chunk))
                transport.write(chunk)
                transport.write(b"\r\n")
            if self.write_paused:
                await self._drain(seconds, request)
        if length is not None and sent != length:
            raise httpx.LocalProtocolError(
                f"request body of {sent} bytes, but Content-Length said {length}", request=request
            )
        if self.lost or (length is None and self.complete):
            return False
        if length is None:
            transport.write(b"0\r\n\r\n")
        await self._drain(seconds, request)
        return True

    async def read(self, request: httpx.Request | None, seconds: float | None) -> bytes:
        """The next body chunk as it arrived; b"" at the end of the body."""
        while True:
            chunks = self.chunks
            if chunks:
                chunk = chunks.popleft()
                self.buffered -= len(chunk)
                if self.read_paused and self.buffered <= LOW_WATER and not self.lost:
                    self.read_paused = False
                    assert self.transport is not None
                    self.transport.resume_reading()
                return chunk
            if self.complete:
                return b""
            if self.lost or self.bad is not None:
                error = self.failure(request)
                raise error.error if isinstance(error, _Stale) else error
            if not await self.wait(seconds):
                raise httpx.ReadTimeout("upstream sent no body data in time", request=request)


class _Body(httpx.AsyncByteStream):
    """The response body as it arrives. Read to the end, the connection goes back to the pool;
    closed early, the connection is closed (a half-read connection is never reused)."""

    def __init__(
        self, conn: _Connection, request: httpx.Request | None, seconds: float | None
    ) -> None:
        self._conn: _Connection | None = conn
        self._request = request
        self._seconds = seconds

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            while self._conn is conn:
                chunk = await conn.read(self._request, self._seconds)
                if not chunk:
                    break
                yield chunk
        except BaseException:
            if self._conn is conn:
                self._conn = None
                conn.close()
            raise
        if self._conn is conn:
            self._conn = None
            conn.pool.release(conn)

    async def aclose(self) -> None:
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        if conn.complete:
            # Everything arrived: the connection is clean even if the reader stopped early.
            conn.pool.release(conn)
        else:
            conn.close()


def _encode(
    method: str,
    target: bytes,
    netloc: bytes,
    headers: Iterable[tuple[bytes, bytes]],
    content: Content,
    request: httpx.Request | None,
) -> tuple[bytes, bytes, AsyncIterable[bytes] | None, int | None]:
    """The request head, and the body as bytes or as a stream (with its length; None = chunked)."""
    replayable = content is None or isinstance(content, bytes)
    body = content if isinstance(content, bytes) else b""
    parts = [method.encode("ascii"), b" ", target, b" HTTP/1.1\r\n"]
    host = False
    length: int | None = None
    chunked = False
    lines = 2
    for name, value in headers:
        lower = name.lower()
        if lower == b"host":
            host = True
        elif lower == b"content-length":
            if not value.isdigit():
                raise httpx.LocalProtocolError("malformed Content-Length", request=request)
            length = int(value)
        elif lower == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        parts += (name, b": ", value, b"\r\n")
        lines += 1
    if not host:
        parts += (b"Host: ", netloc, b"\r\n")
        lines += 1
    if replayable and not chunked and length is None and body:
        parts += (b"Content-Length: %d\r\n" % len(body),)
        lines += 1
    elif not replayable and not chunked and length is None:
        parts.append(b"Transfer-Encoding: chunked\r\n")
        lines += 1
        chunked = True
    parts.append(b"\r\n")
    head = b"".join(parts)
    # A CR or LF inside the target or a header would let a value smuggle a second request.
    if head.count(b"\n") != lines or head.count(b"\r") != lines:
        raise httpx.LocalProtocolError("line break inside a request header", request=request)
    if not replayable:
        return head, b"", cast(AsyncIterable[bytes], content), None if chunked else length
    if chunked:
        body = b"%x\r\n%b\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
    return head, body, None, length


class UpstreamTransport(httpx.AsyncBaseTransport):
    """httpx transport for plain-HTTP/1.1 upstreams.

    Per (host, port): at most `max_connections` open (None: no limit; a request over it waits up
    to the pool timeout), at most `max_idle_per_origin` kept idle (None: as many as may be open,
    so the connections a burst of requests opened serve the next burst instead of being closed
    and opened again: a fleet of cameras keeps a few hundred requests in flight), and an idle
    connection older than `keepalive_expiry` seconds is closed rather than reused (below
    uvicorn's 5 s, so the client, not the server, ends an idle connection).
    """

    def __init__(
        self,
        *,
        max_connections: int | None = 500,
        max_idle_per_origin: int | None = None,
        keepalive_expiry: float = 2.0,
    ) -> None:
        self.max_connections = max_connections
        self.max_idle_per_origin = (
            max_connections if max_idle_per_origin is None else max_idle_per_origin
        )
        self.keepalive_expiry = keepalive_expiry
        self._origins: dict[tuple[str, int], _Origin] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if url.scheme != "http":
            raise httpx.UnsupportedProtocol(
                f"the upstream transport speaks plain http:// only, not {url.scheme}:// "
                "(TLS ends at the mesh)",
                request=request,
            )
        stream = request.stream
        content: Content = (
            b"".join(stream)
            if isinstance(stream, httpx.ByteStream)
            else cast(AsyncIterable[bytes], stream)
        )
        reply = await self.send(
            request.method,
            url.host,
            url.port or 80,
            url.raw_path,
            request.headers.raw,
            content,
            request.extensions.get("timeout") or {},
            request=request,
        )
        return httpx.Response(
            reply.status,
            headers=reply.headers,
            stream=reply.body,
            extensions={"http_version": reply.http_version},
        )

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
        """One exchange with http://`host`:`port`. `target` is the request target as sent (path
        and query, encoded); a Host field is added unless `headers` has one. Failures raise
        httpx's transport errors (`request`, when given, is named in them)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # Connections belong to the loop that opened them.
            self._origins = {}
            self._loop = loop
        origin = self._origins.get((host, port))
        if origin is None:
            origin = self._origins[(host, port)] = _Origin()
        name = f"[{host}]" if ":" in host else host
        netloc = (name if port == 80 else f"{name}:{port}").encode("ascii")
        head, content, stream, length = _encode(method, target, netloc, headers, content, request)
        fresh = False
        while True:
            conn, reused = await self._acquire(origin, host, port, fresh, timeouts, request)
            try:
                return await conn.exchange(head, content, stream, length, timeouts, request)
            except _Stale as stale:
                # The server closed a pooled connection as the request went out. Only a body
                # that can be sent again is retried, once, on a new connection.
                if not reused or fresh or stream is not None:
                    raise stale.error from None
                log.debug("pooled connection to %s:%d was stale; retrying on a new one", host, port)
                fresh = True

    async def _acquire(
        self,
        origin: _Origin,
        host: str,
        port: int,
        fresh: bool,
        timeouts: Timeouts,
        request: httpx.Request | None,
    ) -> tuple[_Connection, bool]:
        while True:
            if not fresh:
                conn = self._checkout(origin)
                if conn is not None:
                    return conn, True
            limit = self.max_connections
            if limit is None or origin.count < limit:
                return await self._connect(
                    origin, host, port, timeouts.get("connect"), request
                ), False
            if origin.idle:
                origin.idle.popleft().close()
                continue
            await self._queue(origin, timeouts.get("pool"), request)

    def _checkout(self, origin: _Origin) -> _Connection | None:
        idle = origin.idle
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            assert self._loop is not None
            if self._loop.time() - conn.idle_since > self.keepalive_expiry:
                # LIFO: everything older has expired too.
                conn.close()
                while idle:
                    idle.pop().close()
                return None
            return conn
        return None

    async def _queue(
        self, origin: _Origin, seconds: float | None, request: httpx.Request | None
    ) -> None:
        assert self._loop is not None
        fut: asyncio.Future[bool] = self._loop.create_future()
        origin.waiters.append(fut)
        handle = None if seconds is None else self._loop.call_later(seconds, _expire, fut)
        try:
            woken = await fut
        except BaseException:
            if fut.done() and not fut.cancelled() and fut.result():
                origin.wake()  # pass on the slot this task no longer wants
            with contextlib.suppress(ValueError):
                origin.waiters.remove(fut)
            raise
        finally:
            if handle is not None:
                handle.cancel()
        if not woken:
            with contextlib.suppress(ValueError):
                origin.waiters.remove(fut)
            raise httpx.PoolTimeout("no upstream connection free in time", request=request)

    async def _connect(
        self,
        origin: _Origin,
        host: str,
        port: int,
        seconds: float | None,
        request: httpx.Request | None,
    ) -> _Connection:
        origin.count += 1
        conn = _Connection(self, origin)
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(seconds):
                await loop.create_connection(lambda: conn, host, port)
        except TimeoutError:
            conn.close()
            raise httpx.ConnectTimeout(
                f"connecting to {host}:{port} timed out", request=request
            ) from None
        except OSError as exc:
            conn.close()
            raise httpx.ConnectError(
                f"cannot connect to {host}:{port}: {exc}", request=request
            ) from None
        except BaseException:
            conn.close()
            raise
        return conn

    def release(self, conn: _Connection) -> None:
        """Back to the idle deque if the exchange left the connection reusable, else closed."""
        if not conn.finish() or self._closed:
            conn.close()
            return
        idle = conn.origin.idle
        if self.max_idle_per_origin is not None and len(idle) >= self.max_idle_per_origin:
            idle.popleft().close()
        conn.idle_since = conn.loop.time()
        idle.append(conn)
        conn.origin.wake()

    async def aclose(self) -> None:
        self._closed = True
        for origin in self._origins.values():
            while origin.idle:
                origin.idle.pop().close()
        self._origins = {}
