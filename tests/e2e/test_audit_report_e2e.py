"""Issue 15 end to end, over real HTTP between real processes, everything through the gateway: a
camera's reads (some from two days ago), manual hot-list entries, alerts verified to their
outcomes (an arrest, a match that did not correlate, a wrong vehicle with its 344.4(g) report) and
a recorded policy change; audit's report for the days covered moves by exactly what this test
did, item by item, as computed here. Then ingest purges the old reads, and the report is the
same: it reads audit's own counters, never the reads.

The suite is shared with the other end-to-end tests, so the figures are compared as the change
between a report taken before and one taken after."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from alpr_common.suite import Suite
from tests.helpers.e2e import PASSWORD, create_person, eventually, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


CSO_PASSWORD = "silver-lantern-quarter-44"
CAMERA = "e2e-audit-trailer-1"
LIST_NAME = "E2E audit BOLO list"
RTCC_PURPOSE = {
    "X-ALPR-Purpose": "alert_response",
    "X-ALPR-Case": "RTCC-2026-0815",
    "X-ALPR-Reason": "monitoring hot-list alerts on the RTCC console",
}
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "RM-2026-Q4",
    "X-ALPR-Reason": "quarterly audit report (GO 344.6)",
}
ARREST, MISMATCH, WRONG = "AUDA001", "AUDA002", "AUDA003"
OLD_PLATES = [f"AUDO{n:03d}" for n in range(7)]


class People:
    def __init__(self, gateway: httpx.Client) -> None:
        self.gateway = gateway
        self.users: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, dict[str, str]] = {}

    def __call__(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            person = self.users[who]
            self.tokens[who] = login(self.gateway, person["username"], PASSWORD, person["totp"])
        return self.tokens[who]


def _people(suite: Suite, gateway: httpx.Client) -> tuple[People, dict[str, str]]:
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "cso-audit",
        "--full-name",
        "Audit CSO",
        "--badge",
        "9015",
        "--password-stdin",
        "--allow-additional",
        input_text=CSO_PASSWORD + "\n",
    )
    cso = login(gateway, "cso-audit", CSO_PASSWORD, json.loads(out)["totp_secret"])
    people = People(gateway)
    roles = {
        "au-trainer": "training_coordinator",
        "au-admin": "admin",
        "au-manager": "hotlist_manager",
        "au-rtcc": "rtcc_operator",
        "au-ofc-a": "officer",
        "au-ofc-b": "officer",
        "au-risk": "risk_management",
        "au-auditor": "city_auditor",
    }
    for username, role in roles.items():
        people.users[username] = create_person(gateway, cso, username, role)
    for username in roles:
        if username != "au-trainer":
            record_training(
                gateway,
                people("au-trainer"),
                people.users[username]["id"],
                datetime.now(UTC) - timedelta(days=1),
            )
    return people, cso


def _post_read(gateway: httpx.Client, key: str, plate: str, at: datetime) -> None:
    message = {
        "hook": {"target": "https://alpr.example.gov/ingest", "id": 17, "event": "image.done"},
        "data": {
            "timestamp": at.isoformat(),
            "camera_id": CAMERA,
            "results": [{"plate": plate.lower(), "region": {"code": "us-tx"}, "score": 0.93}],
        },
    }
    r = gateway.post(
        "/v1/ingest/vendor-reads/platerecognizer",
        json=message,
        headers={"X-ALPR-Ingest-Key": key},
    )
    assert r.status_code in (200, 201), r.text


def _report(gateway: httpx.Client, headers: dict[str, str], start: date, end: date) -> dict:
    r = gateway.get(
        "/v1/audit/reports/quarterly",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    body = dict(r.json())
    body.pop("generated_at")
    return body


def _counts(items: list[dict[str, Any]]) -> dict[str, int]:
    return {c["key"]: c["count"] for c in items}


def _delta(after: list[dict[str, Any]], before: list[dict[str, Any]]) -> dict[str, int]:
    a, b = _counts(after), _counts(before)
    return {k: a.get(k, 0) - b.get(k, 0) for k in a.keys() | b.keys() if a.get(k, 0) != b.get(k, 0)}


@pytest.mark.timeout(900)
@pytest.mark.policy("344.6(b)1", "344.6(b)2", "344.6(b)3", "344.6(b)7", "344.6(b)8")
@pytest.mark.policy("344.6(b)9", "344.6(b)10", "344.6(b)11", "344.6(b)12", "344.6(b)13")
def test_the_report_counts_what_happened_through_the_suite_and_survives_the_purge(
    suite: Suite, gateway: httpx.Client
) -> None:
    people, cso = _people(suite, gateway)
    auditor = people("au-auditor")
    today = datetime.now(UTC).date()
    start, end = today - timedelta(days=3), today
    before = _report(gateway, auditor, start, end)

    r = gateway.post(
        "/v1/ingest/cameras",
        headers=people("au-admin"),
        json={
            "id": CAMERA,
            "name": "Trailer at Congress and 6th",
            "vendor": "platerecognizer",
            "camera_type": "trailer",
            "location": {"lat": 30.2686, "lon": -97.7430},
        },
    )
    assert r.status_code == 201, r.text
    zip_code, sector = r.json()["zip_code"] or "unknown", r.json()["sector"] or "unknown"
    r = gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": "e2e audit trailer", "kind": "camera", "cameras": [CAMERA]},
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=cso,
        json={"client_id": r.json()["client"]["id"], "label": "e2e audit"},
    )
    assert r.status_code == 201, r.text
    ingest_key = r.json()["key"]

    manager = people("au-manager")
    r = gateway.post(
        "/v1/hotlist/hotlists",
        headers=manager,
        json={"name": LIST_NAME, "source": "ncic", "import_format": "canonical"},
    )
    assert r.status_code == 201, r.text
    hotlist_id = r.json()["id"]
    reasons = {
        ARREST: "stolen_vehicle_pending_ncic",
        MISMATCH: "stolen_vehicle_pending_ncic",
        WRONG: "amber_alert",
    }
    for plate, reason in reasons.items():
        r = gateway.post(
            "/v1/hotlist/hotlist-entries",
            headers=manager,
            json={
                "hotlist_id": hotlist_id,
                "plate": plate,
                "region": "US-TX",
                "entry_type": "amber_alert" if reason == "amber_alert" else "stolen_vehicle",
                "reason": "Reported this morning, report 26-0915",
                "manual_reason": reason,
                "manual_reason_text": "Report taken; the state entry is still pending",
                "expires_at": (datetime.now(UTC) + timedelta(days=5)).isoformat(),
            },
        )
        assert r.status_code == 201, r.text

    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    for n, plate in enumerate(OLD_PLATES):
        # A second apart: one camera's reads at one instant are one read (a preview and its final).
        _post_read(gateway, ingest_key, plate, two_days_ago + timedelta(seconds=n))
    for n, plate in enumerate(reasons):
        _post_read(gateway, ingest_key, plate, datetime.now(UTC) - timedelta(seconds=10 - n))

    rtcc = {**people("au-rtcc"), **RTCC_PURPOSE}

    def alert_of(plate: str) -> str | None:
        r = gateway.get(
            "/v1/hotlist/alerts",
            params={"hotlist_id": hotlist_id, "plate": plate, "limit": 50},
            headers=rtcc,
        )
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        return str(items[0]["id"]) if items else None

    alerts = {plate: eventually(lambda p=plate: alert_of(p)) for plate in reasons}
    ofc_a, ofc_b = people("au-ofc-a"), people("au-ofc-b")

    def step(plate: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict:
        r = gateway.post(f"/v1/hotlist/alerts/{alerts[plate]}/{path}", json=body, headers=headers)
        assert r.status_code == 201, r.text
        return dict(r.json())

    ncic = {"system": "ncic_tcic", "still_valid": True, "reference": "QV 26-7001"}
    for plate in reasons:
        step(plate, "acknowledgements", rtcc, {})
    step(MISMATCH, "visual-confirmations", ofc_a, {"matches": False})
    for plate, race, gender, offense, outcome in (
        (ARREST, "white", "male", "Unauthorized use of a motor vehicle", "arrest"),
        (WRONG, "black", "female", "Kidnapping (Amber alert)", "wrong_vehicle"),
    ):
        step(plate, "visual-confirmations", ofc_a, {"matches": True})
        step(plate, "ncic-confirmations", ofc_a, ncic)
        step(plate, "second-officer-verifications", ofc_b, {"matches": True})
        step(plate, "enforcement-actions", ofc_a, {"action": "traffic_stop"})
        step(
            plate,
            "outcomes",
            ofc_a,
            {
                "outcome": outcome,
                "offense": offense,
                "driver_race": race,
                "driver_gender": gender,
                "victim_race": "not_applicable",
                "victim_gender": "not_applicable",
            },
        )
    r = gateway.post(
        "/v1/hotlist/wrong-vehicle-incidents",
        headers=ofc_a,
        json={
            "alert_id": alerts[WRONG],
            "cause": "swapped_plate",
            "description": "The plate was swapped onto a different car of the same model.",
            "data_gathered": "Driver's licence checked, registration viewed, no search.",
            "resulted_in_investigation": False,
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/audit/policy-changes",
        headers=people("au-risk"),
        json={
            "effective_on": today.isoformat(),
            "title": "E2E: shorter retention of reads",
            "summary": "Reads are purged after 21 days instead of 30.",
        },
    )
    assert r.status_code == 201, r.text
    policy_id = r.json()["id"]

    reads = len(OLD_PLATES) + len(reasons)

    def settled() -> dict | None:
        now = _report(gateway, auditor, start, end)
        scanned = (
            now["plates_scanned"]["plates_scanned"] - before["plates_scanned"]["plates_scanned"]
        )
        incidents = (
            now["detentions_without_investigation"]["wrong_vehicle_incidents"]
            - before["detentions_without_investigation"]["wrong_vehicle_incidents"]
        )
        lists = {x["hotlist_name"]: x for x in now["match_outcomes"]["lists"]}
        done = LIST_NAME in lists and lists[LIST_NAME]["wrong_vehicle"] == 1
        progress[:] = [scanned, incidents, lists.get(LIST_NAME)]
        print("settling:", progress, flush=True)
        return now if scanned == reads and incidents == 1 and done else None

    progress: list[Any] = []
    try:
        after = eventually(settled, seconds=90, step=2)
    except AssertionError:
        raise AssertionError(f"report not settled: (scanned, incidents, list) = {progress}")

    # 1: plates scanned, by camera type.
    scans_after, scans_before = after["plates_scanned"], before["plates_scanned"]
    assert _delta(scans_after["by_camera_type"], scans_before["by_camera_type"]) == {
        "trailer": reads
    }
    # 2: this list's matches, confirmed, not correlated (the mismatch and the wrong vehicle).
    [mine] = [x for x in after["matches_per_list"]["lists"] if x["hotlist_name"] == LIST_NAME]
    assert (mine["matches"], mine["confirmed"], mine["not_correlated"]) == (3, 1, 2)
    assert LIST_NAME in after["matches_per_list"]["lists_checked"]
    # 3: one arrest from this list.
    [outcomes] = [x for x in after["match_outcomes"]["lists"] if x["hotlist_name"] == LIST_NAME]
    assert (outcomes["arrest"], outcomes["wrong_vehicle"]) == (1, 1)
    assert after["match_outcomes"]["arrests"] - before["match_outcomes"]["arrests"] == 1
    # 7: three manual entries by reason; their matches by the entering role.
    assert (
        after["manual_entries"]["manual_entries"] - before["manual_entries"]["manual_entries"] == 3
    )
    assert _delta(after["manual_entries"]["by_reason"], before["manual_entries"]["by_reason"]) == {
        "stolen_vehicle_pending_ncic": 2,
        "amber_alert": 1,
    }
    role_after = {r["role"]: r for r in after["manual_entries"]["by_role"]}["hotlist_manager"]
    role_before = {r["role"]: r for r in before["manual_entries"]["by_role"]}.get(
        "hotlist_manager", dict.fromkeys(role_after, 0)
    )
    assert {
        k: role_after[k] - role_before[k]
        for k in ("entries", "matches", "confirmed", "not_correlated")
    } == {
        "entries": 3,
        "matches": 3,
        "confirmed": 1,
        "not_correlated": 2,
    }
    # 8: the recorded policy change.
    assert policy_id in [c["id"] for c in after["policy_changes"]["changes"]]
    # 9: three hits at the camera's zip code and sector, on a trailer.
    assert after["hits"]["hits"] - before["hits"]["hits"] == 3
    assert _delta(after["hits"]["by_zip_code"], before["hits"]["by_zip_code"]) == {zip_code: 3}
    assert _delta(after["hits"]["by_sector"], before["hits"]["by_sector"]) == {sector: 3}
    hits_after, hits_before = after["hits"], before["hits"]
    assert _delta(hits_after["by_camera_type"], hits_before["by_camera_type"]) == {"trailer": 3}
    # 10: the wrong-vehicle detention that led to no investigation.
    d10a, d10b = (
        after["detentions_without_investigation"],
        before["detentions_without_investigation"],
    )
    assert d10a["without_investigation"] - d10b["without_investigation"] == 1
    assert _delta(d10a["by_cause"], d10b["by_cause"]) == {"swapped_plate": 1}
    # 11-13: two drivers detained, their victims' fields, the offenses.
    drivers_after, drivers_before = after["drivers_detained"], before["drivers_detained"]
    assert _delta(drivers_after["by_race"], drivers_before["by_race"]) == {"white": 1, "black": 1}
    assert _delta(drivers_after["by_gender"], drivers_before["by_gender"]) == {
        "male": 1,
        "female": 1,
    }
    assert _delta(after["victims"]["by_race"], before["victims"]["by_race"]) == {
        "not_applicable": 2
    }
    assert _delta(after["offenses"]["by_offense"], before["offenses"]["by_offense"]) == {
        "Unauthorized use of a motor vehicle": 1,
        "Kidnapping (Amber alert)": 1,
    }

    # ingest purges the reads of two days ago (retention set to one day for this run)...
    risk = {**people("au-risk"), **AUDIT_PURPOSE}

    def purges() -> int:
        r = gateway.get(
            "/v1/audit/log-entries", params={"type": "ingest.purge", "limit": 500}, headers=risk
        )
        assert r.status_code == 200, r.text
        return len(r.json()["items"])

    purged_before = purges()
    suite.extra_env["INGEST_RETENTION_DAYS"] = "1"
    try:
        suite.command("ingest", "purge")
    finally:
        del suite.extra_env["INGEST_RETENTION_DAYS"]
    eventually(lambda: purges() > purged_before)
    r = gateway.get(
        "/v1/ingest/reads",
        params={"plate": OLD_PLATES[0]},
        headers={**people("au-risk"), **AUDIT_PURPOSE},
    )
    if r.status_code == 200:
        assert r.json()["total"] == 0
    # ... and the report over the same days is the same (item 8 may gain the automatic entry
    # of the retention change, if audit had seen another retention before).
    again = _report(gateway, auditor, start, end)
    changes = again.pop("policy_changes")
    automatic = [c for c in changes["changes"] if c["id"] not in
                 {x["id"] for x in after["policy_changes"]["changes"]}]  # fmt: skip
    assert all(c["origin"] == "automatic" for c in automatic)
    after.pop("policy_changes")
    # The findings beyond the 13 come from the transaction log, which this test's own audit
    # queries just grew; the 13 items come from the counters the purge must not touch.
    again.pop("beyond")
    after.pop("beyond")
    assert again == after
