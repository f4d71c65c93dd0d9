"""The gateway's upstream transport against a real uvicorn on a loopback port (and, for what
uvicorn never does, a raw asyncio server): framing, streaming, pooling, timeouts, errors."""

import asyncio
import hashlib
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from alpr_common.upstream import HIGH_WATER, UpstreamTransport


async def hello(request: Request) -> Response:
    return JSONResponse({"hello": "world", "port": request.scope["client"][1]})


async def echo(request: Request) -> Response:
    digest = hashlib.sha256()
    length = 0
    async for chunk in request.stream():
        digest.update(chunk)
        length += len(chunk)
    return JSONResponse(
        {
            "length": length,
            "sha256": digest.hexdigest(),
            "chunked": request.headers.get("transfer-encoding") == "chunked",
            "content_length": request.headers.get("content-length"),
            "port": request.scope["client"][1],
        }
    )


async def events(request: Request) -> Response:
    count = int(request.query_params.get("n", "4"))

    async def gen() -> AsyncIterator[bytes]:
        for i in range(count):
            yield f"data: {i}\n\n".encode()
            await asyncio.sleep(0.15)

    return StreamingResponse(gen(), media_type="text/event-stream")


async def big(request: Request) -> Response:
    size = int(request.query_params["size"])
    block = bytes(range(256)) * 256

    async def gen() -> AsyncIterator[bytes]:
        for start in range(0, size, len(block)):
            yield block[: min(len(block), size - start)]

    return StreamingResponse(gen(), media_type="application/octet-stream")


async def closing(request: Request) -> Response:
    port = request.scope["client"][1]
    return JSONResponse({"port": port}, headers={"connection": "close"})


async def slow(request: Request) -> Response:
    await asyncio.sleep(1.0)
    return JSONResponse({"late": True})


async def empty(request: Request) -> Response:
    return Response(status_code=204)


APP = Starlette(
    routes=[
        Route("/hello", hello),
        Route("/echo", echo, methods=["POST"]),
        Route("/events", events),
        Route("/big", big),
        Route("/close", closing),
        Route("/slow", slow),
        Route("/empty", empty),
    ]
)


def _serve(**config: object) -> Iterator[str]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say they are TCP.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(
            APP, loop="asyncio", log_level="warning", timeout_graceful_shutdown=1, **config
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    yield from _serve()


@pytest.fixture(scope="module")
def short_keepalive_server() -> Iterator[str]:
    yield from _serve(timeout_keep_alive=1)


@pytest.fixture
async def client(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, transport=UpstreamTransport(), timeout=5.0) as c:
        yield c


async def test_get_small_json(client):
    resp = await client.get("/hello")
    assert resp.status_code == 200
    assert resp.json()["hello"] == "world"
    assert resp.http_version == "HTTP/1.1"
    assert resp.headers["content-type"] == "application/json"


async def test_post_bytes_goes_with_content_length(client):
    body = bytes(range(256)) * 4096
    resp = await client.post("/echo", content=body)
    got = resp.json()
    assert got["length"] == len(body)
    assert got["sha256"] == hashlib.sha256(body).hexdigest()
    assert got["content_length"] == str(len(body))
    assert not got["chunked"]


async def test_async_iterator_body_goes_chunked(client):
    block = bytes(range(256)) * 256
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(48):  # 3 MiB
            digest.update(block)
            yield block

    got = (await client.post("/echo", content=body())).json()
    assert got["chunked"]
    assert got["length"] == 48 * len(block)
    assert got["sha256"] == digest.hexdigest()


async def test_async_iterator_with_content_length_is_sent_as_is(client):
    async def body() -> AsyncIterator[bytes]:
        yield b"a" * 10
        yield b"b" * 5

    got = (await client.post("/echo", content=body(), headers={"content-length": "15"})).json()
    assert got == got | {"length": 15, "chunked": False, "content_length": "15"}


async def test_streamed_response_arrives_chunk_by_chunk(client):
    started = time.perf_counter()
    arrivals: list[tuple[float, bytes]] = []
    async with client.stream("GET", "/events", params={"n": "4"}) as resp:
        async for chunk in resp.aiter_raw():
            arrivals.append((time.perf_counter() - started, chunk))
    assert [c for _, c in arrivals] == [f"data: {i}\n\n".encode() for i in range(4)]
    # The first event is in hand long before the server finished (4 x 0.15 s).
    assert arrivals[0][0] < 0.3
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(arrivals)]
    assert min(gaps) > 0.08


async def test_sequential_requests_share_one_connection(client):
    ports = {(await client.get("/hello")).json()["port"] for _ in range(5)}
    ports |= {(await client.post("/echo", content=b"x" * 100)).json()["port"] for _ in range(3)}
    assert len(ports) == 1


