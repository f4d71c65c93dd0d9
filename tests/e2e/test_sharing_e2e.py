"""Issue 14 end to end, over real HTTP between real processes, everything through the gateway:
outside agencies call with client credentials bound to their agency; a case-scoped request is
approved by the records officer and downloaded as exactly the named plates in the window; a broad
request is escalated and cannot be approved until the three notices of 344.5(d) are recorded; a
missing-person request is checked against a live hot-list entry; a suspended agency's pending
request is refused and its grant revoked in one request; revoked and expired links are refused;
audit receives each step once. Runs on the suite's database (PostgreSQL when available) and
again on a suite of its own on SQLite."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col

from alpr_common.db import create_engine
from alpr_common.suite import SERVICES, Suite, free_port
from alpr_sharing.models import ReleasePackage
from tests.helpers.e2e import PASSWORD, create_person, eventually, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CSO_PASSWORD = "granite-lantern-cobalt-41"
CASE = "APD-2026-0141414"
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "RM-2026-Q4",
    "X-ALPR-Reason": "quarterly review of data sharing requests",
}


def purpose(case: str = CASE) -> dict[str, str]:
    return {
        "X-ALPR-Purpose": "criminal_investigation",
        "X-ALPR-Case": case,
        "X-ALPR-Reason": "robbery suspect vehicle, data released by APD",
    }


class World:
    def __init__(self, suite: Suite, gateway: httpx.Client) -> None:
        self.suite = suite
        self.gateway = gateway
        self.users: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, dict[str, str]] = {}
        self.agencies: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, tuple[str, str]] = {}
        self.camera = ""
        self.ingest_key = ""

    def headers(self, who: str) -> dict[str, str]:
        if who in self.clients:
            client_id, secret = self.clients[who]
            r = self.gateway.post(
                "/v1/access/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}
        if who not in self.tokens:
            person = self.users[who]
            self.tokens[who] = login(self.gateway, person["username"], PASSWORD, person["totp"])
        return self.tokens[who]

    def post_reads(self, reads: list[tuple[str, datetime]]) -> None:
        r = self.gateway.post(
            "/v1/ingest/reads",
            json={
                "reads": [
                    {"plate": p, "captured_at": t.isoformat(), "camera": self.camera}
                    for p, t in reads
                ],
                "atomic": True,
            },
            headers={"X-ALPR-Ingest-Key": self.ingest_key},
        )
        assert r.status_code in (200, 201), r.text

    def submit(self, who: str, **body: Any) -> httpx.Response:
        t = datetime.now(UTC)
        payload: dict[str, Any] = {
            "kind": "agency_data",
            "purpose": "criminal_investigation",
            "case_number": CASE,
            "reason": "armed robbery suspect vehicle seen leaving the scene",
            "grounds": "criminal_investigation",
            "offense": "Aggravated robbery",
            "investigator": "Det. K. Nguyen",
            "since": (t - timedelta(hours=2)).isoformat(),
            "until": t.isoformat(),
            **body,
        }
        return self.gateway.post(
            "/v1/sharing/sharing-requests", json=payload, headers=self.headers(who)
        )

    def expire_package(self, package_id: str) -> None:
        """Move a grant's end into the past, as time would (in sharing's own database)."""
        url = self.suite.env()["SHARING_DATABASE_URL"]

        async def run() -> None:
            engine = create_engine(url, pooled=False)
            try:
                async with engine.begin() as conn:
                    await conn.execute(
                        update(ReleasePackage)
                        .where(col(ReleasePackage.id) == package_id)
                        .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
                    )
            finally:
                await engine.dispose()

        asyncio.run(run())


def _sqlite_suite(tmp: Path) -> Iterator[Suite]:
    s = Suite(
        state_dir=tmp,
        ports={svc: free_port() for svc in SERVICES},
        extra_env={
            "GATEWAY_STATUS_CACHE_SECONDS": "1",
            "AUDIT_CHECKPOINT_INTERVAL_SECONDS": "3600",
        },
    )
    s.migrate()
    s.start()
    try:
        s.wait_ready(timeout=90)
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module", params=["suite-database", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[World]:
    if request.param == "sqlite":
        suites = _sqlite_suite(tmp_path_factory.mktemp("sharing-sqlite"))
        suite = next(suites)
    else:
        suites = None
        suite = request.getfixturevalue("suite")
    try:
        with httpx.Client(base_url=suite.url("gateway"), timeout=30.0) as gateway:
            yield _make_world(suite, gateway)
    finally:
        if suites is not None:
            suites.close()


def _make_world(suite: Suite, gateway: httpx.Client) -> World:
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "cso-sharing",
        "--full-name",
        "Sharing CSO",
        "--badge",
        "9414",
        "--password-stdin",
        "--allow-additional",
        input_text=CSO_PASSWORD + "\n",
    )
    cso = login(gateway, "cso-sharing", CSO_PASSWORD, json.loads(out)["totp_secret"])
    w = World(suite, gateway)
    roles = {
        "sh-trainer": "training_coordinator",
        "sh-admin": "admin",
        "sh-records": "records_officer",
        "sh-chief": "chief_of_police",
        "sh-lt": "atiu_lieutenant",
        "sh-manager": "hotlist_manager",
        "sh-risk": "risk_management",
    }
    for username, role in roles.items():
        w.users[username] = create_person(gateway, cso, username, role)
    trainer = w.headers("sh-trainer")
    for username in roles:
        if username != "sh-trainer":
            record_training(
                gateway, trainer, w.users[username]["id"], datetime.now(UTC) - timedelta(days=1)
            )

    w.camera = f"e2e-sharing-{uuid.uuid4().hex[:6]}"
    r = gateway.post(
        "/v1/ingest/cameras",
        headers=w.headers("sh-admin"),
        json={
            "id": w.camera,
            "name": "Trailer on Congress",
            "vendor": "native",
            "camera_type": "trailer",
            "location": {"lat": 30.2686, "lon": -97.7430},
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": "e2e sharing trailer", "kind": "camera", "cameras": [w.camera]},
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=cso,
        json={"client_id": r.json()["client"]["id"], "label": "e2e sharing"},
    )
    assert r.status_code == 201, r.text
    w.ingest_key = r.json()["key"]

    records = w.headers("sh-records")
    for name in ("A", "B"):
        r = gateway.post(
            "/v1/sharing/agencies",
            headers=records,
            json={
                "name": f"Agency {name} Police Department",
                "kind": "law_enforcement",
                "jurisdiction": "Williamson County, TX",
                "contact_name": f"Sgt. {name}",
            },
        )
        assert r.status_code == 201, r.text
        w.agencies[name] = r.json()
        r = gateway.post(
            "/v1/access/clients",
            headers=cso,
            json={"name": f"Agency {name} CAD", "kind": "agency", "agency_id": r.json()["id"]},
        )
        assert r.status_code == 201, r.text
        w.clients[name] = (r.json()["client"]["id"], r.json()["client_secret"])
    return w


def bundle_rows(bundle: bytes) -> tuple[list[dict[str, str]], dict[str, Any]]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        rows = list(csv.DictReader(io.StringIO(z.read("reads.csv").decode())))
        manifest = json.loads(z.read("manifest.json"))
    return rows, manifest


def approve_and_build(world: World, request_id: str, who: str = "sh-records") -> dict[str, Any]:
    gw = world.gateway
    r = gw.post(
        f"/v1/sharing/sharing-requests/{request_id}/decisions",
        json={"decision": "approved"},
        headers=world.headers(who),
    )
    assert r.status_code == 200, r.text
    r = gw.post(
        f"/v1/sharing/sharing-requests/{request_id}/packages", headers=world.headers("sh-records")
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def audited(world: World, request_id: str) -> list[str]:
    r = world.gateway.get(
        "/v1/audit/log-entries",
        params={"type": "sharing.*", "limit": 500},
        headers={**world.headers("sh-risk"), **AUDIT_PURPOSE},
    )
    assert r.status_code == 200, r.text
    return sorted(e["type"] for e in r.json()["items"] if e["data"].get("request_id") == request_id)


@pytest.mark.policy("344.5(b)")
def test_case_scoped_request_downloads_exactly_the_named_plates_in_the_window(world):
    gw = world.gateway
    t = datetime.now(UTC)
    plate = f"E2E{uuid.uuid4().hex[:4].upper()}"
    world.post_reads(
        [
            (plate, t - timedelta(minutes=30)),
            (plate, t - timedelta(minutes=10)),
            ("NOTASKED1", t - timedelta(minutes=20)),
            (plate, t - timedelta(hours=5)),  # outside the window
        ]
    )
    r = world.submit("A", plates=[plate], fields=["plate", "captured_at", "camera_id"])
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert r.json()["status"] == "received"
    package = approve_and_build(world, request_id)
    assert package["read_count"] == 2

    r = gw.get(
        f"/v1/sharing/packages/{package['id']}/content",
        headers={**world.headers("A"), **purpose()},
    )
    assert r.status_code == 200, r.text
    rows, manifest = bundle_rows(r.content)
    assert [row["plate"] for row in rows] == [plate, plate]
    assert set(rows[0]) == {"plate", "captured_at", "camera_id"}
    assert manifest["scope"]["plates"] == [plate]

    # The gateway checks the purpose before forwarding a route that releases data.
    r = gw.get(f"/v1/sharing/packages/{package['id']}/content", headers=world.headers("A"))
    assert r.status_code in (403, 422), r.text

    # Agency B never sees agency A's request or package.
    other = world.headers("B")
    assert gw.get(f"/v1/sharing/sharing-requests/{request_id}", headers=other).status_code == 404
    r = gw.get(f"/v1/sharing/packages/{package['id']}/content", headers={**other, **purpose()})
    assert r.status_code == 404

    expected = [
        "sharing.package_downloaded",
        "sharing.package_released",
        "sharing.request_decided",
        "sharing.request_received",
    ]
    assert eventually(lambda: audited(world, request_id) == expected or None)


@pytest.mark.policy("344.5(d)")
def test_broad_request_is_escalated_and_approved_only_after_the_three_notices(world):
    gw = world.gateway
    plates = [f"BRD{uuid.uuid4().hex[:3].upper()}{i}" for i in range(7)]
    t = datetime.now(UTC)
    world.post_reads([(p, t - timedelta(minutes=15)) for p in plates])
    r = world.submit("A", plates=plates)
    assert r.status_code == 201, r.text
    request = r.json()
    assert request["status"] == "escalated"
    assert "too_many_plates" in request["escalation_reasons"]
    chief = world.headers("sh-chief")
    decide = f"/v1/sharing/sharing-requests/{request['id']}/decisions"

    r = gw.post(decide, json={"decision": "approved"}, headers=world.headers("sh-records"))
    assert r.status_code == 403
    assert r.json()["clause"] == "344.5(d)"
    for notified in ("police_oversight", "mayor", "council"):
        r = gw.post(decide, json={"decision": "approved"}, headers=chief)
        assert r.status_code == 403, r.text
        assert r.json()["clause"] == "344.5(d)"
        r = gw.post(
            f"/v1/sharing/sharing-requests/{request['id']}/notices",
            json={
                "notified": notified,
                "recipient": f"Office of the {notified}",
                "notified_at": datetime.now(UTC).isoformat(),
                "method": "memo",
                "reference": f"MEMO-2026-{notified}",
            },
            headers=chief,
        )
        assert r.status_code == 201, r.text
    package = approve_and_build(world, request["id"], who="sh-chief")
    assert package["read_count"] == len(plates)
    types = eventually(
        lambda: (lambda ts: ts if ts.count("sharing.notice_recorded") == 3 else None)(
            audited(world, request["id"])
        )
    )
    assert types.count("sharing.request_escalated") == 1
    assert types.count("sharing.request_decided") == 1


@pytest.mark.policy("344.5(b)")
def test_missing_person_request_is_checked_against_a_live_hot_list_entry(world):
    gw = world.gateway
    manager = world.headers("sh-manager")
    r = gw.post(
        "/v1/hotlist/hotlists",
        headers=manager,
        json={"name": f"AMBER {uuid.uuid4().hex[:6]}", "source": "agency"},
    )
    assert r.status_code == 201, r.text
    plate = f"KID{uuid.uuid4().hex[:4].upper()}"
    r = gw.post(
        "/v1/hotlist/hotlist-entries",
        headers=manager,
        json={
            "hotlist_id": r.json()["id"],
            "plate": plate,
            "region": "US-TX",
            "entry_type": "amber_alert",
            "reason": "Child abducted from school, AMBER 26-0042",
            "manual_reason": "amber_alert",
            "manual_reason_text": "Entered from the state AMBER alert bulletin this morning",
            "expires_at": (datetime.now(UTC) + timedelta(days=2)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    entry_id = r.json()["id"]
    missing = {"grounds": "missing_person", "purpose": "amber_alert", "offense": None}
    r = world.submit("A", **missing, hotlist_entry_id=entry_id)
    assert r.status_code == 201, r.text
    assert r.json()["plates"] == [plate]
    assert r.json()["status"] == "received"

    r = gw.delete(
        f"/v1/hotlist/hotlist-entries/{entry_id}",
        params={"reason": "child found safe"},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    r = world.submit("A", **missing, hotlist_entry_id=entry_id)
    assert r.status_code == 403
    assert r.json()["clause"] == "344.5(b)"


@pytest.mark.policy("344.4(b)")
def test_suspended_agency_is_refused_and_its_grant_revoked_within_one_request(world):
    gw = world.gateway
    plate = f"SUS{uuid.uuid4().hex[:4].upper()}"
    world.post_reads([(plate, datetime.now(UTC) - timedelta(minutes=5))])
    r = world.submit("B", plates=[plate])
    assert r.status_code == 201, r.text
    package = approve_and_build(world, r.json()["id"])
    r = world.submit("B", plates=[plate], client_reference=f"PEND-{uuid.uuid4().hex[:6]}")
    pending = r.json()["id"]
    agency_b = world.agencies["B"]["id"]

    r = gw.post(
        f"/v1/sharing/agencies/{agency_b}/status-decisions",
        json={"decision": "suspend", "reason": "shared APD reads with a private repossessor"},
        headers=world.headers("sh-lt"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["requests_refused"] == [pending]
    assert r.json()["grants_revoked"] == [package["id"]]

    b = world.headers("B")
    r = gw.get(f"/v1/sharing/packages/{package['id']}/content", headers={**b, **purpose()})
    assert r.status_code == 403
    assert r.json()["clause"] == "344.4(b)"
    r = world.submit("B", plates=[plate])
    assert r.status_code == 403
    assert r.json()["clause"] == "344.4(b)"
    r = gw.get(f"/v1/sharing/sharing-requests/{pending}", headers=b)
    assert r.json()["status"] == "denied"


def test_revoked_and_expired_links_are_refused(world):
    gw = world.gateway
    plate = f"RVK{uuid.uuid4().hex[:4].upper()}"
    world.post_reads([(plate, datetime.now(UTC) - timedelta(minutes=5))])
    a = world.headers("A")
    packages = []
    for _ in range(2):
        r = world.submit("A", plates=[plate])
        assert r.status_code == 201, r.text
        packages.append(approve_and_build(world, r.json()["id"]))
    revoked, expired = packages
    url = "/v1/sharing/packages/{}/content"
    assert gw.get(url.format(revoked["id"]), headers={**a, **purpose()}).status_code == 200
    r = gw.post(
        f"/v1/sharing/packages/{revoked['id']}/revocations",
        json={"reason": "released under the wrong case number"},
        headers=world.headers("sh-records"),
    )
    assert r.status_code == 200, r.text
    assert gw.get(url.format(revoked["id"]), headers={**a, **purpose()}).status_code == 410

    world.expire_package(expired["id"])
    assert gw.get(url.format(expired["id"]), headers={**a, **purpose()}).status_code == 410
