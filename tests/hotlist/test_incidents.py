"""Wrong-vehicle incidents (344.4(g)): reported with their cause and the data gathered, due before
the end of the reporting officer's shift, late ones flagged; the supervisor and Risk Management
are notified through the inbox; audit gets the incident (344.6(b)10)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from alpr_hotlist.incidents import shift_end_after
from alpr_hotlist.settings import HotlistSettings

OFFICER = "user:ofc-a"
SUPERVISOR = "user:sgt-9"


@pytest.fixture
def people(tokens):
    class People:
        officer = tokens.headers("officer", subject=OFFICER, name="Officer A")
        officer_b = tokens.headers("officer", subject="user:ofc-b", name="Officer B")
        supervisor = tokens.headers("supervisor", subject=SUPERVISOR, name="Sgt. Nine")
        other_supervisor = tokens.headers("supervisor", subject="user:sgt-1", name="Sgt. One")
        risk = tokens.headers("risk_management", subject="user:risk-1", name="Risk Mgmt")

    return People


async def acted_alert(hl, client, people, plate: str = "WRG0001") -> dict:
    lst = await hl.hotlist()
    await hl.entry(lst["id"], plate)
    await hl.post_reads([hl.read(plate)])
    [alert] = await hl.alerts(plate=plate)
    aid = alert["id"]
    for path, headers, body in (
        ("visual-confirmations", people.officer, {"matches": True}),
        (
            "ncic-confirmations",
            people.officer,
            {"system": "ncic", "still_valid": True, "reference": "QV-9"},
        ),
        ("second-officer-verifications", people.officer_b, {"matches": True}),
        ("enforcement-actions", people.officer, {"action": "traffic_stop"}),
    ):
        r = await client.post(f"/v1/alerts/{aid}/{path}", json=body, headers=headers)
        assert r.status_code == 201, r.text
    return await hl.alert(aid)


def incident(alert_id: str, **extra) -> dict:
    return {
        "alert_id": alert_id,
        "cause": "swapped_plate",
        "description": "Plate on the sedan belonged to the stolen pickup; driver released",
        "data_gathered": "Driver licence checked; vehicle VIN read; no search",
        **extra,
    }


def test_configured_shift_end_is_the_next_local_shift_change():
    settings = HotlistSettings(environment="test", shift_end_times=["22:00", "06:00", "14:00"])
    # 13:59 in Austin (CST, UTC-6) -> the 14:00 shift change, 20:00 UTC.
    assert shift_end_after(settings, datetime(2026, 11, 30, 19, 59, tzinfo=UTC)) == datetime(
        2026, 11, 30, 20, 0, tzinfo=UTC
    )
    # 22:30 local -> 06:00 local the next day.
    assert shift_end_after(settings, datetime(2026, 12, 1, 4, 30, tzinfo=UTC)) == datetime(
        2026, 12, 1, 12, 0, tzinfo=UTC
    )
    # Summer time: 06:00 CDT is 11:00 UTC.
    assert shift_end_after(settings, datetime(2026, 7, 1, 10, 0, tzinfo=UTC)) == datetime(
        2026, 7, 1, 11, 0, tzinfo=UTC
    )


@pytest.mark.policy("344.4(g)")
async def test_incident_notifies_supervisor_and_risk_management(hl, client, people):
    alert = await acted_alert(hl, client, people)
    resp = await client.post(
        "/v1/wrong-vehicle-incidents",
        json=incident(alert["id"], supervisor=SUPERVISOR),
        headers=people.officer,
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["late"] is False
    assert report["shift_end_source"] == "configured"
    action_at = datetime.fromisoformat(report["action_at"])
    due = datetime.fromisoformat(report["due_at"])
    assert action_at < due <= action_at + timedelta(hours=8)
    assert report["reported_by"] == OFFICER

    for who in (people.supervisor, people.risk):
        inbox = await client.get("/v1/inbox", headers=who)
        assert inbox.status_code == 200
        [message] = inbox.json()["items"]
        assert message["incident_id"] == report["id"]
        assert message["kind"] == "wrong_vehicle_incident"
        assert "swapped_plate" in message["title"]
        assert "WRG0001" not in message["body"]  # no plate in notifications
    other = await client.get("/v1/inbox", headers=people.other_supervisor)
    assert other.json()["items"] == []  # addressed to the named supervisor
    assert (await client.get("/v1/inbox", headers=people.officer)).status_code == 403

    [event] = await hl.audit_events("hotlist.wrong_vehicle_incident")
    data = event["data"]
    assert (data["cause"], data["late"], data["resulted_in_investigation"]) == (
        "swapped_plate",
        False,
        False,
    )
    assert data["data_gathered"].startswith("Driver licence")
    assert data["notified"] == ["supervisor", "risk_management"]
    assert event["subject"] == OFFICER

    dup = await client.post(
        "/v1/wrong-vehicle-incidents", json=incident(alert["id"]), headers=people.officer
    )
    assert dup.status_code == 409


@pytest.mark.policy("344.4(g)")
async def test_report_after_the_shift_end_is_flagged_late(hl, client, people):
    alert = await acted_alert(hl, client, people)
    shift_end = datetime.fromisoformat(alert["enforcement_at"]) + timedelta(milliseconds=1)
    await asyncio.sleep(0.01)
    resp = await client.post(
        "/v1/wrong-vehicle-incidents",
        json=incident(alert["id"], cause="misread", shift_ends_at=shift_end.isoformat()),
        headers=people.officer,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["late"] is True
    assert resp.json()["shift_end_source"] == "supplied"

    inbox = (await client.get("/v1/inbox", headers=people.other_supervisor)).json()["items"]
    assert inbox[0]["late"] is True
    assert inbox[0]["title"].startswith("LATE")
    late = await client.get(
        "/v1/wrong-vehicle-incidents", params={"late": "true"}, headers=people.risk
    )
    assert [i["id"] for i in late.json()["items"]] == [resp.json()["id"]]
    [event] = await hl.audit_events("hotlist.wrong_vehicle_incident")
    assert event["data"]["late"] is True


@pytest.mark.policy("344.4(g)")
async def test_incident_needs_an_action_and_a_sensible_shift_end(hl, client, people):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "NOA0001")
    await hl.post_reads([hl.read("NOA0001")])
    [fresh] = await hl.alerts()
    resp = await client.post(
        "/v1/wrong-vehicle-incidents", json=incident(fresh["id"]), headers=people.officer
    )
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.4(g)"

    acted = await acted_alert(hl, client, people, "WRG0002")
    before = datetime.fromisoformat(acted["enforcement_at"]) - timedelta(hours=1)
    resp = await client.post(
        "/v1/wrong-vehicle-incidents",
        json=incident(acted["id"], shift_ends_at=before.isoformat()),
        headers=people.officer,
    )
    assert resp.status_code == 422
    bad_cause = await client.post(
        "/v1/wrong-vehicle-incidents",
        json=incident(acted["id"], cause="bad_luck"),
        headers=people.officer,
    )
    assert bad_cause.status_code == 422


@pytest.mark.policy("344.4(g)")
async def test_wrong_vehicle_outcome_says_when_the_report_is_due(hl, client, people):
    alert = await acted_alert(hl, client, people)
    resp = await client.post(
        f"/v1/alerts/{alert['id']}/outcomes",
        json={
            "outcome": "wrong_vehicle",
            "offense": "Stolen vehicle (PC 31.03)",
            "driver_race": "black",
            "driver_gender": "female",
            "victim_race": "not_applicable",
            "victim_gender": "not_applicable",
        },
        headers=people.officer,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["incident_due_at"] is not None


async def test_incidents_are_visible_to_their_reporter_and_overseers(hl, client, people):
    alert = await acted_alert(hl, client, people)
    report = (
        await client.post(
            "/v1/wrong-vehicle-incidents", json=incident(alert["id"]), headers=people.officer
        )
    ).json()
    own = await client.get(f"/v1/wrong-vehicle-incidents/{report['id']}", headers=people.officer)
    assert own.status_code == 200
    other = await client.get(
        f"/v1/wrong-vehicle-incidents/{report['id']}", headers=people.officer_b
    )
    assert other.status_code == 404
    assert (await client.get("/v1/wrong-vehicle-incidents", headers=people.officer_b)).json()[
        "total"
    ] == 0
    assert (await client.get("/v1/wrong-vehicle-incidents", headers=people.risk)).json()[
        "total"
    ] == 1

    [message] = (await client.get("/v1/inbox", headers=people.risk)).json()["items"]
    ack = await client.post(f"/v1/inbox/{message['id']}/acknowledgement", headers=people.risk)
    assert ack.status_code == 200
    assert ack.json()["acknowledged_by"] == "user:risk-1"
    pending = await client.get("/v1/inbox", params={"unacknowledged": "true"}, headers=people.risk)
    assert pending.json()["total"] == 0
    not_mine = await client.post(
        f"/v1/inbox/{message['id']}/acknowledgement", headers=people.supervisor
    )
    assert not_mine.status_code == 404
