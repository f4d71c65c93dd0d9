"""Hot lists and manual entries through the API: the policy check on every write (344.2(c),
344.4(a)5, 344.6(b)7), attribution, expiry and the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alpr_common.errors import problem_type


def later(**kwargs) -> str:
    return (datetime.now(UTC) + timedelta(**kwargs)).isoformat()


# ---------------------------------------------------------------------------- lists


async def test_hotlist_lifecycle_is_attributed_and_audited(hl, client):
    created = await hl.hotlist("NCIC stolen vehicles", import_format="tx_ncic")
    assert created["status"] == "active"
    assert created["created_by"] == "user:mgr-1"
    assert created["active_entries"] == 0

    dup = await client.post(
        "/v1/hotlists", json={"name": "ncic STOLEN vehicles", "source": "ncic"}, headers=hl.manager
    )
    assert dup.status_code == 409
    assert dup.json()["type"] == problem_type("HotlistNameTaken")

    renamed = await client.patch(
        f"/v1/hotlists/{created['id']}",
        json={"description": "Daily TX NCIC extract"},
        headers=hl.manager,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["description"] == "Daily TX NCIC extract"

    listed = await client.get("/v1/hotlists", headers=hl.rtcc)
    assert [h["id"] for h in listed.json()["items"]] == [created["id"]]

    retired = await client.delete(
        f"/v1/hotlists/{created['id']}", params={"reason": "replaced"}, headers=hl.manager
    )
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired"

    types = [e["type"] for e in await hl.audit_events()]
    assert types == ["hotlist.list_created", "hotlist.list_updated", "hotlist.list_retired"]
    events = await hl.audit_events()
    assert all(e["data"]["actor"] == "user:mgr-1" for e in events)
    assert events[1]["data"]["before"] == {"description": ""}


async def test_only_hotlist_managers_create_lists(client, tokens):
    for role in ("rtcc_operator", "officer", "investigator", "risk_management"):
        resp = await client.post(
            "/v1/hotlists", json={"name": "x", "source": "agency"}, headers=tokens.headers(role)
        )
        assert resp.status_code == 403, role
    anonymous = await client.get("/v1/hotlists")
    assert anonymous.status_code == 401


async def test_unknown_hotlist_is_404(hl, client):
    resp = await client.get("/v1/hotlists/nope", headers=hl.manager)
    assert resp.status_code == 404
    assert resp.json()["type"] == problem_type("HotlistNotFound")


# ---------------------------------------------------------------------------- manual entries


@pytest.mark.policy("344.6(b)7")
async def test_manual_entry_is_attributed_to_the_user_and_role(hl, tokens):
    lst = await hl.hotlist()
    investigator = tokens.headers("investigator", subject="user:det-7", name="Det. Ruiz")
    entry = await hl.entry(lst["id"], "ksx-4411", headers=investigator)
    assert entry["plate"] == "KSX4411"
    assert entry["origin"] == "manual"
    assert entry["entered_by"] == "user:det-7"
    assert entry["entered_by_name"] == "Det. Ruiz"
    assert entry["entered_by_role"] == "investigator"
    assert entry["manual_reason"] == "stolen_vehicle_pending_ncic"
    assert entry["manual_reason_text"].startswith("Owner reported")
    assert entry["matching"] is True

    [event] = [e for e in await hl.audit_events() if e["type"] == "hotlist.entry_created"]
    assert event["subject"] == "user:det-7"
    assert event["data"]["manual_reason"] == "stolen_vehicle_pending_ncic"
    assert event["data"]["entered_by_role"] == "investigator"
    assert event["data"]["plate"] == "KSX4411"


@pytest.mark.policy("344.6(b)7")
async def test_manual_entry_without_reason_code_or_text_is_refused(hl, client):
    lst = await hl.hotlist()
    no_code = hl.entry_body(lst["id"], "ABC1234", manual_reason=None)
    resp = await client.post("/v1/hotlist-entries", json=no_code, headers=hl.manager)
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.6(b)7"
    assert "reason code" in resp.json()["detail"]

    no_text = hl.entry_body(lst["id"], "ABC1234", manual_reason_text=None)
    resp = await client.post("/v1/hotlist-entries", json=no_text, headers=hl.manager)
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.6(b)7"
    assert "manual_reason_text" in resp.json()["detail"]

    mismatch = hl.entry_body(lst["id"], "ABC1234", manual_reason="amber_alert")
    resp = await client.post("/v1/hotlist-entries", json=mismatch, headers=hl.manager)
    assert resp.status_code == 422
    assert "does not justify" in resp.json()["detail"]


@pytest.mark.policy("344.6(b)7")
async def test_manual_entry_must_expire_and_a_bolo_within_its_maximum(hl, client):
    lst = await hl.hotlist()
    resp = await client.post(
        "/v1/hotlist-entries",
        json=hl.entry_body(lst["id"], "ABC1234", expires_at=None),
        headers=hl.manager,
    )
    assert resp.status_code == 422
    assert resp.json()["type"] == problem_type("ExpiryRefused")
    assert "must expire" in resp.json()["detail"]

    bolo = hl.entry_body(
        lst["id"],
        "BOL0001",
        entry_type="bolo",
        manual_reason="bolo_criminal_investigation",
        reason="Robbery suspect vehicle, case 26-0099111",
        expires_at=later(days=15),
    )
    resp = await client.post("/v1/hotlist-entries", json=bolo, headers=hl.manager)
    assert resp.status_code == 422
    assert resp.json()["max_days"] == 14
    bolo["expires_at"] = later(days=13)
    assert (
        await client.post("/v1/hotlist-entries", json=bolo, headers=hl.manager)
    ).status_code == 201

    past = hl.entry_body(lst["id"], "ABC1235", expires_at=later(minutes=-1))
    resp = await client.post("/v1/hotlist-entries", json=past, headers=hl.manager)
    assert resp.status_code == 422


@pytest.mark.policy("344.2(c)")
async def test_warrant_needs_class_a_or_greater(hl, client):
    lst = await hl.hotlist()
    base = {
        "entry_type": "warrant",
        "manual_reason": "warrant_class_a_or_greater",
        "reason": "Aggravated assault warrant 26-W-0042",
    }
    missing = hl.entry_body(lst["id"], "WAR0001", **base)
    resp = await client.post("/v1/hotlist-entries", json=missing, headers=hl.manager)
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.2(c)"
    assert "offense class" in resp.json()["detail"]

    felony = hl.entry_body(lst["id"], "WAR0001", offense_class="second_degree_felony", **base)
    assert (
        await client.post("/v1/hotlist-entries", json=felony, headers=hl.manager)
    ).status_code == 201
    class_a = hl.entry_body(lst["id"], "WAR0002", offense_class="class_a_misdemeanor", **base)
    assert (
        await client.post("/v1/hotlist-entries", json=class_a, headers=hl.manager)
    ).status_code == 201

    class_b = hl.entry_body(lst["id"], "WAR0003", offense_class="class_b_misdemeanor", **base)
    resp = await client.post("/v1/hotlist-entries", json=class_b, headers=hl.manager)
    assert resp.status_code == 422
    assert resp.json()["clause"] == "344.2(c)"
    assert "below Class A" in resp.json()["detail"]


@pytest.mark.policy("344.4(a)5")
async def test_class_c_and_revenue_entries_are_forbidden(hl, client):
    lst = await hl.hotlist()
    class_c = hl.entry_body(
        lst["id"],
        "WAR0004",
        entry_type="warrant",
        manual_reason="warrant_class_a_or_greater",
        offense_class="class_c_misdemeanor",
        reason="Speeding ticket warrant",
    )
    resp = await client.post("/v1/hotlist-entries", json=class_c, headers=hl.manager)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(a)5"

    tolls = hl.entry_body(lst["id"], "TOL0001", reason="Owner has unpaid tolls")
    resp = await client.post("/v1/hotlist-entries", json=tolls, headers=hl.manager)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(a)5"

    roundup = hl.entry_body(
        lst["id"],
        "RND0001",
        manual_reason_text="for the warrant round-up operation next week",
    )
    resp = await client.post("/v1/hotlist-entries", json=roundup, headers=hl.manager)
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(a)5"
    assert await hl.audit_events("hotlist.entry_created") == []


@pytest.mark.policy("344.2(c)")
async def test_entry_types_are_the_policy_categories(hl, client):
    lst = await hl.hotlist()
    body = hl.entry_body(lst["id"], "SEX0001", entry_type="sex_offender")
    resp = await client.post("/v1/hotlist-entries", json=body, headers=hl.manager)
    assert resp.status_code == 422
    amber = await hl.entry(
        lst["id"],
        "AMB0001",
        entry_type="amber_alert",
        manual_reason="amber_alert",
        reason="Amber alert 26-AA-3, child abducted",
    )
    assert amber["missing_endangered"] is True


async def test_entry_update_rechecks_policy_and_is_attributed(hl, client, tokens):
    lst = await hl.hotlist()
    entry = await hl.entry(lst["id"], "UPD0001")
    resp = await client.patch(
        f"/v1/hotlist-entries/{entry['id']}",
        json={"reason": "Stolen vehicle, owner owes past-due fines"},
        headers=hl.manager,
    )
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.4(a)5"

    resp = await client.patch(
        f"/v1/hotlist-entries/{entry['id']}",
        json={"notes": "Black pickup, damaged tailgate", "expires_at": later(days=20)},
        headers=hl.manager,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["notes"] == "Black pickup, damaged tailgate"

    too_long = await client.patch(
        f"/v1/hotlist-entries/{entry['id']}",
        json={"expires_at": later(days=45)},
        headers=hl.manager,
    )
    assert too_long.status_code == 422

    other = tokens.headers("rtcc_operator", subject="user:someone-else")
    resp = await client.patch(
        f"/v1/hotlist-entries/{entry['id']}", json={"notes": "x"}, headers=other
    )
    assert resp.status_code == 403
    assert resp.json()["type"] == problem_type("NotYourEntry")

    [updated] = await hl.audit_events("hotlist.entry_updated")
    assert updated["data"]["before"]["notes"] == ""
    assert updated["data"]["after"]["notes"] == "Black pickup, damaged tailgate"


async def test_removed_entry_is_kept_and_stops_matching(hl, client):
    lst = await hl.hotlist()
    entry = await hl.entry(lst["id"], "DEL0001")
    resp = await client.delete(
        f"/v1/hotlist-entries/{entry['id']}",
        params={"reason": "vehicle recovered"},
        headers=hl.manager,
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "removed"
    assert resp.json()["matching"] is False
    assert resp.json()["removal_reason"] == "vehicle recovered"
    await hl.post_reads([hl.read("DEL0001")])
    assert await hl.alerts() == []
    again = await client.delete(f"/v1/hotlist-entries/{entry['id']}", headers=hl.manager)
    assert again.status_code == 409
    [event] = await hl.audit_events("hotlist.entry_removed")
    assert event["data"]["reason"] == "vehicle recovered"


async def test_entries_are_listed_and_filtered(hl, client):
    lst = await hl.hotlist()
    await hl.entry(lst["id"], "FLT0001")
    await hl.entry(lst["id"], "FLT0002")
    resp = await client.get("/v1/hotlist-entries", params={"plate": "flt-0002"}, headers=hl.rtcc)
    assert [e["plate"] for e in resp.json()["items"]] == ["FLT0002"]
    resp = await client.get(
        "/v1/hotlist-entries", params={"hotlist_id": lst["id"], "limit": 1}, headers=hl.rtcc
    )
    first = resp.json()
    assert [e["plate"] for e in first["items"]] == ["FLT0002"]  # newest first
    assert first["next"] == f"?hotlist_id={lst['id']}&limit=1&cursor={first['next_cursor']}"
    resp = await client.get(f"/v1/hotlist-entries{first['next']}", headers=hl.rtcc)
    assert [e["plate"] for e in resp.json()["items"]] == ["FLT0001"]
    assert resp.json()["next"] is None
    retired = await client.delete(f"/v1/hotlists/{lst['id']}", headers=hl.manager)
    assert retired.status_code == 200
    resp = await client.get(
        "/v1/hotlist-entries",
        params={"hotlist_id": lst["id"], "status": "active"},
        headers=hl.rtcc,
    )
    assert resp.json()["items"] == []
    refused = await client.post(
        "/v1/hotlist-entries", json=hl.entry_body(lst["id"], "FLT0003"), headers=hl.manager
    )
    assert refused.status_code == 409
