"""Issue 2 end to end, over real HTTP between real processes: bootstrap the first CSO, create
people, record training, log in with password + TOTP through the gateway, query ALPR data with a
purpose, find that transaction in audit's hash-chained log and verify the chain; then show that
deactivation and training lapse bite within seconds while the tokens are still valid."""

import subprocess
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers.e2e import (
    PASSWORD,
    create_cso,
    create_person,
    eventually,
    login,
    record_training,
)

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CSO_PASSWORD = "orange-lantern-quietly-42"
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "RM-2026-Q4",
    "X-ALPR-Reason": "quarterly review of system use",
}
SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-0042",
    "X-ALPR-Reason": "stolen pickup seen near the burglary",
}


@pytest.fixture(scope="module")
def people(suite, gateway):
    cso_info = create_cso(suite, "cso", CSO_PASSWORD)
    cso = login(gateway, "cso", CSO_PASSWORD, cso_info["totp_secret"])
    coordinator = create_person(gateway, cso, "trainer", "training_coordinator")
    investigator = create_person(gateway, cso, "ivy", "investigator")
    auditor = create_person(gateway, cso, "rita", "risk_management")
    lapsing = create_person(gateway, cso, "lapse", "investigator")
    leaving = create_person(gateway, cso, "leaver", "investigator")
    tc = login(gateway, "trainer", PASSWORD, coordinator["totp"])
    now = datetime.now(UTC)
    for person in (investigator, auditor, leaving):
        record_training(gateway, tc, person["id"], now - timedelta(days=1))
    # Completed 365 days ago less 8 seconds: valid now, lapsed in 8 seconds.
    record_training(gateway, tc, lapsing["id"], now - timedelta(days=365) + timedelta(seconds=8))
    return {
        "cso": cso,
        "investigator": investigator,
        "auditor": auditor,
        "lapsing": lapsing,
        "leaving": leaving,
    }


def auditor_headers(gateway, people) -> dict:
    """The auditor's token with the review purpose, logged in once for the module: a TOTP code
    is taken once, so a second login in the same 30 s window is refused."""
    auditor = people["auditor"]
    if "headers" not in auditor:
        token = login(gateway, auditor["username"], PASSWORD, auditor["totp"])
        auditor["headers"] = token | AUDIT_PURPOSE
    return auditor["headers"]


def logged_transaction(gateway, audit_headers: dict, request_id: str) -> dict:
    """The gateway's record of a request at audit, once its outcome has arrived there."""

    def transaction():
        resp = gateway.get(
            "/v1/audit/transactions", params={"request_id": request_id}, headers=audit_headers
        )
        assert resp.status_code == 200, resp.text
        items = resp.json()["items"]
        return items[0] if items and items[0].get("status") else None

    return eventually(transaction)


@pytest.mark.policy("344.4(d)")
def test_login_query_with_purpose_logged_and_chain_verifies(gateway, people):
    inv = people["investigator"]
    headers = login(gateway, inv["username"], PASSWORD, inv["totp"])
    r = gateway.get(
        "/v1/ingest/reads", params={"plate": "ABC1234"}, headers=headers | SEARCH_PURPOSE
    )
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]

    audit_headers = auditor_headers(gateway, people)

    tx = logged_transaction(gateway, audit_headers, request_id)
    assert tx["subject"] == f"user:{inv['id']}"
    assert tx["status"] == 200 and tx["method"] == "GET"
    assert tx["purpose"] == "criminal_investigation" and tx["case_number"] == "2026-0042"

    logins = gateway.get(
        "/v1/audit/log-entries", params={"type": "access.login_attempt"}, headers=audit_headers
    )
    assert logins.status_code == 200 and len(logins.json()["items"]) >= 2

    verify = gateway.get("/v1/audit/log-verifications", headers=audit_headers)
    assert verify.status_code == 200, verify.text
    assert verify.json()["ok"] is True


@pytest.mark.policy("344.4(d)")
def test_a_login_is_recorded_under_the_address_the_gateway_saw(gateway, people):
    """The gateway trusts no proxy by default: an X-Forwarded-For a caller writes itself is not
    believed. Its log and access's login record both carry the peer the gateway saw, access
    reading it from the one hop it trusts (the gateway's X-Forwarded-For)."""
    inv = people["investigator"]
    r = gateway.post(
        "/v1/access/token",
        data={"grant_type": "password", "username": inv["username"], "password": "wrong"},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert r.status_code == 400, r.text
    request_id = r.headers["x-request-id"]
    attempts = gateway.get(
        "/v1/access/login-attempts", params={"username": inv["username"]}, headers=people["cso"]
    )
    assert attempts.status_code == 200, attempts.text
    assert attempts.json()["items"][0]["source_address"] == "127.0.0.1"

    tx = logged_transaction(gateway, auditor_headers(gateway, people), request_id)
    assert tx["source_address"] == "127.0.0.1"


@pytest.mark.policy("344.7(b)")
def test_deactivation_bites_within_five_seconds(gateway, people):
    person = people["leaving"]
    headers = login(gateway, person["username"], PASSWORD, person["totp"]) | SEARCH_PURPOSE
    assert (
        gateway.get("/v1/ingest/reads", params={"plate": "X1"}, headers=headers).status_code == 200
    )
    r = gateway.patch(
        f"/v1/access/users/{person['id']}", headers=people["cso"], json={"active": False}
    )
    assert r.status_code == 200, r.text
    refused_at = eventually(
        lambda: (
            gateway.get("/v1/ingest/reads", params={"plate": "X1"}, headers=headers).status_code
            == 403
        ),
        seconds=5.0,
    )
    assert refused_at


@pytest.mark.policy("344.7(b)")
def test_training_lapse_bites_within_five_seconds_of_expiry(gateway, people):
    person = people["lapsing"]
    headers = login(gateway, person["username"], PASSWORD, person["totp"]) | SEARCH_PURPOSE
    r = gateway.get("/v1/ingest/reads", params={"plate": "X1"}, headers=headers)
    assert r.status_code == 200, r.text
    # The token outlives the training: the gateway refuses once training lapses (8 s after the
    # fixture recorded it), within the 5 s the design allows.
    eventually(
        lambda: (
            gateway.get("/v1/ingest/reads", params={"plate": "X1"}, headers=headers).status_code
            == 403
        ),
        seconds=15.0,
    )


def test_ingest_serves_from_two_worker_processes(suite):
    """On PostgreSQL the suite runs ingest with INGEST_WORKERS=2: one supervisor and two worker
    processes on one port (the other end-to-end tests post reads and search through them)."""
    if not suite.database_urls:  # only off CI: the suite fixture fails there without PostgreSQL
        pytest.skip("several workers need PostgreSQL; this run is on SQLite")
    supervisor = suite.procs["ingest"].pid
    children = subprocess.run(
        ["pgrep", "-P", str(supervisor)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert len(children) >= 2, children
    for _ in range(6):
        assert httpx.get(f"{suite.url('ingest')}/readyz", timeout=10).status_code == 200
