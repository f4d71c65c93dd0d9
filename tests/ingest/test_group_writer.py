"""The group writer of single-read posts (`alpr_ingest.writer.ReadWriter`, issue 21): the messages
in flight are written together, and their events are built per group and poster, so a client
fronting many cameras costs one event per destination per write. Each read still reaches hotlist
and the scan counts exactly once, and a message holding a read already stored leaves its group
without taking the others' reads or events with it."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from alpr_common.events import from_columns
from alpr_ingest import writer as writer_module


async def _captured(ingest: Any, posts: list[tuple[dict[str, Any], dict[str, str]]]) -> list:
    """The writer's units for `posts` ((read, headers) each), as the route makes them, captured
    instead of written: the test database is one connection, so the requests that a group
    gathers in a served process are made here one after the other, and the group written
    after them."""
    writer = ingest.app.state.runtime.writer
    units: list[Any] = []
    # On PostgreSQL a read of a day whose partition this process has not seen committed takes
    # the general path: the first creates the partition, the second sees it.
    for plate in ("WARM0", "WARM1"):
        warm = ingest.read(posts[0][0]["camera"], plate, captured_at=ingest.clock.now)
        assert (await ingest.post([warm], headers=posts[0][1])).json()["stored"] == 1

    async def capture(unit: Any) -> bool:
        units.append(unit)
        return True

    writer.submit = capture
    try:
        for read, headers in posts:
            resp = await ingest.post([read], headers=headers)
            assert resp.status_code == 200, resp.text
    finally:
        del writer.submit
    assert len(units) == len(posts)
    return units


def _plates(events: list[dict[str, Any]]) -> list[list[str]]:
    return [[r["plate"] for r in from_columns(e["data"]["columns"])] for e in events]


async def _written(ingest: Any, units: list[Any]) -> tuple[list[bool], list[dict], list[dict]]:
    """The writer's answers for a group of `units`, and the `ingest.reads` and
    `ingest.scan_counts` events it queued."""
    hot = len(await ingest.events("ingest.reads", "hotlist"))
    counts = len(await ingest.events("ingest.scan_counts", "audit"))
    answers = await ingest.app.state.runtime.writer._write(units)
    return (
        answers,
        (await ingest.events("ingest.reads", "hotlist"))[hot:],
        (await ingest.events("ingest.scan_counts", "audit"))[counts:],
    )


@pytest.mark.policy("344.6(b)1")
async def test_a_group_of_single_reads_makes_one_event_per_destination_per_poster(ingest, tokens):
    await ingest.camera("cam-g1")
    await ingest.camera("cam-g2")
    fleet = tokens.headers("camera", cameras=("cam-g1", "cam-g2"), subject="client:fleet")
    other = tokens.headers("camera", cameras=("cam-g2",), subject="client:other")
    posts = [
        (ingest.read(cam, f"GRP{i}"), fleet)
        for i, cam in enumerate(("cam-g1", "cam-g2", "cam-g1", "cam-g2"), start=1)
    ]
    posts.append((ingest.read("cam-g2", "OTH1"), other))
    units = await _captured(ingest, posts)

    answers, hot, counts = await _written(ingest, units)
    assert answers == [True] * 5
    assert sorted(map(sorted, _plates(hot))) == [["GRP1", "GRP2", "GRP3", "GRP4"], ["OTH1"]]
    assert {e["subject"] for e in hot} == {"client:fleet", "client:other"}
    by_actor = {
        e["data"]["actor"]: {c["camera_id"]: c["reads"] for c in e["data"]["counts"]}
        for e in counts
    }
    assert by_actor == {"client:fleet": {"cam-g1": 2, "cam-g2": 2}, "client:other": {"cam-g2": 1}}
    found = (await ingest.search(camera_id="cam-g2")).json()["items"]
    assert sorted(r["plate"] for r in found) == ["GRP2", "GRP4", "OTH1"]


@pytest.mark.policy("344.6(b)1")
async def test_a_read_already_stored_leaves_its_group_and_the_others_are_written_alone(
    ingest, tokens, monkeypatch
):
    await ingest.camera("cam-h1")
    fleet = tokens.headers("camera", cameras=("cam-h1",), subject="client:fleet")
    again = ingest.read("cam-h1", "DUP1", vendor_read_id="v-dup")
    assert (await ingest.post([again], headers=fleet)).json()["stored"] == 1
    # A camera's retry of that read, between two new ones.
    posts = [
        (ingest.read("cam-h1", "NEW1"), fleet),
        (again, fleet),
        (ingest.read("cam-h1", "NEW2"), fleet),
    ]
    units = await _captured(ingest, posts)
    writes = 0
    original = writer_module.repo.insert_new_reads

    async def counted(*args: Any, **kwargs: Any) -> set[int]:
        nonlocal writes
        writes += 1
        return await original(*args, **kwargs)

    monkeypatch.setattr(writer_module.repo, "insert_new_reads", counted)

    # The retry answers False (the route then answers it as the duplicate it is).
    answers, hot, counts = await _written(ingest, units)
    assert answers == [True, False, True]
    # Refused whole for the retry's read, then written without it.
    assert writes == 2
    assert _plates(hot) == [["NEW1", "NEW2"]]
    assert [sum(c["reads"] for c in e["data"]["counts"]) for e in counts] == [2]
    found = (await ingest.search(camera_id="cam-h1")).json()["items"]
    assert Counter(r["plate"] for r in found) == {
        "DUP1": 1,
        "NEW1": 1,
        "NEW2": 1,
        "WARM0": 1,
        "WARM1": 1,
    }
    # Posted again for real, the retry is answered as the duplicate.
    body = (await ingest.post([again], headers=fleet)).json()
    assert (body["stored"], body["duplicate"]) == (0, 1)
