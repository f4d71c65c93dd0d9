"""The random audit and the City Auditor over real HTTP through the gateway (344.6(a),
344.6(c)): an investigator's queries reach audit's log; Risk Management draws a seeded sample
of them and a reviewer records a finding, never the investigator; the City Auditor reads the
audit data, is not refused as a release, and every read is itself logged; it changes nothing.
A fixed camera registered at ingest shows in audit's equity report (344.3.2(c))."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alpr_common.suite import Suite
from tests.helpers.e2e import PASSWORD, create_person, eventually, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CSO_PASSWORD = "amber-kettle-drifting-31"
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "RM-2026-Q4-E2E",
    "X-ALPR-Reason": "quarterly random audit of system use",
}
SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-0777",
    "X-ALPR-Reason": "vehicle seen leaving an aggravated robbery",
}


@pytest.fixture(scope="module")
def people(suite: Suite, gateway: httpx.Client) -> dict[str, dict]:
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "cso-review",
        "--full-name",
        "Review CSO",
        "--badge",
        "9055",
        "--password-stdin",
        "--allow-additional",
        input_text=CSO_PASSWORD + "\n",
    )
    cso = login(gateway, "cso-review", CSO_PASSWORD, json.loads(out)["totp_secret"])
    roles = {
        "rv-trainer": "training_coordinator",
        "rv-ivy": "investigator",
        "rv-rita": "risk_management",
        "rv-ray": "risk_management",
        "rv-cathy": "city_auditor",
        "rv-adam": "admin",
    }
    made = {name: create_person(gateway, cso, name, role) for name, role in roles.items()}
    trainer = login(gateway, "rv-trainer", PASSWORD, made["rv-trainer"]["totp"])
    for name, person in made.items():
        if name != "rv-trainer":
            record_training(gateway, trainer, person["id"], datetime.now(UTC) - timedelta(days=1))
    # One login each: a TOTP code is accepted once.
    return {
        name: {**person, "headers": login(gateway, name, PASSWORD, person["totp"])}
        for name, person in made.items()
        if name != "rv-trainer"
    }


@pytest.mark.policy("344.6(a)")
def test_random_audit_samples_real_queries_and_keeps_the_maker_out(gateway, people):
    start = datetime.now(UTC) - timedelta(seconds=1)
    ivy, rita, ray = people["rv-ivy"], people["rv-rita"], people["rv-ray"]
    request_ids = []
    for plate in ("KXT4471", "KXT4472", "KXT4473"):
        r = gateway.get(
            "/v1/ingest/reads", params={"plate": plate}, headers=ivy["headers"] | SEARCH_PURPOSE
        )
        assert r.status_code == 200, r.text
        request_ids.append(r.headers["x-request-id"])
    audit = rita["headers"] | AUDIT_PURPOSE

    def logged() -> bool:
        r = gateway.get(
            "/v1/audit/transactions", params={"subject": f"user:{ivy['id']}"}, headers=audit
        )
        return r.status_code == 200 and len(r.json()["items"]) >= 3

    eventually(logged)
    end = datetime.now(UTC) + timedelta(seconds=1)

    drawn = gateway.post(
        "/v1/audit/review-samples",
        json={
            "start": start.isoformat(),
            "end": end.isoformat(),
            "seed": 344,
            "sample_size": 100,
            "reviewers": [f"user:{ivy['id']}", f"user:{ray['id']}"],
        },
        headers=rita["headers"],
    )

    assert drawn.status_code == 201, drawn.text
    sample = drawn.json()
    ivys = [i for i in sample["items"] if i["actor"] == f"user:{ivy['id']}"]
    assert len(ivys) == 3
    assert {i["case_number"] for i in ivys} == {"2026-0777"}
    assert all(i["reviewer"] == f"user:{ray['id']}" for i in ivys)
    assert sample["population_size"] == sample["sample_size"] == len(sample["items"])

    to_maker = gateway.put(
        f"/v1/audit/review-items/{ivys[0]['id']}/assignment",
        json={"reviewer": f"user:{ivy['id']}"},
        headers=rita["headers"],
    )
    by_other = gateway.post(
        f"/v1/audit/review-items/{ivys[0]['id']}/finding",
        json={"finding": "compliant", "criminal_predicate": True},
        headers=rita["headers"],
    )
    by_reviewer = gateway.post(
        f"/v1/audit/review-items/{ivys[0]['id']}/finding",
        json={"finding": "compliant", "criminal_predicate": True},
        headers=ray["headers"],
    )

    assert to_maker.status_code == 409 and to_maker.json()["clause"] == "344.6(a)", to_maker.text
    assert by_other.status_code == 403 and by_other.json()["clause"] == "344.6(a)"
    assert by_reviewer.status_code == 200, by_reviewer.text
    summary = gateway.get(
        "/v1/audit/review-summaries",
        params={"start": start.isoformat(), "end": end.isoformat()},
        headers=people["rv-cathy"]["headers"],
    )
    assert summary.status_code == 200, summary.text
    assert (summary.json()["reviewed"], summary.json()["compliant"]) == (1, 1)


@pytest.mark.policy("344.6(c)")
def test_city_auditor_reads_audit_data_logged_not_refused_and_changes_nothing(gateway, people):
    cathy = people["rv-cathy"]
    headers = cathy["headers"] | AUDIT_PURPOSE

    reads = {
        path: gateway.get(f"/v1/audit/{path}", params=params, headers=headers)
        for path, params in [
            ("log-entries", {"type": "gateway.request"}),
            ("transactions", {}),
            ("review-samples", {}),
            ("usage-findings", {"quarter": "2026Q4"}),
            ("equity-reports", {"quarter": "2026Q4"}),
            ("misuse-allegations", {}),
            ("log-verifications", {}),
        ]
    }
    # 344.6(c): information shared for the audit is not a release under 344.5(a).
    assert {p: r.status_code for p, r in reads.items()} == {p: 200 for p in reads}
    refused = {
        "review-samples": gateway.post(
            "/v1/audit/review-samples",
            json={"quarter": "2026Q4", "sample_size": 5},
            headers=headers,
        ),
        "misuse-allegations": gateway.post(
            "/v1/audit/misuse-allegations",
            json={"summary": "auditor tries to file through the audit API"},
            headers=headers,
        ),
        "population-imports": gateway.post(
            "/v1/audit/population-imports",
            content=b"area,population\n78701,1\n",
            headers=headers | {"Content-Type": "text/csv"},
        ),
    }
    assert {p: r.status_code for p, r in refused.items()} == {p: 403 for p in refused}

    rid = reads["log-entries"].headers["x-request-id"]
    rita = people["rv-rita"]["headers"] | AUDIT_PURPOSE

    def logged():
        r = gateway.get("/v1/audit/transactions", params={"request_id": rid}, headers=rita)
        items = r.json()["items"] if r.status_code == 200 else []
        return items[0] if items and items[0].get("status") else None

    tx = logged() or eventually(logged)
    assert tx["subject"] == f"user:{cathy['id']}" and tx["roles"] == ["city_auditor"]
    assert tx["purpose"] == "audit_review" and tx["case_number"] == "RM-2026-Q4-E2E"
    assert tx["status"] == 200


@pytest.mark.policy("344.3.2(c)")
def test_fixed_camera_registered_at_ingest_reaches_the_equity_report(gateway, people):
    camera = gateway.post(
        "/v1/ingest/cameras",
        headers=people["rv-adam"]["headers"],
        json={
            "id": "cam-equity-e2e",
            "name": "Fixed at William Cannon and Manchaca",
            "vendor": "genetec",
            "camera_type": "fixed",
            "location": {"lat": 30.2050, "lon": -97.8000},
            "zip_code": "78745",
            "sector": "frank",
            "placement_review": {
                "reviewer": "Research and Planning, analyst 12",
                "reviewed_on": "2026-11-20",
                "approved": True,
                "notes": "busy arterial; cameras spread over every sector by traffic volume",
            },
        },
    )
    assert camera.status_code == 201, camera.text
    imported = gateway.post(
        "/v1/audit/population-imports",
        content=b"area,population,hispanic\n78745,60000,30000\n78701,20000,4000\n",
        headers=people["rv-rita"]["headers"] | {"Content-Type": "text/csv"},
    )
    assert imported.status_code == 201, imported.text
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(days=1)).isoformat(),
        "end": (now + timedelta(days=1)).isoformat(),
    }

    def report():
        r = gateway.get(
            "/v1/audit/equity-reports", params=window, headers=people["rv-rita"]["headers"]
        )
        assert r.status_code == 200, r.text
        body = r.json()
        areas = {(a["area_type"], a["area"]): a for a in body["areas"]}
        row = areas.get(("zip", "78745"))
        return body if row is not None and row["fixed_cameras"] >= 1 else None

    body = eventually(report)
    areas = {(a["area_type"], a["area"]): a for a in body["areas"]}
    assert areas[("zip", "78745")]["population"] == 60000
    assert areas[("sector", "frank")]["fixed_cameras"] >= 1
    reviews = [r for r in body["placement_reviews"] if r["camera_id"] == "cam-equity-e2e"]
    assert len(reviews) == 1 and reviews[0]["approved"] is True
    assert reviews[0]["zip_code"] == "78745"
    assert "cam-equity-e2e" not in body["fixed_cameras_without_approved_review"]
