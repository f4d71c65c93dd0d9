"""Imports through the API: every importer format, atomic replacement of a source list as a new
version, held records reviewed by a hotlist manager (never activated silently), expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alpr_common.errors import problem_type
from alpr_hotlist.importers import parse

FIXTURE_FORMATS = [
    ("canonical", "hotlist_canonical_1.csv"),
    ("canonical", "hotlist_canonical_policy.csv"),
    ("tx_ncic", "hotlist_tx_ncic_1.csv"),
    ("tx_tcic", "hotlist_tx_tcic_1.csv"),
    ("ncic_fixed", "hotlist_ncic_fixed_1.txt"),
    ("genetec", "hotlist_genetec_1.csv"),
    ("genetec", "hotlist_genetec_tab_utf16.txt"),
    ("rekor", "hotlist_rekor_1.csv"),
]


async def entries_of(hl, hotlist_id, **params):
    resp = await hl.client.get(
        "/v1/hotlist-entries",
        params={"hotlist_id": hotlist_id, "limit": 500, **params},
        headers=hl.manager,
    )
    assert resp.status_code == 200, resp.text
    return {e["plate"]: e for e in resp.json()["items"]}


@pytest.mark.policy("344.2(c)")
async def test_canonical_example_imports_with_policy_holds(hl, fixtures):
    lst = await hl.hotlist("TX stolen (canonical)", source="tcic")
    resp = await hl.import_file(lst["id"], "canonical", fixtures.read("hotlist_canonical_1.csv"))
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert (report["added"], report["removed"], report["held"], report["error_count"]) == (
        3,
        0,
        3,
        0,
    )
    assert report["version"] == 1
    assert report["created_by"] == "user:mgr-1"

    active = await entries_of(hl, lst["id"], status="active")
    assert set(active) == {"PXK7342", "LMN4821", "JKQ551"}
    stolen = active["PXK7342"]
    assert stolen["record_id"] == "V904418273"
    assert stolen["region"] == "US-TX"
    assert stolen["origin"] == "import"
    assert stolen["import_id"] == report["id"]
    # The example's vehicle entry expired in 2025: kept, but it no longer matches.
    assert stolen["matching"] is False
    assert active["LMN4821"]["matching"] is True

    held = await hl.client.get(
        "/v1/held-entries", params={"import_id": report["id"]}, headers=hl.manager
    )
    by_plate = {e["plate"]: e for e in held.json()["items"]}
    assert set(by_plate) == {"BK4Z918", "HJV2058", "GZW5108"}
    assert by_plate["BK4Z918"]["held_clause"] == "344.2(c)"
    assert "Class A" in by_plate["BK4Z918"]["held_reason"]
    assert by_plate["GZW5108"]["held_clause"] == "344.6(b)7"
    assert all(e["matching"] is False for e in by_plate.values())

    [event] = await hl.audit_events("hotlist.import_applied")
    assert event["data"]["added"] == 3
    assert {h["plate"] for h in event["data"]["held_records"]} == set(by_plate)


@pytest.mark.policy("344.2(c)")
async def test_texas_ncic_example_imports(hl, fixtures):
    lst = await hl.hotlist("TX NCIC", source="ncic", import_format="tx_ncic")
    resp = await hl.client.post(
        "/v1/hotlist-imports",
        params={"hotlist_id": lst["id"]},  # the list's own import format
        content=fixtures.read("hotlist_tx_ncic_1.csv"),
        headers={**hl.manager, "Content-Type": "text/plain"},
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["format"] == "tx_ncic"
    assert (report["added"], report["held"], report["error_count"]) == (3, 2, 0)
    active = await entries_of(hl, lst["id"], status="active")
    assert set(active) == {"PXK7342", "LMN4821", "JKQ551"}
    assert active["JKQ551"]["region"] == "US-OK"  # "0K" fixed to OK
    assert active["PXK7342"]["matching"] is True  # NCIC records carry no expiry

    await hl.post_reads([hl.read("JKQ551", region="US-OK")])
    [alert] = await hl.alerts()
    assert alert["hotlist_name"] == "TX NCIC"
    assert alert["entry_record_id"] == "V903381020"


@pytest.mark.parametrize(("fmt", "name"), FIXTURE_FORMATS)
async def test_every_format_imports_through_the_api(hl, fixtures, fmt, name):
    data = fixtures.read(name)
    expected = parse(fmt, data)
    lst = await hl.hotlist(f"{fmt} {name}", source="agency")
    resp = await hl.import_file(lst["id"], fmt, data)
    assert resp.status_code == 201, resp.text
    report = resp.json()
    assert report["added"] == len(expected.accepted)
    assert report["held"] == len(expected.held)
    assert report["error_count"] == len(expected.errors)
    assert [e["row"] for e in report["errors"]] == [e.row for e in expected.errors]
    active = await entries_of(hl, lst["id"], status="active")
    assert set(active) == {e.plate for e in expected.accepted}
    held = await entries_of(hl, lst["id"], status="held")
    assert {p: e["held_clause"] for p, e in held.items()} == {
        h.entry.plate: h.clause for h in expected.held
    }


async def test_import_replaces_the_list_atomically_as_a_new_version(hl):
    lst = await hl.hotlist("agency list", source="agency")
    header = (
        "plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,expiration_date,source"
    )
    v1 = "\n".join(
        [
            header,
            "AAA1111,TX,stolen_vehicle,V,Stolen vehicle,V1,TX2279900,2026-11-01,,NCIC",
            "BBB2222,TX,stolen_vehicle,V,Stolen vehicle,V2,TX2279900,2026-11-01,,NCIC",
            "CCC3333,TX,stolen_plate,P,Stolen plate,P3,TX2279900,2026-11-01,,NCIC",
            "WAR9999,TX,wanted_person,W,Felony warrant,W9,TX2279900,2026-11-01,,NCIC",
        ]
    ).encode()
    first = (await hl.import_file(lst["id"], "canonical", v1)).json()
    assert (first["added"], first["removed"], first["unchanged"], first["held"]) == (3, 0, 0, 1)
    before = await entries_of(hl, lst["id"], status="active")

    v2 = "\n".join(
        [
            header,
            "AAA1111,TX,stolen_vehicle,V,Stolen vehicle,V1,TX2279900,2026-11-01,,NCIC",
            "CCC3333,TX,stolen_plate,P,Stolen plate (both plates),P3,TX2279900,2026-11-01,,NCIC",
            "DDD4444,TX,stolen_vehicle,V,Stolen vehicle,V4,TX2279900,2026-11-02,,NCIC",
        ]
    ).encode()
    resp = await hl.import_file(lst["id"], "canonical", v2)
    second = resp.json()
    assert second["version"] == 2
    # CCC3333 changed: its old record is removed and the new one added.
    assert (second["added"], second["removed"], second["unchanged"], second["held"]) == (2, 2, 1, 0)
    after = await entries_of(hl, lst["id"], status="active")
    assert set(after) == {"AAA1111", "CCC3333", "DDD4444"}
    assert after["AAA1111"]["id"] == before["AAA1111"]["id"]  # unchanged records stay put
    assert after["CCC3333"]["reason"] == "Stolen plate (both plates)"
    removed = await entries_of(hl, lst["id"], status="removed")
    assert set(removed) == {"BBB2222", "CCC3333"}
    assert removed["BBB2222"]["removal_reason"].startswith(f"not in import {second['id']}")
    superseded = await entries_of(hl, lst["id"], status="superseded")
    assert set(superseded) == {"WAR9999"}

    await hl.post_reads([hl.read("BBB2222"), hl.read("DDD4444", camera_id="cam-2")])
    assert [a["plate"] for a in await hl.alerts()] == ["DDD4444"]
    got = await hl.client.get(f"/v1/hotlists/{lst['id']}", headers=hl.manager)
    assert got.json()["version"] == 2
    assert got.json()["active_entries"] == 3


@pytest.mark.policy("344.2(c)")
async def test_held_record_is_approved_only_after_the_policy_check(hl, fixtures):
    lst = await hl.hotlist("canonical", source="tcic")
    report = (
        await hl.import_file(lst["id"], "canonical", fixtures.read("hotlist_canonical_1.csv"))
    ).json()
    held = await entries_of(hl, lst["id"], status="held")
    warrant = held["BK4Z918"]

    plain = await hl.client.post(
        f"/v1/held-entries/{warrant['id']}/approval",
        json={"note": "checked with the warrant office"},
        headers=hl.manager,
    )
    assert plain.status_code == 422
    assert plain.json()["clause"] == "344.2(c)"

    class_b = await hl.client.post(
        f"/v1/held-entries/{warrant['id']}/approval",
        json={
            "note": "re-classified",
            "entry_type": "warrant",
            "offense_class": "class_b_misdemeanor",
        },
        headers=hl.manager,
    )
    assert class_b.status_code == 422
    assert "below Class A" in class_b.json()["detail"]

    by_rtcc = await hl.client.post(
        f"/v1/held-entries/{warrant['id']}/approval",
        json={"note": "x", "entry_type": "warrant", "offense_class": "second_degree_felony"},
        headers=hl.tokens.headers("rtcc_operator"),
    )
    assert by_rtcc.status_code == 403

    ok = await hl.client.post(
        f"/v1/held-entries/{warrant['id']}/approval",
        json={
            "note": "NCIC confirms aggravated assault, F2",
            "entry_type": "warrant",
            "offense_class": "second_degree_felony",
        },
        headers=hl.manager,
    )
    assert ok.status_code == 200, ok.text
    approved = ok.json()
    assert (approved["status"], approved["entry_type"], approved["matching"]) == (
        "active",
        "warrant",
        True,
    )
    assert approved["reviewed_by"] == "user:mgr-1"
    assert approved["review_note"] == "NCIC confirms aggravated assault, F2"

    await hl.post_reads([hl.read("BK4Z918")])
    [alert] = await hl.alerts()
    assert alert["entry_type"] == "warrant"
    assert alert["offense_class"] == "second_degree_felony"

    [event] = await hl.audit_events("hotlist.held_entry_approved")
    assert event["data"]["before"]["held_clause"] == "344.2(c)"
    assert event["data"]["offense_class"] == "second_degree_felony"
    assert report["held"] == 3


async def test_expired_held_record_needs_a_new_expiry_and_rejection_is_kept(hl, fixtures):
    lst = await hl.hotlist("canonical", source="tcic")
    await hl.import_file(lst["id"], "canonical", fixtures.read("hotlist_canonical_1.csv"))
    held = await entries_of(hl, lst["id"], status="held")
    missing = held["HJV2058"]  # "missing_person" (not a 344.2(c) type), expired in March 2025

    resp = await hl.client.post(
        f"/v1/held-entries/{missing['id']}/approval",
        json={"note": "Amber alert issued", "entry_type": "amber_alert"},
        headers=hl.manager,
    )
    assert resp.status_code == 422
    assert resp.json()["type"] == problem_type("ExpiryRefused")
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    resp = await hl.client.post(
        f"/v1/held-entries/{missing['id']}/approval",
        json={"note": "Amber alert issued", "entry_type": "amber_alert", "expires_at": later},
        headers=hl.manager,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["missing_endangered"] is True

    bolo = held["GZW5108"]
    resp = await hl.client.post(
        f"/v1/held-entries/{bolo['id']}/rejection",
        json={"note": "no case number behind this BOLO"},
        headers=hl.manager,
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "rejected"
    again = await hl.client.post(
        f"/v1/held-entries/{bolo['id']}/approval", json={"note": "x"}, headers=hl.manager
    )
    assert again.status_code == 409
    assert [e["type"] for e in await hl.audit_events("hotlist.held_entry_")] == [
        "hotlist.held_entry_approved",
        "hotlist.held_entry_rejected",
    ]


async def test_entry_stops_matching_at_its_expiry_instant(hl):
    lst = await hl.hotlist()
    expires = datetime.now(UTC) + timedelta(hours=2)
    await hl.entry(lst["id"], "EXP0001", expires_at=expires.isoformat())
    just_before = hl.read("EXP0001", captured_at=(expires - timedelta(milliseconds=1)).isoformat())
    at_expiry = hl.read("EXP0001", camera_id="cam-2", captured_at=expires.isoformat())
    await hl.post_reads([just_before, at_expiry])
    alerts = await hl.alerts()
    assert [a["first_read_id"] for a in alerts] == [just_before["read_id"]]


async def test_bad_files_and_parameters_are_refused_with_the_reason(hl, fixtures, app):
    lst = await hl.hotlist()
    resp = await hl.import_file(lst["id"], "canonical", fixtures.read("bad_header_typo.csv"))
    assert resp.status_code == 422
    assert resp.json()["type"] == problem_type("MalformedImport")
    assert "expiration_date" in resp.json()["detail"]

    resp = await hl.import_file(lst["id"], "vigilant", b"x")
    assert resp.status_code == 422

    resp = await hl.client.post(
        "/v1/hotlist-imports",
        params={"hotlist_id": lst["id"]},
        content=b"x",
        headers=hl.manager,
    )
    assert resp.status_code == 422
    assert "format" in resp.json()["detail"]

    resp = await hl.import_file(lst["id"], "canonical", b"x", timezone="Mars/Olympus")
    assert resp.status_code == 422

    app.state.settings.max_import_bytes = 1024
    resp = await hl.import_file(lst["id"], "canonical", b"x" * 2048)
    assert resp.status_code == 413

    resp = await hl.import_file("nope", "canonical", b"x")
    assert resp.status_code == 404
    listed = await hl.client.get("/v1/hotlist-imports", headers=hl.manager)
    assert listed.json()["total"] == 0


async def test_imported_manual_record_can_be_updated(hl, fixtures):
    lst = await hl.hotlist("policy file", source="agency")
    await hl.import_file(lst["id"], "canonical", fixtures.read("hotlist_canonical_policy.csv"))
    active = await entries_of(hl, lst["id"], status="active")
    silver = active["SLV0917"]  # a MANUAL record with its reason code, imported
    resp = await hl.client.patch(
        f"/v1/hotlist-entries/{silver['id']}",
        json={"notes": "Gold sedan, elderly driver"},
        headers=hl.manager,
    )
    assert resp.status_code == 200, resp.text
