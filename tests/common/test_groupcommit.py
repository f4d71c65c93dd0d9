"""Group commit (`alpr_common.groupcommit`): what arrives while a write is under way shares the
next write; with `linger`, a write right after another waits for company, and one after a quiet
spell goes at once."""

from __future__ import annotations

import asyncio

from alpr_common.groupcommit import GroupCommit


def _recorder() -> tuple[list[list[int]], GroupCommit[int, int]]:
    groups: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        groups.append(list(items))
        return [i * 10 for i in items]

    return groups, GroupCommit(write, name="test", max_items=100)


async def _let_the_writer_run() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_without_linger_each_write_takes_what_is_waiting_at_once():
    groups, gc = _recorder()
    assert await gc.submit(1) == 10
    second = asyncio.ensure_future(gc.submit(2))
    await _let_the_writer_run()
    third = asyncio.ensure_future(gc.submit(3))
    assert await asyncio.wait_for(asyncio.gather(second, third), 10) == [20, 30]
    assert groups == [[1], [2], [3]]


async def test_a_write_right_after_another_waits_out_the_linger_for_company():
    groups, gc = _recorder()
    gc.linger = 0.3
    assert await gc.submit(1) == 10
    second = asyncio.ensure_future(gc.submit(2))
    await _let_the_writer_run()
    assert groups == [[1]]  # the second write waits: the first has just ended
    third = asyncio.ensure_future(gc.submit(3))
    assert await asyncio.wait_for(asyncio.gather(second, third), 10) == [20, 30]
    assert groups == [[1], [2, 3]]


async def test_a_writer_stopped_in_its_linger_cancels_the_requests_it_held():
    """At shutdown the writer task is cancelled; a request whose item waited in the linger is
    cancelled with it (never acknowledged, never left waiting), and nothing was written."""
    groups, gc = _recorder()
    gc.linger = 600.0
    assert await gc.submit(1) == 10
    waiting = asyncio.ensure_future(gc.submit(2))
    await _let_the_writer_run()
    assert gc._writer is not None
    gc._writer.cancel()
    done, _ = await asyncio.wait([waiting], timeout=10)
    assert done and waiting.cancelled()
    assert groups == [[1]]


async def test_after_a_quiet_spell_nothing_waits_for_the_linger():
    groups, gc = _recorder()
    gc.linger = 600.0  # were it waited out, the submit below would time out
    assert await asyncio.wait_for(gc.submit(1), 10) == 10
    assert groups == [[1]]
