"""The quarterly report of 344.6(b) over a seeded synthetic quarter (conftest.py): the events
posted out of order and partly twice, the report's figures equal the ones computed from the
synthetic truth, item by item; a later purge changes nothing; the CSV and HTML formats carry the
same items; who may read the report and record policy changes."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, date, datetime

import pytest


@pytest.mark.policy("344.6(b)1")
async def test_item_1_plates_scanned_equal_the_scan_counters(quarter):
    _t, report, want_all = quarter
    want, item = want_all[1], report["plates_scanned"]
    assert (item["item"], item["clause"]) == (1, "344.6(b)1")
    assert item["plates_scanned"] == want["plates_scanned"] > 0
    assert item["by_camera_type"] == want["by_camera_type"]
    assert item["by_sector"] == want["by_sector"]
    assert sum(w["scans"] for w in item["by_week"]) == want["plates_scanned"]
    assert sum(w["hits"] for w in item["by_week"]) == want_all[9]["hits"]


@pytest.mark.policy("344.6(b)2")
async def test_item_2_matches_confirmed_and_not_correlated_per_list(quarter):
    _t, report, want_all = quarter
    want, item = want_all[2], report["matches_per_list"]
    assert item["clause"] == "344.6(b)2"
    assert (item["matches"], item["confirmed"], item["not_correlated"]) == (
        want["matches"],
        want["confirmed"],
        want["not_correlated"],
    )
    assert item["lists"] == want["lists"]
    assert item["lists_checked"] == sorted(x["hotlist_name"] for x in want["lists"])
    assert item["not_correlated_by_reason"] == want["not_correlated_by_reason"]
    assert want["confirmed"] and want["not_correlated"]


@pytest.mark.policy("344.6(b)3")
async def test_item_3_matches_resulting_in_arrest_prosecution_or_location(quarter):
    _t, report, want_all = quarter
    want, item = want_all[3], report["match_outcomes"]
    assert item["clause"] == "344.6(b)3"
    got = {k: item[k] for k in want}
    assert got == want
    assert item["total"] == sum(want.values()) > 0
    per_list = {x["hotlist_name"]: x["arrest"] for x in item["lists"]}
    assert sum(per_list.values()) == want["arrests"]


@pytest.mark.policy("344.6(b)4")
async def test_item_4_preservation_requests_governmental_versus_defendant(quarter):
    _t, report, want_all = quarter
    want, item = want_all[4], report["preservation_requests"]
    assert item["clause"] == "344.6(b)4"
    assert {k: item[k] for k in want} == want
    assert item["other"] == item["received"] - item["governmental"] - item["defendant"]


@pytest.mark.policy("344.6(b)5")
async def test_item_5_sharing_requests_received_granted_denied_by_agency(quarter):
    _t, report, want_all = quarter
    want, item = want_all[5], report["sharing_requests"]
    assert item["clause"] == "344.6(b)5"
    assert (item["received"], item["granted"], item["denied"]) == (
        want["received"],
        want["granted"],
        want["denied"],
    )
    got = {a["agency"]: (a["received"], a["granted"], a["denied"]) for a in item["agencies"]}
    assert got == want["agencies"]


@pytest.mark.policy("344.6(b)6")
async def test_item_6_sharing_requests_resulting_in_arrest_prosecution_or_location(quarter):
    _t, report, want_all = quarter
    want, item = want_all[6], report["sharing_outcomes"]
    assert item["clause"] == "344.6(b)6"
    assert {k: item[k] for k in want} == want
    assert want["requests_with_outcome"] > 0


@pytest.mark.policy("344.6(b)7")
async def test_item_7_manual_entries_by_reason_and_matches_by_role(quarter):
    _t, report, want_all = quarter
    want, item = want_all[7], report["manual_entries"]
    assert item["clause"] == "344.6(b)7"
    assert item["manual_entries"] == want["manual_entries"] > 0
    assert item["by_reason"] == want["by_reason"]
    got = {
        r["role"]: {k: r[k] for k in ("entries", "matches", "confirmed", "not_correlated") if r[k]}
        for r in item["by_role"]
    }
    assert got == want["by_role"]


@pytest.mark.policy("344.6(b)8")
async def test_item_8_policy_changes_recorded_and_detected(quarter):
    _, report, _ = quarter
    item = report["policy_changes"]
    assert item["clause"] == "344.6(b)8"
    recorded = [c for c in item["changes"] if c["origin"] == "recorded"]
    automatic = [c for c in item["changes"] if c["origin"] == "automatic"]
    # Recorded in December, effective in August: in the third quarter by its effective date.
    assert [c["title"] for c in recorded] == ["Hold reviews every 90 days"]
    assert recorded[0]["recorded_by_name"] == "R. Manager"
    # The first purge reported 30 days (the baseline); the second, 21: one automatic entry.
    assert [(c["setting"], c["old_value"], c["new_value"]) for c in automatic] == [
        ("ingest.retention_days", "30", "21")
    ]


@pytest.mark.policy("344.6(b)9")
async def test_item_9_hits_by_zip_sector_and_camera_type(quarter):
    _t, report, want_all = quarter
    want, item = want_all[9], report["hits"]
    assert item["clause"] == "344.6(b)9"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(b)10", "344.4(g)")
async def test_item_10_detentions_without_investigation(quarter):
    _t, report, want_all = quarter
    want, item = want_all[10], report["detentions_without_investigation"]
    assert item["clause"] == "344.6(b)10"
    assert {k: item[k] for k in want} == want
    assert len(item["incidents"]) == want["without_investigation"] > 0
    assert all(i["data_gathered"] for i in item["incidents"])


@pytest.mark.policy("344.6(b)11")
async def test_item_11_race_and_gender_of_drivers_detained(quarter):
    _t, report, want_all = quarter
    want, item = want_all[11], report["drivers_detained"]
    assert item["clause"] == "344.6(b)11"
    assert {k: item[k] for k in want} == want
    assert sum(x["count"] for x in item["by_race_and_gender"]) == want["people"] > 0


@pytest.mark.policy("344.6(b)12")
async def test_item_12_race_and_gender_of_victims(quarter):
    _t, report, want_all = quarter
    want, item = want_all[12], report["victims"]
    assert item["clause"] == "344.6(b)12"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(b)13")
async def test_item_13_offenses_under_investigation(quarter):
    _t, report, want_all = quarter
    want, item = want_all[13], report["offenses"]
    assert item["clause"] == "344.6(b)13"
    assert {k: item[k] for k in want} == want


@pytest.mark.policy("344.6(a)", "344.4(d)")
async def test_a_purge_report_and_redelivery_change_no_past_quarter(
    quarter, purge, send, client, tokens
):
    _, before, _ = quarter
    later = datetime(2026, 11, 1, tzinfo=UTC)
    # ingest purges the quarter's reads (same retention: no policy change) and the relay
    # redelivers everything it sent; the quarter's report is the same.
    await send([purge(retention_days=21, at=later)])
    after = await client.get(
        "/v1/reports/quarterly",
        params={"quarter": "2026Q3"},
        headers=tokens.headers("city_auditor"),
    )
    assert after.status_code == 200
    before.pop("generated_at")
    body = after.json()
    body.pop("generated_at")
    assert body == before


@pytest.mark.policy("344.6(b)1", "344.6(b)9")
async def test_any_range_of_days_and_the_csv_and_html_formats(quarter, client, tokens):
    t, report, _want_all = quarter
    headers = tokens.headers("risk_management")
    july = await client.get(
        "/v1/reports/quarterly",
        params={"start": "2026-07-01", "end": "2026-07-31"},
        headers=headers,
    )
    assert july.status_code == 200
    want = sum(n for d, _, n in t.scans if date(2026, 7, 1) <= d <= date(2026, 7, 31))
    assert july.json()["plates_scanned"]["plates_scanned"] == want
    assert july.json()["period"]["quarter"] is None

    z = await client.get("/v1/reports/quarterly/csv", params={"quarter": "2026Q3"}, headers=headers)
    assert z.status_code == 200 and z.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(z.content))
    names = set(archive.namelist())
    assert {
        "summary.csv",
        "item02_lists.csv",
        "item09_by_zip_code.csv",
        "item05_agencies.csv",
    } <= names
    summary = archive.read("summary.csv").decode()
    assert (
        "1,344.6(b)1,License plates scanned,plates_scanned,"
        f"{report['plates_scanned']['plates_scanned']}" in summary
    )
    clauses = {line.split(",")[1] for line in summary.splitlines()[3:] if line}
    assert clauses == {f"344.6(b){n}" for n in range(1, 14)}

    page = await client.get(
        "/v1/reports/quarterly/html", params={"quarter": "2026Q3"}, headers=headers
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for n in range(1, 14):
        assert f'data-clause="344.6(b){n}"' in html
    for chart in (
        "trend-scans",
        "trend-hits",
        "outcomes-per-list",
        "hits-by-sector",
        "hits-by-zip",
    ):
        assert f'data-chart="{chart}"' in html
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.policy("344.6(c)")
async def test_the_report_is_read_by_auditors_and_the_chief_only(client, tokens):
    for role in ("city_auditor", "risk_management", "chief_of_police"):
        r = await client.get(
            "/v1/reports/quarterly", params={"quarter": "2026Q1"}, headers=tokens.headers(role)
        )
        assert r.status_code == 200, role
        assert r.json()["plates_scanned"]["plates_scanned"] == 0
    for role in ("officer", "investigator", "service"):
        r = await client.get(
            "/v1/reports/quarterly", params={"quarter": "2026Q1"}, headers=tokens.headers(role)
        )
        assert r.status_code == 403, role


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"quarter": "2026Q5"},
        {"quarter": "2026Q1", "start": "2026-01-01"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "2026-02-01"},
        {"start": "1900-01-01", "end": "1900-02-01"},
        {"start": "2000-01-01", "end": "2030-01-01"},
        {"quarter": "2026Q1", "page": "2"},
    ],
)
async def test_a_bad_period_is_a_422_naming_it(client, tokens, params):
    r = await client.get(
        "/v1/reports/quarterly", params=params, headers=tokens.headers("city_auditor")
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


@pytest.mark.policy("344.6(b)8", "344.6(c)")
async def test_policy_changes_are_recorded_by_risk_management_never_by_the_city_auditor(
    client, tokens
):
    body = {"effective_on": "2026-11-01", "title": "Retention 21 days", "summary": "Shorter."}
    r = await client.post("/v1/policy-changes", json=body, headers=tokens.headers("city_auditor"))
    assert r.status_code == 403
    r = await client.post(
        "/v1/policy-changes", json={**body, "title": ""}, headers=tokens.headers("risk_management")
    )
    assert r.status_code == 422
    r = await client.post(
        "/v1/policy-changes", json=body, headers=tokens.headers("chief_of_police")
    )
    assert r.status_code == 201
    change = r.json()
    got = await client.get(
        f"/v1/policy-changes/{change['id']}", headers=tokens.headers("city_auditor")
    )
    assert got.json() == change
    listed = await client.get(
        "/v1/policy-changes", params={"quarter": "2026Q4"}, headers=tokens.headers("city_auditor")
    )
    assert [c["id"] for c in listed.json()] == [change["id"]]
    listed = await client.get(
        "/v1/policy-changes", params={"quarter": "2026Q3"}, headers=tokens.headers("city_auditor")
    )
    assert listed.json() == []
    missing = await client.get("/v1/policy-changes/abc123", headers=tokens.headers("city_auditor"))
    assert missing.status_code == 404
