"""The clauses of General Order 344 the sharing service enforces, each refusal naming its clause:
344.4(a)6 (and the other prohibited purposes), 344.5(a), 344.5(b), 344.5(c), 344.5(d)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.sharing import CASE, bundle_rows, now

# --- 344.4(a)6 and the other prohibited purposes --------------------------------------------------


@pytest.mark.policy("344.4(a)6")
@pytest.mark.parametrize(
    ("overrides", "clause"),
    [
        ({"purpose": "immigration_status"}, "344.4(a)6"),
        ({"purpose": "reproductive_health"}, "344.4(a)6"),
        ({"reason": "locate the driver to check immigration status of passengers"}, "344.4(a)6"),
        ({"reason": "vehicle seen near the reproductive health clinic on Lamar"}, "344.4(a)6"),
        ({"purpose": "revenue_collection"}, "344.4(a)5"),
        ({"reason": "find vehicles with past due fines for the city"}, "344.4(a)5"),
    ],
)
async def test_prohibited_purposes_refused_naming_their_clause(sharing, overrides, clause):
    agency = await sharing.agency()
    resp = await sharing.submit(sharing.agency_client(agency["id"]), **overrides)
    assert resp.status_code == 403, resp.text
    assert resp.json()["clause"] == clause
    assert await sharing.events() == []


async def test_unknown_purpose_is_unprocessable(sharing):
    agency = await sharing.agency()
    resp = await sharing.submit(sharing.agency_client(agency["id"]), purpose="curiosity")
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.4(a)3"


# --- 344.5(a) ------------------------------------------------------------------------------------


@pytest.mark.policy("344.5(a)")
@pytest.mark.parametrize("kind", ["court", "prosecutor", "public", "other"])
async def test_non_law_enforcement_requester_gets_no_data_through_an_agency_request(sharing, kind):
    agency = await sharing.agency(kind=kind)
    resp = await sharing.submit(sharing.agency_client(agency["id"]))
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["clause"] == "344.5(a)"
    assert "public-information request" in body["detail"]
    # The records officer entering it for them is refused the same way.
    resp = await sharing.submit(sharing.records(), agency_id=agency["id"])
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(a)"


# --- 344.5(b) ------------------------------------------------------------------------------------


@pytest.mark.policy("344.5(b)")
async def test_agency_request_needs_grounds_and_a_documented_investigation(sharing):
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    resp = await sharing.submit(headers, grounds=None)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(b)"
    resp = await sharing.submit(headers, investigator=None)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(b)"
    assert "investigator" in resp.json()["detail"]
    resp = await sharing.submit(headers, offense=None)
    assert resp.status_code == 403
    ok = await sharing.submitted(headers)
    assert ok["grounds"] == "criminal_investigation"
    assert ok["requester_type"] == "law_enforcement"


@pytest.mark.policy("344.5(b)")
async def test_missing_person_request_checked_live_against_the_hot_list(sharing):
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    amber = await sharing.hotlist_entry("KID4242", "amber_alert")
    stolen = await sharing.hotlist_entry("CAR1111", "stolen_vehicle")
    missing = {"grounds": "missing_person", "purpose": "amber_alert", "offense": None}

    resp = await sharing.submit(headers, **missing, plates=[], hotlist_entry_id=None)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(b)"
    resp = await sharing.submit(headers, **missing, plates=[], hotlist_entry_id=stolen["id"])
    assert resp.status_code == 403
    assert "missing or endangered" in resp.json()["detail"]
    resp = await sharing.submit(headers, **missing, plates=[], hotlist_entry_id=99999999)
    assert resp.status_code == 403
    resp = await sharing.submit(headers, **missing, plates=["OTHER1"], hotlist_entry_id=amber["id"])
    assert resp.status_code == 403
    assert "only the hot-listed vehicle" in resp.json()["detail"]

    ok = await sharing.submitted(headers, **missing, plates=[], hotlist_entry_id=amber["id"])
    assert ok["plates"] == ["KID4242"]
    assert ok["grounds"] == "missing_person"
    assert ok["status"] == "received"  # one plate, a short window: a specific case

    # Once the entry leaves the hot list, it is no ground any more.
    removed = await sharing.hotlist.delete(
        f"/v1/hotlist-entries/{amber['id']}",
        params={"reason": "child found safe"},
        headers=sharing.tokens.headers("hotlist_manager", subject="user:mgr"),
    )
    assert removed.status_code == 200, removed.text
    resp = await sharing.submit(headers, **missing, plates=[], hotlist_entry_id=amber["id"])
    assert resp.status_code == 403
    assert "not live" in resp.json()["detail"]


async def test_hotlist_down_means_retry_later(sharing):
    agency = await sharing.agency()
    sharing.peers.down.add("hotlist")
    resp = await sharing.submit(
        sharing.agency_client(agency["id"]),
        grounds="missing_person",
        purpose="amber_alert",
        plates=[],
        hotlist_entry_id=5,
    )
    assert resp.status_code == 503
    assert resp.headers["Retry-After"]
    assert await sharing.events() == []


# --- 344.5(c) ------------------------------------------------------------------------------------


@pytest.mark.policy("344.5(c)")
async def test_public_information_request_is_scoped_to_a_case_and_released_to_records(sharing):
    await sharing.seed_reads([("PUB0001", now() - timedelta(hours=3))])
    records = sharing.records()
    resp = await sharing.submit(
        records,
        kind="public_information",
        purpose="records_request",
        grounds=None,
        requester_name=None,
        plates=["PUB0001"],
    )
    assert resp.status_code == 422
    assert "requester_name" in resp.json()["detail"]
    req = await sharing.submitted(
        records,
        kind="public_information",
        purpose="records_request",
        grounds=None,
        requester_name="J. Public (PIR 26-118)",
        plates=["PUB0001"],
        fields=["plate", "captured_at"],
    )
    assert req["requester_type"] == "public"
    assert req["agency_id"] is None
    resp = await sharing.decide(req["id"], "approved", records, "ch. 552 ruling: must release")
    assert resp.status_code == 200, resp.text
    package = (await sharing.build(req["id"])).json()
    resp = await sharing.download(package["id"], records)
    assert resp.status_code == 200, resp.text
    rows, _, _ = bundle_rows(resp.content)
    assert [r["plate"] for r in rows] == ["PUB0001"]
    assert set(rows[0]) == {"plate", "captured_at"}
    # No agency sees it.
    agency = await sharing.agency()
    resp = await sharing.download(package["id"], sharing.agency_client(agency["id"]))
    assert resp.status_code == 404


@pytest.mark.policy("344.5(c)")
async def test_legal_disclosure_names_document_court_and_scope(sharing):
    records = sharing.records()
    court = await sharing.agency(kind="court", name="147th District Court")
    base = {"kind": "legal_disclosure", "grounds": None, "agency_id": court["id"]}
    resp = await sharing.submit(records, **base)
    assert resp.status_code == 422
    assert "document_type" in resp.json()["detail"]
    req = await sharing.submitted(
        records,
        **base,
        document_type="subpoena",
        document_ref="SUB-2026-0042",
        issuing_court="147th District Court, Travis County",
        ordered_scope="Reads of ABC1234 between the dates in the subpoena",
    )
    assert req["grounds"] == "subpoena"
    assert req["requester_type"] == "court"
    received = await sharing.events("sharing.request_received")
    assert received[-1]["data"]["kind"] == "legal_disclosure"
    assert received[-1]["data"]["agency_kind"] == "court"


@pytest.mark.policy("344.5(c)")
async def test_released_data_serves_only_the_requests_case(sharing):
    await sharing.seed_reads([("ABC1234", now() - timedelta(hours=1))])
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    req = await sharing.submitted(headers)
    await sharing.decide(req["id"], "approved", sharing.records())
    package = (await sharing.build(req["id"])).json()
    resp = await sharing.download(package["id"], headers, case="2026-0000001")
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(c)"
    assert (await sharing.download(package["id"], headers, case=CASE)).status_code == 200


# --- 344.5(d) ------------------------------------------------------------------------------------


@pytest.mark.policy("344.5(d)")
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"plates": []}, "no_plate"),
        ({"plates": ["AAA1", "AAA2", "AAA3", "AAA4", "AAA5", "AAA6"]}, "too_many_plates"),
        ({"since": (now() - timedelta(days=20)).isoformat()}, "window_too_long"),
        ({"camera_ids": ["cam-lamar-01"]}, "area_or_camera_wide"),
        ({"area": "Sixth Street entertainment district"}, "area_or_camera_wide"),
        ({"standing": True}, "bulk_or_standing_feed"),
    ],
)
async def test_broader_than_a_specific_case_goes_to_the_chief_at_once(sharing, overrides, reason):
    agency = await sharing.agency()
    req = await sharing.submitted(sharing.agency_client(agency["id"]), **overrides)
    assert req["status"] == "escalated"
    assert reason in req["escalation_reasons"]
    escalated = await sharing.events("sharing.request_escalated")
    assert len(escalated) == 1
    assert reason in escalated[0]["data"]["reasons"]
    received = await sharing.events("sharing.request_received")
    assert received[0]["data"]["escalation_needed"] is True
    detail = (await sharing.get(req["id"], sharing.chief())).json()
    assert detail["notices_missing"] == ["police_oversight", "mayor", "council"]


@pytest.mark.policy("344.5(d)")
async def test_approval_refused_until_all_three_notices_are_recorded_before_it(sharing):
    plates = [f"BRD{i:04d}" for i in range(8)]
    t = now()
    await sharing.seed_reads([(p, t - timedelta(hours=2)) for p in plates] + [("NOT0001", t)])
    agency = await sharing.agency()
    req = await sharing.submitted(sharing.agency_client(agency["id"]), plates=plates)
    assert req["status"] == "escalated"

    resp = await sharing.decide(req["id"], "approved", sharing.records())
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(d)"
    assert "Chief of Police" in resp.json()["detail"]

    resp = await sharing.decide(req["id"], "approved", sharing.chief())
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(d)"
    assert "Office of Police Oversight" in resp.json()["detail"]

    assert (await sharing.notice(req["id"], "police_oversight")).status_code == 201
    assert (await sharing.notice(req["id"], "police_oversight")).status_code == 409
    resp = await sharing.notice(req["id"], "mayor", at=now() + timedelta(hours=1))
    assert resp.status_code == 422  # a notice not yet given is not recorded
    assert (await sharing.notice(req["id"], "mayor")).status_code == 201
    resp = await sharing.decide(req["id"], "approved", sharing.chief())
    assert resp.status_code == 403
    assert "the Council" in resp.json()["detail"]
    assert (await sharing.notice(req["id"], "council")).status_code == 201

    resp = await sharing.decide(req["id"], "approved", sharing.chief())
    assert resp.status_code == 200, resp.text
    detail = resp.json()
    assert detail["status"] == "approved"
    assert detail["notices_missing"] == []
    assert all(n["notified_at"] <= detail["decided_at"] for n in detail["notices"])
    notices = await sharing.events("sharing.notice_recorded")
    assert sorted(e["data"]["notified"] for e in notices) == [
        "council",
        "mayor",
        "police_oversight",
    ]
    decided = await sharing.events("sharing.request_decided")
    assert [(e["data"]["decision"], e["data"]["escalated"]) for e in decided] == [
        ("approved", True)
    ]

    package = (await sharing.build(req["id"])).json()
    assert package["read_count"] == len(plates)


@pytest.mark.policy("344.5(d)")
async def test_escalated_request_can_always_be_denied_with_a_reason(sharing):
    agency = await sharing.agency()
    req = await sharing.submitted(sharing.agency_client(agency["id"]), plates=[])
    resp = await sharing.decide(req["id"], "denied", sharing.chief())
    assert resp.status_code == 422
    resp = await sharing.decide(req["id"], "denied", sharing.chief(), "area-wide dragnet, no case")
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "denied"
    resp = await sharing.decide(req["id"], "approved", sharing.chief())
    assert resp.status_code == 409
