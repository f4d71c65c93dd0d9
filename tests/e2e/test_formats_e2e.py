"""Issue 17 end to end, over real HTTP between real processes, everything through the gateway:
an OpenALPR agent's per-frame results and its group for one vehicle are one read, counted once
in audit's scan figures, whichever arrives first; a Rekor alert list whose description says
"Silver" is held for review unless imported with its list type, never typed a Silver Alert; a
Survision camera identified by its serial-number header. Payloads are the vendors' shapes (the
fixtures of tests/ingest and tests/hotlist) with today's times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from alpr_common.suite import Suite
from tests.helpers.e2e import PASSWORD, create_person, eventually, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

TESTS = Path(__file__).parent.parent
INGEST_FIXTURES = TESTS / "ingest" / "fixtures"
HOTLIST_FIXTURES = TESTS / "hotlist" / "fixtures"
CSO_PASSWORD = "copper-lantern-meadow-52"
AGENT = "K7Q2ZT9WMB4XH1N8RC6VJ3PD0LFY5GSA2E7UQ9TB"
AGENT_CAMERA = 483920117
OPENALPR_CAMERAS = {"frames-first": "e2e-oa-frames-first", "group-first": "e2e-oa-group-first"}
SURVISION_CAMERA = "e2e-survision-gate"
SURVISION_SERIAL = "SVX-2291-0999"
SEARCH_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-1717171",
    "X-ALPR-Reason": "checking the reads of a vendor integration under test",
}
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "RM-2026-Q4",
    "X-ALPR-Reason": "quarterly review of plates scanned",
}


class World:
    def __init__(self, suite: Suite, gateway: httpx.Client) -> None:
        self.suite = suite
        self.gateway = gateway
        self.users: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, dict[str, str]] = {}
        self.keys: dict[str, str] = {}

    def headers(self, who: str) -> dict[str, str]:
        if who not in self.tokens:
            person = self.users[who]
            self.tokens[who] = login(self.gateway, person["username"], PASSWORD, person["totp"])
        return self.tokens[who]


def _camera(w: World, cso: dict[str, str], camera_id: str, vendor: str, key: str) -> None:
    r = w.gateway.post(
        "/v1/ingest/cameras",
        headers=w.headers("fmt-admin"),
        json={
            "id": camera_id,
            "name": f"{vendor} camera {camera_id}",
            "vendor": vendor,
            "camera_type": "trailer",
            "location": {"lat": 30.2686, "lon": -97.7540},
            "vendor_keys": [key],
        },
    )
    assert r.status_code == 201, r.text
    r = w.gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": f"e2e {camera_id}", "kind": "camera", "cameras": [camera_id]},
    )
    assert r.status_code == 201, r.text
    r = w.gateway.post(
        "/v1/access/ingest-keys",
        headers=cso,
        json={"client_id": r.json()["client"]["id"], "label": "e2e"},
    )
    assert r.status_code == 201, r.text
    w.keys[camera_id] = r.json()["key"]


@pytest.fixture(scope="module")
def world(suite: Suite, gateway: httpx.Client) -> World:
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "cso-formats",
        "--full-name",
        "Formats CSO",
        "--badge",
        "9171",
        "--password-stdin",
        "--allow-additional",
        input_text=CSO_PASSWORD + "\n",
    )
    cso = login(gateway, "cso-formats", CSO_PASSWORD, json.loads(out)["totp_secret"])
    w = World(suite, gateway)
    roles = {
        "fmt-trainer": "training_coordinator",
        "fmt-admin": "admin",
        "fmt-manager": "hotlist_manager",
        "fmt-risk": "risk_management",
        "fmt-inv": "investigator",
    }
    for username, role in roles.items():
        w.users[username] = create_person(gateway, cso, username, role)
    for username in roles:
        if username != "fmt-trainer":
            record_training(
                gateway,
                w.headers("fmt-trainer"),
                w.users[username]["id"],
                datetime.now(UTC) - timedelta(days=1),
            )
    # Two agents' cameras, one per arrival order (one agent camera key each).
    for n, camera_id in enumerate(OPENALPR_CAMERAS.values()):
        _camera(w, cso, camera_id, "openalpr", f"{AGENT}-{AGENT_CAMERA + n}")
    _camera(w, cso, SURVISION_CAMERA, "survision", SURVISION_SERIAL)
    return w


# --- item 1 ------------------------------------------------------------------------------------


def _vehicle_pass(camera_offset: int, start: datetime) -> tuple[list[dict[str, Any]], dict]:
    """The fixtures' three frames and their group, moved to `start` on one agent camera."""
    camera = AGENT_CAMERA + camera_offset
    frames = [
        json.loads((INGEST_FIXTURES / f"openalpr_pass_frame_{n}.json").read_text())
        for n in (1, 2, 3)
    ]
    group = json.loads((INGEST_FIXTURES / "openalpr_pass_group.json").read_text())
    base = int(start.timestamp() * 1000)
    uuids = []
    for i, frame in enumerate(frames):
        epoch = base + 130 * i
        frame["epoch_time"] = epoch
        frame["camera_id"] = camera
        frame["uuid"] = f"{AGENT}-{camera}-{epoch}"
        uuids.append(frame["uuid"])
    group.update(
        {
            "camera_id": camera,
            "uuids": uuids,
            "epoch_start": base,
            "epoch_end": base + 260,
            "best_uuid": uuids[-1],
            "best_uuid_epoch_ms": base + 260,
        }
    )
    group["best_plate"] = frames[-1]["results"][0]
    return frames, group


