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
