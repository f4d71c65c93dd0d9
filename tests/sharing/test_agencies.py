"""Agencies, outside-agency misuse and suspension (344.4(b)), object-level isolation between
agencies, preservation holds (344.6(b)4), outcomes (344.6(b)6), each step reaching audit once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.helpers.sharing import now, tomorrow


async def _package(sharing, agency, **overrides):
    headers = sharing.agency_client(agency["id"])
    req = await sharing.submitted(headers, **overrides)
    assert (await sharing.decide(req["id"], "approved", sharing.records())).status_code == 200
    resp = await sharing.build(req["id"])
    assert resp.status_code == 201, resp.text
    return req, resp.json(), headers


async def test_agency_register_with_status_history_and_unique_ori(sharing):
    agency = await sharing.agency(ori="TX2270100")
    assert agency["status"] == "active"
    resp = await sharing.client.post(
        "/v1/agencies",
        json={
            "name": "Copycat",
            "ori": "TX2270100",
            "kind": "law_enforcement",
            "jurisdiction": "x",
            "contact_name": "y",
        },
        headers=sharing.records(),
    )
    assert resp.status_code == 409
    resp = await sharing.client.patch(
        f"/v1/agencies/{agency['id']}",
        json={"contact_phone": "+1 512 555 0100"},
        headers=sharing.records(),
    )
    assert resp.status_code == 200
    assert resp.json()["contact_phone"] == "+1 512 555 0100"
    resp = await sharing.client.get(
        f"/v1/agencies/{agency['id']}/status-changes", headers=sharing.lieutenant()
    )
    assert [c["decision"] for c in resp.json()] == ["registered"]


@pytest.mark.policy("344.4(b)")
async def test_suspension_refuses_pending_requests_and_revokes_grants_in_one_request(sharing):
    await sharing.seed_reads([("ABC1234", now() - timedelta(hours=1))])
    agency = await sharing.agency()
    other = await sharing.agency()
    _, package, headers = await _package(sharing, agency)
    _, other_package, other_headers = await _package(sharing, other, client_reference="OTHER-1")
    pending = await sharing.submitted(headers, client_reference="PENDING-1")
    broad = await sharing.submitted(headers, plates=[], client_reference="BROAD-1")
    assert broad["status"] == "escalated"

    resp = await sharing.client.post(
        "/v1/misuse-reports",
        json={"agency_id": agency["id"], "description": "Shared our reads with a repo company"},
        headers=sharing.person("officer"),
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["status"] == "open"
    assert len(await sharing.events("sharing.misuse_reported")) == 1

    decision = {"decision": "suspend", "reason": "misuse substantiated by the ATIU review"}
    resp = await sharing.client.post(
        f"/v1/agencies/{agency['id']}/status-decisions",
        json={**decision, "misuse_report_id": report["id"]},
        headers=sharing.records(),
    )
    assert resp.status_code == 403  # only the ATIU Lieutenant decides
    resp = await sharing.client.post(
        f"/v1/agencies/{agency['id']}/status-decisions",
        json={**decision, "misuse_report_id": report["id"]},
        headers=sharing.lieutenant(),
    )
    assert resp.status_code == 201, resp.text
    result = resp.json()
    assert result["agency"]["status"] == "suspended"
    assert sorted(result["requests_refused"]) == sorted([pending["id"], broad["id"]])
    assert result["grants_revoked"] == [package["id"]]

    for request_id in (pending["id"], broad["id"]):
        assert (await sharing.get(request_id)).json()["status"] == "denied"
    resp = await sharing.download(package["id"], headers)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(b)"
    resp = await sharing.submit(headers, client_reference="NEW-1")
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(b)"
    # Another agency is untouched.
    assert (await sharing.download(other_package["id"], other_headers)).status_code == 200

    report = (
        await sharing.client.get(f"/v1/misuse-reports/{report['id']}", headers=sharing.lieutenant())
    ).json()
    assert report["status"] == "decided"
    assert report["decision"] == "suspend"
    changed = await sharing.events("sharing.agency_status_changed")
    assert [(e["data"]["decision"], e["data"]["status"]) for e in changed] == [
        ("suspend", "suspended")
    ]
    revoked = await sharing.events("sharing.grant_revoked")
    assert [e["data"]["package_id"] for e in revoked] == [package["id"]]

    resp = await sharing.client.post(
        f"/v1/agencies/{agency['id']}/status-decisions",
        json={"decision": "reinstate", "reason": "retrained, MOU re-signed with the Chief"},
        headers=sharing.lieutenant(),
    )
    assert resp.status_code == 201
    assert (await sharing.submit(headers, client_reference="AFTER-1")).status_code == 201
    # Revoked grants stay revoked.
    assert (await sharing.download(package["id"], headers)).status_code == 410
    history = (
        await sharing.client.get(
            f"/v1/agencies/{agency['id']}/status-changes", headers=sharing.lieutenant()
        )
    ).json()
    assert [c["decision"] for c in history] == ["registered", "suspend", "reinstate"]


@pytest.mark.policy("344.4(b)")
async def test_lieutenant_may_continue_sharing_after_review(sharing):
    agency = await sharing.agency()
    resp = await sharing.client.post(
        f"/v1/agencies/{agency['id']}/status-decisions",
        json={"decision": "continue", "reason": "allegation not substantiated on review"},
        headers=sharing.lieutenant(),
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["agency"]["status"] == "active"
    assert (await sharing.submit(sharing.agency_client(agency["id"]))).status_code == 201


async def test_an_agency_never_sees_another_agencys_requests_or_packages(sharing):
    await sharing.seed_reads([("ABC1234", now() - timedelta(hours=1))])
    a = await sharing.agency()
    b = await sharing.agency()
    req_b, package_b, _ = await _package(sharing, b)
    headers_a = sharing.agency_client(a["id"])
    await sharing.submitted(headers_a)

    assert (await sharing.get(req_b["id"], headers_a)).status_code == 404
    assert (
        await sharing.client.get(f"/v1/packages/{package_b['id']}", headers=headers_a)
    ).status_code == 404
    assert (await sharing.download(package_b["id"], headers_a)).status_code == 404
    assert (
        await sharing.client.get(f"/v1/agencies/{b['id']}", headers=headers_a)
    ).status_code == 404
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{req_b['id']}/outcomes",
        json={"outcome": "arrest"},
        headers=headers_a,
    )
    assert resp.status_code == 404
    listed = (await sharing.client.get("/v1/sharing-requests", headers=headers_a)).json()
    assert listed["total"] == 1
    assert all(r["agency_id"] == a["id"] for r in listed["items"])
    assert (await sharing.client.get("/v1/packages", headers=headers_a)).json()["total"] == 0
    agencies = (await sharing.client.get("/v1/agencies", headers=headers_a)).json()
    assert [x["id"] for x in agencies["items"]] == [a["id"]]
    # An agency token naming no agency sees nothing and submits nothing.
    unbound = sharing.tokens.headers("agency", subject="client:unbound")
    assert (await sharing.client.get("/v1/sharing-requests", headers=unbound)).json()["total"] == 0
    assert (await sharing.submit(unbound)).status_code == 403


@pytest.mark.policy("344.5(b)")
async def test_outcomes_recorded_by_the_requester_after_fulfilment(sharing):
    await sharing.seed_reads([("ABC1234", now() - timedelta(hours=1))])
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    pending = await sharing.submitted(headers, client_reference="P-1")
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{pending['id']}/outcomes",
        json={"outcome": "arrest"},
        headers=headers,
    )
    assert resp.status_code == 409
    req, _, _ = await _package(sharing, agency)
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{req['id']}/outcomes",
        json={"outcome": "arrest", "details": "suspect arrested on I-35"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{req['id']}/outcomes",
        json={"outcome": "prosecution"},
        headers=sharing.records(),
    )
    assert resp.status_code == 201
    outcomes = await sharing.events("sharing.outcome_recorded")
    assert [e["data"]["outcome"] for e in outcomes] == ["arrest", "prosecution"]
    assert all(e["data"]["agency_id"] == agency["id"] for e in outcomes)


@pytest.mark.parametrize("requester_type", ["governmental", "defendant"])
async def test_preservation_request_places_a_hold_with_requester_and_deadline(
    sharing, requester_type
):
    t = now()
    await sharing.seed_reads([("PRS0001", t - timedelta(hours=h)) for h in (1, 2)])
    deadline = (t + timedelta(days=90)).date()
    req = await sharing.submitted(
        sharing.records(),
        kind="preservation",
        grounds=None,
        purpose="criminal_investigation",
        requester_type=requester_type,
        requester_name="Travis County Public Defender" if requester_type == "defendant" else None,
        plates=["PRS0001"],
        deadline=deadline.isoformat(),
    )
    assert req["requester_type"] == requester_type
    resp = await sharing.decide(req["id"], "approved", sharing.records(), "preserve as asked")
    assert resp.status_code == 200, resp.text
    detail = resp.json()
    assert detail["status"] == "fulfilled"
    assert detail["hold_id"] == req["id"]
    hold = await sharing.ingest.get(
        f"/v1/holds/{detail['hold_id']}",
        headers={
            **sharing.tokens.headers("investigator", subject="user:inv"),
            **sharing.purpose(),
        },
    )
    assert hold.status_code == 200, hold.text
    body = hold.json()
    assert body["read_count"] == 2
    assert body["retention_until"] == deadline.isoformat()
    assert body["created_by_name"] == req["requester_name"]
    assert requester_type in body["reason"]
    received = await sharing.events("sharing.request_received")
    assert received[0]["data"]["requester_type"] == requester_type
    assert received[0]["data"]["kind"] == "preservation"
    # A package is never built for a preservation.
    assert (await sharing.build(req["id"])).status_code == 409


async def test_preservation_needs_a_future_deadline(sharing):
    resp = await sharing.submit(
        sharing.records(),
        kind="preservation",
        grounds=None,
        requester_type="governmental",
        deadline=(now() - timedelta(days=1)).date().isoformat(),
    )
    assert resp.status_code == 422
    resp = await sharing.submit(
        sharing.records(), kind="preservation", grounds=None, deadline=tomorrow().isoformat()
    )
    assert resp.status_code == 422
    assert "requester_type" in resp.json()["detail"]


async def test_each_step_reaches_audit_once(sharing):
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    first = await sharing.submit(headers, client_reference="CAD-77")
    assert first.status_code == 201
    again = await sharing.submit(headers, client_reference="CAD-77")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    request_id = first.json()["id"]
    assert len(await sharing.events("sharing.request_received")) == 1

    assert (await sharing.decide(request_id, "approved", sharing.records())).status_code == 200
    assert (await sharing.decide(request_id, "approved", sharing.records())).status_code == 409
    assert len(await sharing.events("sharing.request_decided")) == 1
    events = await sharing.events()
    assert len({e["id"] for e in events}) == len(events)
    assert all(e["source"] == "sharing" for e in events)


async def test_withdrawal_by_the_requester(sharing):
    agency = await sharing.agency()
    headers = sharing.agency_client(agency["id"])
    req = await sharing.submitted(headers)
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{req['id']}/withdrawals",
        json={"reason": "suspect located by other means"},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "withdrawn"
    assert [s["status"] for s in resp.json()["steps"]] == ["received", "withdrawn"]
    decided = await sharing.events("sharing.request_decided")
    assert decided[0]["data"]["decision"] == "withdrawn"


async def test_review_then_deny(sharing):
    agency = await sharing.agency()
    req = await sharing.submitted(sharing.agency_client(agency["id"]))
    resp = await sharing.client.post(
        f"/v1/sharing-requests/{req['id']}/reviews",
        json={"note": "checking"},
        headers=sharing.records(),
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "under_review"
    resp = await sharing.decide(req["id"], "denied", sharing.records(), "case number unknown here")
    assert resp.json()["status"] == "denied"
    assert resp.json()["decision_reason"] == "case number unknown here"


async def test_approval_not_fulfilled_in_time_expires(sharing):
    from alpr_sharing.requests import expire_lapsed

    agency = await sharing.agency()
    req = await sharing.submitted(sharing.agency_client(agency["id"]))
    assert (await sharing.decide(req["id"], "approved", sharing.records())).status_code == 200
    async with sharing.db.sessionmaker() as session:
        assert await expire_lapsed(session, approval_days=14) == []
        lapsed = await expire_lapsed(session, approval_days=14, now=now() + timedelta(days=15))
        await session.commit()
    assert lapsed == [req["id"]]
    assert (await sharing.get(req["id"])).json()["status"] == "expired"
    assert (await sharing.build(req["id"])).status_code == 409
    decided = await sharing.events("sharing.request_decided")
    assert [e["data"]["decision"] for e in decided] == ["approved", "expired"]
