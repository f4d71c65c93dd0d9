"""The live status cache (344.7(b)): a status is reused for its time to live, and the requests
that miss together share one fetch from access."""

from __future__ import annotations

import asyncio

import pytest

from alpr_common.errors import Unavailable
from alpr_common.status import PrincipalStatus, StatusCache


class Source:
    def __init__(self) -> None:
        self.fetches = 0
        self.gate = asyncio.Event()
        self.fail = False

    async def fetch(self, subject: str) -> PrincipalStatus | None:
        self.fetches += 1
        await self.gate.wait()
        if self.fail:
            raise Unavailable("access is unreachable")
        return PrincipalStatus(
            subject=subject,
            kind="client",
            active=True,
            roles=frozenset(),
            training_valid_until=None,
        )


@pytest.mark.policy("344.7(b)")
async def test_requests_that_miss_together_share_one_fetch():
    source = Source()
    cache = StatusCache(source, ttl_seconds=60)
    waiting = [asyncio.create_task(cache.get("client:cams")) for _ in range(16)]
    await asyncio.sleep(0)
    source.gate.set()
    statuses = await asyncio.gather(*waiting)
    assert source.fetches == 1
    assert {s.subject for s in statuses} == {"client:cams"}
    await cache.get("client:cams")  # reused within its time to live
    assert source.fetches == 1
    await cache.get("client:other")
    assert source.fetches == 2


@pytest.mark.policy("344.7(b)")
async def test_a_status_is_fetched_again_once_it_expires_and_a_failure_is_not_kept():
    source = Source()
    source.gate.set()
    cache = StatusCache(source, ttl_seconds=0)
    await cache.get("client:cams")
    await asyncio.sleep(0.01)
    await cache.get("client:cams")
    assert source.fetches == 2
    source.fail = True
    await asyncio.sleep(0.01)
    results = await asyncio.gather(
        *(cache.get("client:cams") for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, Unavailable) for r in results)
    assert source.fetches == 3  # one fetch, its failure answered to all three
    source.fail = False
    assert (await cache.get("client:cams")).active
    assert source.fetches == 4


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _cached_once() -> tuple[Source, Clock, StatusCache]:
    """A cache (10 s to live, on a clock the test moves) holding one status, fetched."""
    source, clock = Source(), Clock()
    cache = StatusCache(source, ttl_seconds=10, clock=clock)
    source.gate.set()
    await cache.get("client:cams")
    return source, clock, cache


async def _answered(get: asyncio.Task[PrincipalStatus]) -> bool:
    """Whether `get` has answered, after giving it every chance to without access."""
    for _ in range(5):
        await asyncio.sleep(0)
    return get.done()


@pytest.mark.policy("344.7(b)")
async def test_a_status_in_use_is_fetched_again_before_it_expires_and_nobody_waits():
    source, clock, cache = await _cached_once()
    source.gate.clear()
    clock.now += 4  # within the first half of its time to live: reused as it is
    assert await _answered(asyncio.create_task(cache.get("client:cams")))
    assert source.fetches == 1
    clock.now += 2  # past half: the fetch starts, and the request goes on without it
    assert await _answered(asyncio.create_task(cache.get("client:cams")))
    assert await _answered(asyncio.create_task(cache.get("client:cams")))
    assert source.fetches == 2  # one fetch ahead, shared
    source.gate.set()
    await asyncio.sleep(0.01)
    clock.now += 8  # 14 s after the first fetch, 8 s after the second began: the second's
    assert await _answered(asyncio.create_task(cache.get("client:cams")))
    assert source.fetches == 3  # ... and past its half, so ahead again


@pytest.mark.policy("344.7(b)")
async def test_no_status_is_used_past_its_time_to_live_and_a_failed_early_fetch_waits():
    source, clock, cache = await _cached_once()
    source.fail = True
    clock.now += 6
    # The fetch ahead fails: the request still has its status, within its time to live ...
    assert (await cache.get("client:cams")).active
    await asyncio.sleep(0.01)
    assert source.fetches == 2
    # ... and access, unreachable, is not asked again until that status expires.
    await cache.get("client:cams")
    assert source.fetches == 2
    clock.now += 5  # 11 s: expired; the request waits for access, and is told what it says
    with pytest.raises(Unavailable):
        await cache.get("client:cams")
    assert source.fetches == 3
    source.fail = False
    source.gate.clear()
    expired = asyncio.create_task(cache.get("client:cams"))
    assert not await _answered(expired)  # an expired status is never served while access thinks
    source.gate.set()
    assert (await expired).active