async def test_closing_mid_stream_discards_the_connection(client):
    first = (await client.get("/hello")).json()["port"]
    async with client.stream("GET", "/events", params={"n": "5"}) as resp:
        async for _ in resp.aiter_raw():
            break
    resp = await client.get("/hello")
    assert resp.status_code == 200
    assert resp.json()["port"] != first
    assert (await client.get("/hello")).json()["port"] == resp.json()["port"]


async def test_server_connection_close_is_honoured(client):
    closed = (await client.get("/close")).json()["port"]
    again = (await client.get("/hello")).json()["port"]
    assert again != closed


async def test_read_timeout(client):
    with pytest.raises(httpx.ReadTimeout):
        await client.get("/slow", timeout=httpx.Timeout(5.0, read=0.2))
    assert (await client.get("/hello")).status_code == 200


async def test_refused_port_is_a_connect_error():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    async with httpx.AsyncClient(transport=UpstreamTransport()) as c:
        with pytest.raises(httpx.ConnectError) as info:
            await c.get(f"http://127.0.0.1:{port}/")
    assert info.value.request.url.port == port


async def test_https_is_refused_clearly():
    async with httpx.AsyncClient(transport=UpstreamTransport()) as c:
        with pytest.raises(httpx.UnsupportedProtocol, match="plain http"):
            await c.get("https://127.0.0.1:1/")


class Boom(Exception):
    pass


async def test_body_iterator_exception_propagates_unchanged(client):
    async def body() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise Boom("too large")

    with pytest.raises(Boom, match="too large"):
        await client.post("/echo", content=body(), headers={"content-length": "5000"})
    assert (await client.get("/hello")).status_code == 200


async def test_idle_connection_closed_by_server_is_not_reused(short_keepalive_server):
    async with httpx.AsyncClient(
        base_url=short_keepalive_server, transport=UpstreamTransport(), timeout=5.0
    ) as c:
        first = (await c.get("/hello")).json()["port"]
        await asyncio.sleep(1.5)
        resp = await c.get("/hello")
        assert resp.status_code == 200
        assert resp.json()["port"] != first


async def test_idle_connection_past_expiry_is_not_reused(server):
    transport = UpstreamTransport(keepalive_expiry=0.1)
    async with httpx.AsyncClient(base_url=server, transport=transport) as c:
        first = (await c.get("/hello")).json()["port"]
        assert (await c.get("/hello")).json()["port"] == first
        await asyncio.sleep(0.2)
        assert (await c.get("/hello")).json()["port"] != first


async def test_head_and_204_have_no_body_and_keep_the_connection(client):
    port = (await client.get("/hello")).json()["port"]
    head = await client.head("/hello")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0
    empty = await client.get("/empty")
    assert empty.status_code == 204
    assert empty.content == b""
    assert (await client.get("/hello")).json()["port"] == port


