"""The RTCC live stream (344.3.2(a)): server-sent events fed in-process as alerts commit,
resumable with Last-Event-ID from the database, heartbeats as comments, alerts another replica
created filled in from the database, and the purpose and role checks of reading alerts."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from alpr_common.app import use_database


async def opened(stream):
    first = await stream.message()
    assert "stream open" in first.get("comment", "")
    return stream


@pytest.mark.policy("344.3.2(a)")
async def test_new_alert_reaches_the_rtcc_stream_live(hl, sse):
    lst = await hl.hotlist("stolen")
    await hl.entry(lst["id"], "LIV0001")
    async with sse(hl.rtcc) as stream:
        assert stream.status == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        await opened(stream)
        read = hl.read("LIV0001")
        await hl.post_reads([read])
        alert = await stream.alert()
        assert alert["plate"] == "LIV0001"
        assert alert["first_read_id"] == read["read_id"]
        assert alert["hotlist_name"] == "stolen"
        assert alert["event_id"] == alert["seq"]


async def test_heartbeats_are_comments(hl, sse):
    async with sse(hl.rtcc) as stream:
        await opened(stream)
        message = await stream.message(wait=2)
        assert message == {"comment": "heartbeat"}


@pytest.mark.policy("344.3.2(a)")
async def test_stream_resumes_after_last_event_id(hl, sse):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "RES0001")
    reads = [hl.read("RES0001", camera_id=f"cam-{i}") for i in range(3)]
    await hl.post_reads(reads)
    alerts = sorted(await hl.alerts(), key=lambda a: a["seq"])
    assert len(alerts) == 3
    first_seq = alerts[0]["seq"]

    async with sse({**hl.rtcc, "Last-Event-ID": str(first_seq)}) as stream:
        await opened(stream)
        got = [await stream.alert(), await stream.alert()]
        assert [a["seq"] for a in got] == [first_seq + 1, first_seq + 2]
        # Then live, without a repeat.
        await hl.post_reads([hl.read("RES0001", camera_id="cam-9")])
        live = await stream.alert()
        assert live["seq"] == first_seq + 3
        assert live["camera_id"] == "cam-9"

    async with sse(hl.rtcc, query=f"after={first_seq + 2}") as stream:
        await opened(stream)
        assert (await stream.alert())["seq"] == first_seq + 3


async def test_alerts_of_another_replica_are_filled_in_from_the_database(
    hl, sse, app, app_settings, service_spec, db
):
    other = service_spec.app_factory(app_settings)
    use_database(other, db)
    other.state.verifier = app.state.verifier
    other.state.principal_status = app.state.principal_status
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "GAP0001")
    async with sse(hl.rtcc) as stream:
        await opened(stream)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=other), base_url="http://other"
        ) as replica:
            resp = await replica.post(
                "/v1/events",
                json={"events": [hl.reads_event([hl.read("GAP0001", camera_id="replica-b")])]},
                headers=hl.service,
            )
            assert resp.status_code == 200
        # This replica's own next alert reveals the gap; the stream fills it, in order.
        await hl.post_reads([hl.read("GAP0001", camera_id="replica-a")])
        got = [await stream.alert(), await stream.alert()]
        assert [a["camera_id"] for a in got] == ["replica-b", "replica-a"]
        assert got[1]["seq"] == got[0]["seq"] + 1


async def test_slow_subscriber_catches_up_from_the_database(hl, sse, app):
    app.state.broadcaster.queue_size = 10
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "SLW0001")
    async with sse(hl.rtcc) as stream:
        await opened(stream)
        for i in range(12):  # more commits than the subscriber's queue holds
            await hl.post_reads([hl.read("SLW0001", camera_id=f"cam-{i}")])
        await asyncio.sleep(0)
        got = [await stream.alert() for _ in range(12)]
        assert [a["camera_id"] for a in got] == [f"cam-{i}" for i in range(12)]
        assert [a["seq"] for a in got] == list(range(got[0]["seq"], got[0]["seq"] + 12))


async def test_stream_needs_a_purpose_and_an_rtcc_role(hl, sse, tokens):
    async with sse(tokens.headers("rtcc_operator")) as stream:
        assert stream.status == 422
    async with sse(tokens.headers("officer", purpose=True)) as stream:
        assert stream.status == 403
    async with sse(tokens.headers("supervisor", purpose=True)) as stream:
        assert stream.status == 200


async def test_the_idle_poll_is_one_query_for_all_subscribers_and_alerts_encoded_once(
    app, db, monkeypatch
):
    # Fan-out independent of the number of RTCC consoles: within a poll interval, every
    # subscriber's check of the stream's position shares one query, and a published alert is
    # encoded once whatever the number of subscribers.
    from alpr_hotlist import repository
    from alpr_hotlist.alerts import stream as stream_module

    broadcaster = app.state.broadcaster
    queries = 0
    real_last = repository.last_alert_seq

    async def counted(session):
        nonlocal queries
        queries += 1
        return await real_last(session)

    monkeypatch.setattr(repository, "last_alert_seq", counted)
    seqs = await asyncio.gather(*(broadcaster.latest_seq(db, 60.0) for _ in range(20)))
    assert queries == 1 and len(set(seqs)) == 1

    encoded = 0
    real_sse_event = stream_module.sse_event

    def counting_sse_event(payload):
        nonlocal encoded
        encoded += 1
        return real_sse_event(payload)

    monkeypatch.setattr(stream_module, "sse_event", counting_sse_event)
    subscribers = [broadcaster.subscribe() for _ in range(20)]
    try:
        broadcaster.publish([{"seq": seqs[0] + 1, "plate": "FAN0001"}])
        assert encoded == 1
        assert all(sub.queue.qsize() == 1 for sub in subscribers)
        assert await broadcaster.latest_seq(db, 60.0) == seqs[0] + 1  # no query: it was pushed
        assert queries == 1
    finally:
        for sub in subscribers:
            broadcaster.unsubscribe(sub)
