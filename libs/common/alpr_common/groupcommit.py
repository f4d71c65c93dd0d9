"""Group commit: requests that arrive while a write is under way share the next write.

A request submits its item and waits for the write that carries it; one writer task per process
(and event loop) takes every item queued meanwhile and writes them in one go, so under load
a transaction, a round trip and a commit serve many requests, and a lone request is written at
once (no timer). Under load a write may wait out `linger` after the previous one ended, so that
more requests share it. Each request is answered only after the write holding its item has
committed: the guarantee of a write of its own, at a fraction of the cost.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger("alpr.groupcommit")


class GroupCommit(Generic[T, R]):
    """`write(items)` stores items together and returns one result per item, in order; if it
    raises, every request of that group gets the exception."""

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        name: str,
        max_items: int,
        linger: float = 0.0,
    ) -> None:
        self.write = write
        self.name = name
        self.max_items = max_items
        # A write that would begin less than `linger` seconds after the previous one ended waits
        # until then: under load the requests of those moments share it. After a quiet spell
        # nothing waits, so a lone request is written at once.
        self.linger = linger
        self._last_end = -math.inf
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # For the benchmarks and tests: groups written and items they carried.
        self.groups = 0
        self.items = 0

    async def submit(self, item: T) -> R:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new event loop (tests): state of the old one is void
            self._loop, self._pending, self._wake, self._writer = loop, [], asyncio.Event(), None
        if self._writer is None or self._writer.done():
            self._writer = loop.create_task(self._run(), name=f"group-commit-{self.name}")
        fut: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, fut))
        self._wake.set()
        # Shielded: a request cancelled meanwhile (its client went away) leaves its item in the
        # group, which is written whatever happens to the request.
        return await asyncio.shield(fut)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending:
                    gap = self._last_end + self.linger - time.monotonic()
                    if gap > 0:
                        await asyncio.sleep(gap)
                    group = self._pending[: self.max_items]
                    del self._pending[: self.max_items]
                    try:
                        await self._write_group(group)
                    finally:
                        self._last_end = time.monotonic()
        except BaseException:
            # Stopped (the process shuts down) with items still waiting, in a linger or behind
            # a group: their requests are cancelled rather than left waiting for a write that
            # will not come. None of them was acknowledged.
            waiting, self._pending = self._pending, []
            for _, fut in waiting:
                if not fut.done():
                    fut.cancel()
            raise

    async def _write_group(self, group: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self.write([item for item, _ in group])
        except Exception as exc:  # every request of the group answers with it
            for _, fut in group:
                if not fut.done():
                    fut.set_exception(exc)
            return
        except BaseException:
            for _, fut in group:
                if not fut.done():
                    fut.cancel()
            raise
        self.groups += 1
        self.items += len(group)
        for (_, fut), result in zip(group, results, strict=True):
            if not fut.done():
                fut.set_result(result)
