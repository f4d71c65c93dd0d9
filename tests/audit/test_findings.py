"""Beyond the 13 (344.4(a)4, 344.4(d), 344.6): what the log shows about use of the system, each
figure computed here independently from the events sent: First Amendment flagged queries,
per-user volume outliers, off-hours use, repeated plate searches with no case linkage (plates
never shown), refusals by reason, and the chain's verification."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

QUARTER = {"quarter": "2026Q4"}


def _search(ev, plate: str, case: str | None, subject: str, minute: int) -> dict:
    return ev.event(
        "ingest.search",
        {
            "kind": "search",
            "subject": subject,
            "purpose": "criminal_investigation",
            "case_number": case,
            "reason": "follow-up on a reported theft",
            "criteria": {"plate": plate, "confusable": False, "limit": 50, "offset": 0},
            "result_count": 1,
            "returned": 1,
        },
        subject=subject,
        time=ev.BASE_TIME + timedelta(minutes=minute),
    )


@pytest.fixture
async def usage(ev, send) -> None:
    events: list[dict] = []

    def query(subject: str, minute: int, **kw) -> tuple[dict, dict]:
        req, resp = ev.gateway_pair(subject=subject, minute=minute, **kw)
        events.extend([req, resp])
        return req, resp

    for i in range(20):
        query("user:heavy", i)
    query("user:a", -600)  # 04:00 UTC = 22:00 in Austin the evening before: off hours
    query("user:b", -121)  # 05:59 in Austin: off hours
    query("user:b", -120)  # 06:00 in Austin: working hours
    fa_req, _ = query("user:c", 1, flags=["first_amendment"])
    fa_req["data"]["criminal_nexus"] = "threat of violence posted about the rally"
    query("user:d", 2, status=403)
    query("user:d", 3, status=403)
    _, prohibited = query("user:e", 4, status=403)
    prohibited["data"]["refused_reason"] = "purpose_prohibited"
    no_purpose, _ = query("user:heavy", 30)
    no_purpose["data"]["purpose"] = None
    events += [
        _search(ev, "ABC1234", "C-1", "user:a", 5),
        _search(ev, "ABC1234", "C-1", "user:b", 6),
        _search(ev, "abc 1234", None, "user:a", 7),
        _search(ev, "XYZ999", "C-2", "user:a", 8),
        _search(ev, "XYZ999", "C-2", "user:a", 9),
        _search(ev, "XYZ999", "C-2", "user:a", 10),
        _search(ev, "QQQ111", None, "user:a", 11),
        _search(ev, "QQQ111", None, "user:a", 12),
        ev.event("ingest.hold_created", {"hold_id": "h1", "case_number": "C-2"}),
    ]
    await send(events)


async def _findings(client, tokens, **params) -> dict:
    resp = await client.get(
        "/v1/usage-findings", params=params or QUARTER, headers=tokens.headers("city_auditor")
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.policy("344.4(a)4")
async def test_first_amendment_flagged_queries_are_listed(client, tokens, usage):
    body = await _findings(client, tokens)

    [flagged] = body["first_amendment"]
    assert flagged["subject"] == "user:c"
    assert flagged["criminal_nexus_recorded"] is True
    assert flagged["status"] == 200
    assert flagged["case_number"] == "2026-0001234"


@pytest.mark.policy("344.6(a)")
async def test_volume_outliers_follow_the_stated_rule(client, tokens, usage):
    body = await _findings(client, tokens)

    counts = {"user:heavy": 20, "user:a": 1, "user:b": 2, "user:c": 1, "user:d": 2, "user:e": 1}
    assert body["queries"] == sum(counts.values())
    volume = body["volume"]
    # median of [1, 1, 1, 2, 2, 20] = 1.5; deviations all 0.5 but one: MAD 0.5; k = 3
    assert (volume["users"], volume["median"], volume["mad"]) == (6, 1.5, 0.5)
    assert volume["threshold"] == 1.5 + 3 * 1
    assert volume["outliers"] == [{"subject": "user:heavy", "queries": 20}]
    assert "median + 3" in volume["rule"]


@pytest.mark.policy("344.6(a)")
async def test_off_hours_use_is_counted_in_local_time(client, tokens, usage):
    body = await _findings(client, tokens)

    assert body["off_hours"]["queries"] == 2
    assert body["off_hours"]["by_user"] == [
        {"subject": "user:a", "queries": 1},
        {"subject": "user:b", "queries": 1},
    ]
    assert "America/Chicago" in body["off_hours"]["rule"]


@pytest.mark.policy("344.4(d)")
async def test_repeated_plate_searches_without_a_case_file_are_reported_by_hash(
    client, tokens, usage
):
    resp = await client.get(
        "/v1/usage-findings", params=QUARTER, headers=tokens.headers("city_auditor")
    )

    body = resp.json()
    [plate] = body["repeated_plates"]["plates"]
    assert plate["plate_hash"] == hashlib.sha256(b"ABC1234").hexdigest()[:16]
    assert plate["unlinked_searches"] == 3
    assert plate["subjects"] == ["user:a", "user:b"]
    assert plate["case_numbers"] == ["C-1"]
    for shown in ("ABC1234", "abc 1234", "XYZ999", "QQQ111"):
        assert shown not in resp.text


@pytest.mark.policy("344.4(d)")
async def test_refusals_are_counted_by_reason_and_the_chain_verified(client, tokens, usage):
    body = await _findings(client, tokens)

    assert body["refusals"] == [
        {"reason": "refused", "status": 403, "count": 2},
        {"reason": "purpose_prohibited", "status": 403, "count": 1},
    ]
    assert body["chain"]["ok"] is True
    assert body["chain"]["entries_checked"] == 2 * 28 + 9
    assert body["chain"]["broken_entries"] == 0


async def test_a_quarter_without_use_has_empty_findings(client, tokens, usage):
    body = await _findings(client, tokens, quarter="2026Q2")

    assert body["queries"] == 0 and body["first_amendment"] == []
    assert body["volume"]["outliers"] == [] and body["refusals"] == []
    assert body["repeated_plates"]["plates"] == []
