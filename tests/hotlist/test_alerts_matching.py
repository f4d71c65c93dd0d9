"""Reads become alerts: exact and confusable matching, the region rule, idempotency per read and
entry, one alert per (entry, camera, window), replicas that agree, and back-match via ingest."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from alpr_common.app import use_database
from alpr_hotlist.alerts import backmatch
from alpr_hotlist.models import BackMatchJob


def at(minutes: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


@pytest.mark.policy("344.3.2(a)")
async def test_exact_hit_becomes_an_alert_with_its_audit_facts(hl):
    lst = await hl.hotlist("stolen")
    entry = await hl.entry(lst["id"], "ABC1234")
    read = hl.read("ABC1234")
    result = await hl.post_reads([read, hl.read("ZZZ9999")])
    assert result == {"accepted": 1, "duplicates": 0, "rejected": 0}

    [alert] = await hl.alerts()
    assert alert["entry_id"] == entry["id"]
    assert alert["match_type"] == "exact"
    assert alert["confusions"] == []
    assert alert["status"] == "new"
    assert (alert["camera_id"], alert["zip_code"], alert["sector"]) == (
        "cam-lamar-01",
        "78704",
        "DAVID",
    )
    assert alert["first_read_id"] == read["read_id"]
    assert alert["read_count"] == 1
    assert alert["manual_reason"] == "stolen_vehicle_pending_ncic"

    detail = await hl.alert(alert["id"])
    assert [h["read_id"] for h in detail["hits"]] == [read["read_id"]]
    assert detail["missing_steps"] == [
        "visual_confirmation",
        "ncic_tcic_confirmation",
        "second_officer_verification",
    ]
    [event] = await hl.audit_events("hotlist.alert_created")
    assert event["subject"] == "service:hotlist"
    data = event["data"]
    assert (data["zip_code"], data["sector"], data["camera_type"]) == ("78704", "DAVID", "fixed")
    assert data["hotlist_name"] == "stolen"
    assert data["entered_by_role"] == "hotlist_manager"


async def test_confusable_hit_records_its_confusions(hl):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "ABC1234")
    await hl.post_reads([hl.read("A8C1Z34"), hl.read("A8CIZ34", camera_id="cam-2")])
    [alert] = await hl.alerts()  # three confusions is not a match
    assert alert["match_type"] == "confusable"
    assert alert["plate"] == "A8C1Z34"
    assert alert["entry_plate"] == "ABC1234"
    assert alert["confusions"] == [
        {"position": 1, "read_char": "8", "entry_char": "B"},
        {"position": 4, "read_char": "Z", "entry_char": "2"},
    ]
    [hit] = (await hl.alert(alert["id"]))["hits"]
    assert hit["match_type"] == "confusable"
    assert len(hit["confusions"]) == 2


async def test_region_rule(hl):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "TEX0001", region="US-TX")
    await hl.entry(lst["id"], "ANY0001", region=None)
    await hl.post_reads(
        [
            hl.read("TEX0001", region="US-OK", camera_id="c1"),  # other region: no
            hl.read("TEX0001", region=None, camera_id="c2"),  # unknown region: plate alone
            hl.read("ANY0001", region="CA-ON", camera_id="c3"),  # entry without region: any
        ]
    )
    alerts = await hl.alerts()
    assert sorted(a["camera_id"] for a in alerts) == ["c2", "c3"]


async def test_alerts_are_idempotent_per_read_and_entry(hl):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "IDM0001")
    read = hl.read("IDM0001")
    event_id = str(uuid.uuid4())
    assert (await hl.post_reads([read], event_id=event_id))["accepted"] == 1
    assert (await hl.post_reads([read], event_id=event_id))["duplicates"] == 1
    # The same read redelivered in another event (a retried camera post) adds nothing either.
    assert (await hl.post_reads([read]))["accepted"] == 1
    [alert] = await hl.alerts()
    assert alert["read_count"] == 1
    assert len(await hl.audit_events("hotlist.alert_created")) == 1


async def test_one_alert_per_entry_camera_and_window(hl):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "WIN0001")
    first = hl.read("WIN0001", captured_at=at(0))
    again = hl.read("WIN0001", captured_at=at(2))  # same camera, inside the 5-minute window
    other_camera = hl.read("WIN0001", captured_at=at(2), camera_id="cam-other")
    later = hl.read("WIN0001", captured_at=at(20))  # same camera, window over
    await hl.post_reads([first, again, other_camera])
    await hl.post_reads([later])
    alerts = await hl.alerts()
    by_read = {a["first_read_id"]: a for a in alerts}
    assert set(by_read) == {first["read_id"], other_camera["read_id"], later["read_id"]}
    assert by_read[first["read_id"]]["read_count"] == 2
    detail = await hl.alert(by_read[first["read_id"]]["id"])
    assert {h["read_id"] for h in detail["hits"]} == {first["read_id"], again["read_id"]}
    added = await hl.audit_events("hotlist.alert_read_added")
    assert [e["data"]["read_id"] for e in added] == [again["read_id"]]


async def test_a_plate_on_two_lists_raises_an_alert_per_entry(hl):
    one = await hl.hotlist("one")
    two = await hl.hotlist("two")
    await hl.entry(one["id"], "TWO0001")
    await hl.entry(two["id"], "TWO0001")
    await hl.post_reads([hl.read("TWO0001")])
    assert sorted(a["hotlist_name"] for a in await hl.alerts()) == ["one", "two"]


@pytest.mark.policy("344.3.2(a)")
async def test_reads_sent_as_columns_match_as_ingest_sends_them(hl, client):
    """Ingest sends a batch's reads as one list per field; the plate column settles the misses
    before any read is built, a plate it cannot judge is left to the full check, and a batch
    whose lists disagree in length is taken (it would fail the same way on every retry) and
    matches nothing."""
    lst = await hl.hotlist("stolen")
    await hl.entry(lst["id"], "COL1234")
    odd = {**hl.read("COL1234", camera_id="cam-3"), "plate": 1234}
    reads = [hl.read("ZZZ9999", camera_id="cam-2"), odd, hl.read("COL1234")]
    columns = {field: [r[field] for r in reads] for field in reads[0]}
    event = {**hl.reads_event([]), "data": {"batch_id": "b-1", "columns": columns}}
    resp = await client.post("/v1/events", json={"events": [event]}, headers=hl.service)
    assert resp.json() == {"accepted": 1, "duplicates": 0, "rejected": 0}
    [alert] = await hl.alerts()
    assert (alert["plate"], alert["first_read_id"]) == ("COL1234", reads[2]["read_id"])

    uneven = {**columns, "plate": ["COL1234"]}
    event = {**hl.reads_event([]), "data": {"batch_id": "b-2", "columns": uneven}}
    resp = await client.post("/v1/events", json={"events": [event]}, headers=hl.service)
    assert resp.json() == {"accepted": 1, "duplicates": 0, "rejected": 0}
    assert len(await hl.alerts()) == 1


async def test_malformed_reads_are_skipped_and_other_events_ignored(hl, client):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "MAL0001")
    good = hl.read("MAL0001")
    result = await hl.post_reads([{"plate": "MAL0001"}, good, {"read_id": "x"}])
    assert result["accepted"] == 1
    other = {
        "id": str(uuid.uuid4()),
        "source": "ingest",
        "type": "ingest.scan_counts",
        "data": {"counts": []},
    }
    resp = await client.post("/v1/events", json={"events": [other]}, headers=hl.service)
    assert resp.json()["accepted"] == 1
    assert len(await hl.alerts()) == 1


async def test_event_intake_is_for_services_only(hl, client, tokens):
    resp = await client.post(
        "/v1/events",
        json={"events": [hl.reads_event([hl.read("X")])]},
        headers=tokens.headers("rtcc_operator"),
    )
    assert resp.status_code == 403


async def test_replicas_agree_through_the_index_version(hl, app, app_settings, service_spec, db):
    """A second replica (its own in-memory index, the same database) follows every change."""
    other = service_spec.app_factory(app_settings)
    use_database(other, db)
    other.state.verifier = app.state.verifier
    other.state.principal_status = app.state.principal_status
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=other), base_url="http://other"
    ) as replica:

        async def post_to_replica(reads):
            resp = await replica.post(
                "/v1/events", json={"events": [hl.reads_event(reads)]}, headers=hl.service
            )
            assert resp.status_code == 200, resp.text

        lst = await hl.hotlist()
        await post_to_replica([hl.read("REP0001", camera_id="c0")])  # builds its index
        assert await hl.alerts() == []
        entry = await hl.entry(lst["id"], "REP0001")  # written through the first replica
        await post_to_replica([hl.read("REP0001", camera_id="c1")])
        assert [a["camera_id"] for a in await hl.alerts()] == ["c1"]
        await hl.client.delete(f"/v1/hotlist-entries/{entry['id']}", headers=hl.manager)
        await post_to_replica([hl.read("REP0001", camera_id="c2")])
        assert [a["camera_id"] for a in await hl.alerts()] == ["c1"]
        assert other.state.index_keeper.version == 2  # created, then removed
        assert entry["id"] not in other.state.index_keeper.index


async def test_new_entry_is_back_matched_against_recent_reads(hl, app, ingest):
    lst = await hl.hotlist()
    seen = hl.read("BAK0001", captured_at=at(-60))
    confusable = hl.read("8AK0001", captured_at=at(-30), camera_id="cam-9")
    too_old = hl.read("BAK0001", captured_at=at(-60 * 7), camera_id="cam-old")
    ingest.reads = [seen, confusable, too_old]
    entry = await hl.entry(lst["id"], "BAK0001")

    assert await backmatch.run_due(app) == 1
    [call] = ingest.calls
    assert call["plates"] == ["BAK0001"]
    assert call["confusable"] is True
    alerts = await hl.alerts()
    assert sorted(a["first_read_id"] for a in alerts) == sorted(
        [seen["read_id"], confusable["read_id"]]
    )
    assert {a["origin"] for a in alerts} == {"back_match"}
    assert {a["entry_id"] for a in alerts} == {entry["id"]}
    # A read that later arrives live is not matched twice.
    await hl.post_reads([seen])
    assert len(await hl.alerts()) == 2
    assert await backmatch.run_due(app) == 0


async def test_back_match_failure_delays_the_work_and_never_loses_it(hl, app, ingest):
    lst = await hl.hotlist()
    read = hl.read("DLY0001", captured_at=at(-5))
    ingest.reads = [read]
    ingest.fail = True
    await hl.entry(lst["id"], "DLY0001")
    assert await backmatch.run_due(app) == 0
    assert await hl.alerts() == []
    async with app.state.db.sessionmaker() as session:
        [job] = (await session.execute(BackMatchJob.__table__.select())).all()
        assert job.attempts == 1
        assert job.done_at is None
        assert job.next_attempt_at > datetime.now(UTC)
        assert "503" in job.last_error
    assert await backmatch.run_due(app) == 0  # not due yet: backing off

    ingest.fail = False
    async with app.state.db.sessionmaker() as session:
        await session.execute(
            update(BackMatchJob).values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
    assert await backmatch.run_due(app) == 1
    [alert] = await hl.alerts()
    assert alert["first_read_id"] == read["read_id"]


async def test_reading_alerts_needs_a_purpose(hl, client, tokens):
    no_purpose = await client.get("/v1/alerts", headers=tokens.headers("rtcc_operator"))
    assert no_purpose.status_code == 422
    banned = await client.get(
        "/v1/alerts",
        headers={
            **tokens.headers("rtcc_operator"),
            "X-ALPR-Purpose": "revenue_collection",
            "X-ALPR-Case": "1",
            "X-ALPR-Reason": "collect some money owed",
        },
    )
    assert banned.status_code == 403
    assert (await client.get("/v1/alerts", headers=hl.rtcc)).status_code == 200
    wrong_role = await client.get(
        "/v1/alerts", headers=tokens.headers("hotlist_manager", purpose=True)
    )
    assert wrong_role.status_code == 403


async def test_back_match_reads_in_ingests_read_schema(hl, app, ingest):
    lst = await hl.hotlist()
    read = hl.read("POS0001", captured_at=at(-10))
    read.pop("lat")
    read.pop("lon")
    read["position"] = {"lat": 30.1, "lon": -97.7}
    ingest.reads = [read]
    await hl.entry(lst["id"], "POS0001")
    assert await backmatch.run_due(app) == 1
    [alert] = await hl.alerts()
    assert (alert["lat"], alert["lon"]) == (30.1, -97.7)


async def test_alerts_filter_by_plate_as_written(hl):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "FLT1234")
    await hl.post_reads([hl.read("FLT1234")])
    assert len(await hl.alerts(plate="flt-1234")) == 1
    assert await hl.alerts(plate="FLT1235") == []