async def test_large_response_is_read_with_back_pressure(server):
    transport = UpstreamTransport()
    size = 8 * 1024 * 1024
    resp = await transport.handle_async_request(httpx.Request("GET", f"{server}/big?size={size}"))
    stream = resp.stream
    digest = hashlib.sha256()
    total = 0
    async for chunk in stream:
        if not total:
            await asyncio.sleep(0.3)  # the server outruns the reader meanwhile
            # Reading paused near the high-water mark instead of buffering the whole body.
            assert stream._conn.buffered < HIGH_WATER + 512 * 1024
            assert stream._conn.read_paused
        digest.update(chunk)
        total += len(chunk)
    block = bytes(range(256)) * 256
    assert total == size
    assert digest.hexdigest() == hashlib.sha256(block * (size // len(block))).hexdigest()
    await transport.aclose()


async def test_hundred_concurrent_requests_over_a_bounded_pool(server):
    transport = UpstreamTransport(max_connections=20)
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=10.0) as c:
        resps = await asyncio.gather(*(c.get("/hello") for _ in range(100)))
    assert all(r.status_code == 200 for r in resps)
    assert len({r.json()["port"] for r in resps}) <= 20


async def test_the_connections_of_a_burst_serve_the_next_burst(server):
    """A fleet of cameras keeps a few hundred requests in flight: the connections one burst
    opened stay idle for the next (up to the open limit), instead of all but 100 being closed
    and opened again."""
    transport = UpstreamTransport()
    async with httpx.AsyncClient(base_url=server, transport=transport, timeout=10.0) as c:
        first = await asyncio.gather(*(c.get("/hello") for _ in range(150)))
        second = await asyncio.gather(*(c.get("/hello") for _ in range(150)))
    opened = {r.json()["port"] for r in first}
    assert len(opened) == 150
    assert {r.json()["port"] for r in second} <= opened


# ------------------------------------------------------------ a raw server for misbehaviour


class RawServer:
    """Answers each request on a connection with the next canned reply; None closes the
    connection without answering."""

    def __init__(self, *replies: bytes | None) -> None:
        self.replies = replies
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            for reply in self.replies:
                await reader.readuntil(b"\r\n\r\n")
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_stale_pooled_connection_is_retried_once_on_a_new_one():
    # Each connection answers one request, then closes as the next one arrives: the race of a
    # server ending an idle keep-alive connection.
    async with RawServer(OK, None) as url, httpx.AsyncClient(transport=UpstreamTransport()) as c:
        assert (await c.get(url)).content == b"ok"
        assert (await c.post(url, content=b"replayable")).content == b"ok"


async def test_stale_connection_with_a_streamed_body_is_not_replayed():
    async def body() -> AsyncIterator[bytes]:
        yield b"once"

    async with RawServer(OK, None) as url, httpx.AsyncClient(transport=UpstreamTransport()) as c:
        assert (await c.get(url)).content == b"ok"
        with pytest.raises(httpx.RemoteProtocolError):
            await c.post(url, content=body())


async def test_malformed_response_is_a_protocol_error():
    async with (
        RawServer(b"HTTP/1.1 abc\r\n\r\n") as url,
        httpx.AsyncClient(transport=UpstreamTransport()) as c,
    ):
        with pytest.raises(httpx.RemoteProtocolError, match="malformed"):
            await c.get(url)


async def test_truncated_body_is_a_protocol_error():
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this"
    async with RawServer(reply) as url, httpx.AsyncClient(transport=UpstreamTransport()) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            await c.get(url)


async def test_close_delimited_body_ends_at_close():
    reply = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end"
    async with RawServer(reply) as url, httpx.AsyncClient(transport=UpstreamTransport()) as c:
        assert (await c.get(url)).content == b"until the end"
        assert (await c.get(url)).content == b"until the end"


async def test_informational_response_is_skipped():
    reply = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + OK
    async with RawServer(reply) as url, httpx.AsyncClient(transport=UpstreamTransport()) as c:
        resp = await c.get(url)
    assert resp.status_code == 200
    assert resp.content == b"ok"
    assert "link" not in resp.headers


async def test_write_timeout_when_the_upstream_stops_reading():
    stalled = asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await stalled.wait()
        writer.close()

    server = await asyncio.start_server(never_read, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    block = b"\0" * (1024 * 1024)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(256):
            yield block

    try:
        async with httpx.AsyncClient(transport=UpstreamTransport()) as c:
            with pytest.raises(httpx.WriteTimeout):
                await c.post(url, content=body(), timeout=httpx.Timeout(5.0, write=0.3))
    finally:
        stalled.set()
        server.close()


async def test_header_with_a_line_break_is_refused(client):
    with pytest.raises(httpx.LocalProtocolError):
        await client.get("/hello", headers={"x-evil": "a\r\nGET /other HTTP/1.1"})


async def test_send_takes_the_request_as_bytes_and_keeps_the_connection(server):
    """The gateway's way in: method, target and header fields as bytes, the answer as a Reply."""
    transport = UpstreamTransport()
    port = int(server.rsplit(":", 1)[1])
    try:
        reply = await transport.send(
            "POST", "127.0.0.1", port, b"/echo", [(b"x-camera", b"cam-1")], b"abc", {}
        )
        assert reply.status == 200
        assert reply.header(b"content-type") == b"application/json"
        first = json.loads(await reply.read())
        assert (first["length"], first["content_length"]) == (3, "3")
        reply = await transport.send("GET", "127.0.0.1", port, b"/hello?x=1", [], None, {})
        assert json.loads(await reply.read())["port"] == first["port"]
    finally:
        await transport.aclose()


async def test_send_refuses_a_line_break_in_the_target(server):
    transport = UpstreamTransport()
    port = int(server.rsplit(":", 1)[1])
    with pytest.raises(httpx.LocalProtocolError):
        await transport.send("GET", "127.0.0.1", port, b"/hello\r\nX: y", [], None, {})
    await transport.aclose()


def test_same_exchanges_on_uvloop(server):
    """Production serves on uvloop, whose transports are not asyncio's."""
    import uvloop

    async def scenario() -> None:
        async with httpx.AsyncClient(base_url=server, transport=UpstreamTransport()) as c:
            port = (await c.get("/hello")).json()["port"]

            async def body() -> AsyncIterator[bytes]:
                for _ in range(16):
                    yield b"z" * 65536

            assert (await c.post("/echo", content=body())).json()["length"] == 16 * 65536
            assert (await c.head("/hello")).content == b""
            async with c.stream("GET", "/big", params={"size": str(4 * HIGH_WATER)}) as resp:
                await asyncio.sleep(0.1)
                assert sum([len(chunk) async for chunk in resp.aiter_raw()]) == 4 * HIGH_WATER
            assert (await c.get("/hello")).json()["port"] == port

    uvloop.run(scenario())
