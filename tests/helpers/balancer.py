"""A tiny TCP round-robin balancer for end-to-end tests: each new connection goes to the next
backend, bytes are piped both ways. It also keeps what went through, per backend, so a test can
count requests (`requests_to`) and read answers (`answers_from`)."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import defaultdict


class RoundRobin:
    def __init__(self, port: int, backends: list[int]) -> None:
        self.port = port
        self.backends = backends
        self._next = itertools.cycle(backends)
        self.sent: dict[int, list[bytearray]] = defaultdict(list)
        self.received: dict[int, list[bytearray]] = defaultdict(list)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name=f"rr-{port}", daemon=True)

    def __enter__(self) -> RoundRobin:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"balancer on {self.port} did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        backend = next(self._next)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", backend)
        except OSError:
            writer.close()
            return
        sent, received = bytearray(), bytearray()
        self.sent[backend].append(sent)
        self.received[backend].append(received)

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bytearray
        ) -> None:
            try:
                while data := await src.read(65536):
                    log += data
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer, sent), pipe(up_reader, writer, received))

    def requests_to(self, backend: int, request_line: bytes) -> int:
        """How many requests starting with `request_line` (b"POST /v1/events") went there."""
        return sum(bytes(b).count(request_line) for b in list(self.sent[backend]))

    def answers_from(self, backend: int) -> bytes:
        return b"".join(bytes(b) for b in list(self.received[backend]))
