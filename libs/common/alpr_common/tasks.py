"""Periodic background work of a service (index refresh, back-matching, checkpoints, the purge, the
gateway's route table): one loop, so every such task logs its failures, keeps running after one,
and stops cleanly when the service does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

log = logging.getLogger("alpr.tasks")

Interval = float | Callable[[], float]
"""Seconds between the end of one run and the start of the next, or a function giving them
(asked after each run, so the pace can follow what the run found)."""


async def periodic(
    name: str,
    interval: Interval,
    fn: Callable[[], Awaitable[Any]],
    *,
    stop: asyncio.Event | None = None,
    logger: logging.Logger | None = None,
) -> None:
    """Run `fn` now and then every `interval` seconds until cancelled or `stop` is set. A run
    that fails is logged with its traceback and the next runs at the usual time: a background
    task that dies silently is worse than one that retries."""
    logger = logger or log
    while stop is None or not stop.is_set():
        try:
            await fn()
        except Exception:
            logger.exception("%s failed; retrying at the next interval", name)
        delay = interval() if callable(interval) else interval
        if stop is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)


@contextlib.asynccontextmanager
async def running_periodic(
    name: str,
    interval: Interval,
    fn: Callable[[], Awaitable[Any]],
    *,
    logger: logging.Logger | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    """`periodic` as a task for the time of the `async with` block (a lifespan): cancelled and
    awaited on the way out, so nothing runs after the service has stopped."""
    task = asyncio.create_task(periodic(name, interval, fn, logger=logger), name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