def _post(w: World, camera_id: str, fmt: str, body: dict, **headers: str) -> dict:
    r = w.gateway.post(
        f"/v1/ingest/vendor-reads/{fmt}",
        json=body,
        headers={"X-ALPR-Ingest-Key": w.keys[camera_id], **headers},
    )
    assert r.status_code == 200, r.text
    out: dict = r.json()
    return out


def _scan_counts(w: World, camera_id: str) -> tuple[int, int] | None:
    """(reads, superseded) audit has received for the camera, once every ingest event is in."""
    r = w.gateway.get(
        "/v1/audit/log-entries",
        params={"type": "ingest.scan_counts", "limit": 500},
        headers={**w.headers("fmt-risk"), **AUDIT_PURPOSE},
    )
    assert r.status_code == 200, r.text
    counts = [
        c for e in r.json()["items"] for c in e["data"]["counts"] if c["camera_id"] == camera_id
    ]
    return sum(c["reads"] for c in counts), sum(c.get("superseded", 0) for c in counts)


def _reads(w: World, camera_id: str) -> list[dict]:
    r = w.gateway.get(
        "/v1/ingest/reads",
        params={"camera_id": camera_id},
        headers={**w.headers("fmt-inv"), **SEARCH_PURPOSE},
    )
    assert r.status_code == 200, r.text
    items: list[dict] = r.json()["items"]
    return items


@pytest.mark.policy("344.6(b)1")
def test_openalpr_frames_then_group_are_one_read_counted_once_by_audit(world):
    camera_id = OPENALPR_CAMERAS["frames-first"]
    frames, group = _vehicle_pass(0, datetime.now(UTC) - timedelta(seconds=20))
    first = _post(world, camera_id, "openalpr", frames[0])
    assert first["stored"] == 1
    assert _post(world, camera_id, "openalpr", frames[1])["stored"] == 1
    merged = _post(world, camera_id, "openalpr", group)
    assert merged["updated"] == 1 and merged["reads"][0]["read_id"] == first["reads"][0]["read_id"]
    assert _post(world, camera_id, "openalpr", frames[2])["duplicate"] == 1

    reads = _reads(world, camera_id)
    assert [(r["plate"], r["group_state"]) for r in reads] == [("TRV6093", "final")]
    # Two frame reads were counted as scans; the group took one back: one vehicle pass.
    counts = eventually(lambda: (c := _scan_counts(world, camera_id)) == (2, 1) and c)
    assert counts[0] - counts[1] == 1


@pytest.mark.policy("344.6(b)1")
def test_openalpr_group_then_frames_is_one_read_counted_once_by_audit(world):
    camera_id = OPENALPR_CAMERAS["group-first"]
    frames, group = _vehicle_pass(1, datetime.now(UTC) - timedelta(seconds=20))
    assert _post(world, camera_id, "openalpr", group)["stored"] == 1
    for frame in frames:
        assert _post(world, camera_id, "openalpr", frame)["duplicate"] == 1
    assert len(_reads(world, camera_id)) == 1
    eventually(lambda: _scan_counts(world, camera_id) == (1, 0))


# --- item 2 ------------------------------------------------------------------------------------


@pytest.mark.policy("344.2(c)")
def test_rekor_silver_car_is_held_until_imported_as_its_list_type(world):
    gw = world.gateway
    manager = world.headers("fmt-manager")
    r = gw.post(
        "/v1/hotlist/hotlists",
        headers=manager,
        json={"name": "Rekor stolen vehicles (e2e)", "source": "rekor", "import_format": "rekor"},
    )
    assert r.status_code == 201, r.text
    hotlist_id = r.json()["id"]
    data = (HOTLIST_FIXTURES / "hotlist_rekor_silver_nissan.csv").read_bytes()

    def import_file(**params: str) -> dict:
        resp = gw.post(
            "/v1/hotlist/hotlist-imports",
            params={"hotlist_id": hotlist_id, **params},
            content=data,
            headers={**manager, "Content-Type": "application/octet-stream"},
        )
        assert resp.status_code == 201, resp.text
        out: dict = resp.json()
        return out

    untyped = import_file()
    assert (untyped["added"], untyped["held"]) == (0, 3)
    held = gw.get(
        "/v1/hotlist/hotlist-entries",
        params={"hotlist_id": hotlist_id, "status": "held"},
        headers=manager,
    ).json()["items"]
    silver = next(e for e in held if e["plate"] == "8MXT414")
    assert silver["entry_type"] is None and silver["missing_endangered"] is False
    assert silver["held_clause"] == "344.2(c)" and "list_type=" in silver["held_reason"]

    typed = import_file(list_type="stolen_vehicle")
    assert (typed["added"], typed["held"]) == (3, 0)
    active = gw.get(
        "/v1/hotlist/hotlist-entries",
        params={"hotlist_id": hotlist_id, "status": "active"},
        headers=manager,
    ).json()["items"]
    assert {e["entry_type"] for e in active} == {"stolen_vehicle"}
    assert len(active) == 3


# --- item 5 ------------------------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
def test_survision_push_is_stored_for_the_camera_its_serial_header_names(world):
    message = json.loads((INGEST_FIXTURES / "survision_anpr_front.json").read_text())
    taken = datetime.now(UTC) - timedelta(seconds=3)
    message["anpr"]["@date"] = str(int(taken.timestamp() * 1000))
    header = {"survision-serial-number": SURVISION_SERIAL}
    first = _post(world, SURVISION_CAMERA, "survision", message, **header)
    assert first["stored"] == 1, first
    assert _post(world, SURVISION_CAMERA, "survision", message, **header)["duplicate"] == 1
    (read,) = _reads(world, SURVISION_CAMERA)
    assert read["plate"] == "KRW5062" and read["source"] == "survision"
    assert abs(datetime.fromisoformat(read["captured_at"]) - taken) < timedelta(seconds=1)
