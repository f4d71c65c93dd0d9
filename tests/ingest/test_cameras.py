from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import text

from alpr_ingest.repository.cameras import CameraSite, CameraSiteCache
from tests.helpers.ingest import DOWNTOWN, REVIEW, SOUTH


@pytest.mark.policy("344.2(a)")
@pytest.mark.parametrize("camera_type", ["fixed", "trailer", "vehicle"])
async def test_cameras_are_fixed_trailer_or_vehicle(ingest, camera_type):
    camera = await ingest.camera(camera_type=camera_type)
    assert camera["camera_type"] == camera_type
    assert camera["status"] == "active"


@pytest.mark.policy("344.2(a)")
async def test_unknown_camera_type_is_refused(ingest):
    resp = await ingest.client.post(
        "/v1/cameras",
        json={"name": "x", "vendor": "native", "camera_type": "drone", "location": DOWNTOWN},
        headers=ingest.admin(),
    )
    assert resp.status_code == 422


@pytest.mark.policy("344.2(a)")
@pytest.mark.parametrize("camera_type", ["fixed", "trailer"])
async def test_fixed_and_trailer_cameras_need_a_location(ingest, camera_type):
    resp = await ingest.client.post(
        "/v1/cameras",
        json={"name": "x", "vendor": "native", "camera_type": camera_type},
        headers=ingest.admin(),
    )
    assert resp.status_code == 422
    assert "location" in resp.json()["detail"]


@pytest.mark.policy("344.3.2(c)")
async def test_fixed_camera_takes_zip_and_sector_from_its_site(ingest):
    camera = await ingest.camera(camera_type="fixed", location=SOUTH)
    assert (camera["zip_code"], camera["sector"]) == ("78704", "David")


@pytest.mark.policy("344.3.2(c)")
async def test_fixed_camera_outside_known_boundaries_needs_zip_and_sector(ingest):
    outside = {"lat": 30.28812, "lon": -97.73362}
    resp = await ingest.client.post(
        "/v1/cameras",
        json={"name": "x", "vendor": "axis", "camera_type": "fixed", "location": outside},
        headers=ingest.admin(),
    )
    assert resp.status_code == 422
    assert "zip code and a sector" in resp.json()["detail"]
    ok = await ingest.camera(
        camera_type="fixed", location=outside, zip_code="78705", sector="Baker"
    )
    assert (ok["zip_code"], ok["sector"]) == ("78705", "Baker")


@pytest.mark.policy("344.3.2(c)")
async def test_fixed_camera_is_pending_until_an_approved_placement_review(ingest):
    camera = await ingest.camera("fx-1", camera_type="fixed", review=False)
    assert camera["status"] == "pending" and camera["placement_review"] is None
    # Not activated without a review, and reads from it are refused.
    resp = await ingest.client.patch(
        "/v1/cameras/fx-1", json={"status": "active"}, headers=ingest.admin()
    )
    assert resp.status_code == 409
    assert "placement review" in resp.json()["detail"]
    posted = await ingest.post([ingest.read("fx-1")])
    assert posted.json()["rejected"] == 1
    assert "pending" in posted.json()["rejections"][0]["reason"]
    # A refused review keeps it pending; an approved one, recorded by the CSO, activates it.
    cso = ingest.tokens.headers("chief_security_officer", subject="user:cso")
    refused = await ingest.client.post(
        "/v1/cameras/fx-1/placement-reviews", json={**REVIEW, "approved": False}, headers=cso
    )
    assert refused.status_code == 201
    assert (await ingest.client.get("/v1/cameras/fx-1", headers=cso)).json()["status"] == "pending"
    ingest.clock.advance(minutes=1)
    approved = await ingest.client.post(
        "/v1/cameras/fx-1/placement-reviews", json=REVIEW, headers=cso
    )
    assert approved.status_code == 201
    review = approved.json()
    assert review["reviewer"] == REVIEW["reviewer"]
    assert review["reviewed_on"] == REVIEW["reviewed_on"]
    assert review["notes"] == REVIEW["notes"]
    assert review["recorded_by"] == "user:cso"
    camera = (await ingest.client.get("/v1/cameras/fx-1", headers=cso)).json()
    assert camera["status"] == "active"
    assert camera["placement_review"]["id"] == review["id"]
    history = await ingest.client.get("/v1/cameras/fx-1/placement-reviews", headers=cso)
    assert [r["approved"] for r in history.json()] == [True, False]
    events = await ingest.events("ingest.placement_review_recorded", "audit")
    assert [e["data"]["approved"] for e in events] == [False, True]


@pytest.mark.policy("344.3.2(c)")
async def test_moving_a_fixed_camera_needs_a_new_review(ingest):
    await ingest.camera("fx-2", camera_type="fixed")
    moved = await ingest.client.patch(
        "/v1/cameras/fx-2", json={"location": SOUTH}, headers=ingest.admin()
    )
    assert moved.status_code == 200
    camera = moved.json()
    assert camera["status"] == "pending"
    assert (camera["zip_code"], camera["sector"]) == ("78704", "David")
    refused = await ingest.client.patch(
        "/v1/cameras/fx-2", json={"status": "active"}, headers=ingest.admin()
    )
    assert refused.status_code == 409


async def test_camera_registry_is_admin_only_and_readable_by_authorised_roles(ingest):
    body = {"name": "x", "vendor": "native", "camera_type": "vehicle"}
    for role in ("investigator", "chief_security_officer", "camera"):
        resp = await ingest.client.post(
            "/v1/cameras", json=body, headers=ingest.tokens.headers(role)
        )
        assert resp.status_code == 403, role
    await ingest.camera("cam-r")
    for role in ("investigator", "rtcc_operator", "chief_security_officer", "city_auditor"):
        resp = await ingest.client.get("/v1/cameras/cam-r", headers=ingest.tokens.headers(role))
        assert resp.status_code == 200, role
    resp = await ingest.client.get("/v1/cameras", headers=ingest.tokens.headers("officer"))
    assert resp.status_code == 403
    assert (await ingest.client.get("/v1/cameras")).status_code == 401


async def test_vendor_keys_map_to_one_camera_only(ingest):
    await ingest.camera("cam-k1", keys=("AGENT-1", "ACCC8E000001"))
    resp = await ingest.client.post(
        "/v1/cameras",
        json={
            "id": "cam-k2",
            "name": "x",
            "vendor": "axis",
            "camera_type": "trailer",
            "location": DOWNTOWN,
            "vendor_keys": ["ACCC8E000001"],
        },
        headers=ingest.admin(),
    )
    assert resp.status_code == 409
    assert (
        await ingest.client.post(
            "/v1/cameras",
            json={"id": "cam-k1", "name": "x", "vendor": "axis", "camera_type": "vehicle"},
            headers=ingest.admin(),
        )
    ).status_code == 409


async def test_retiring_a_camera_refuses_its_reads_and_frees_its_keys(ingest):
    await ingest.camera("cam-old", keys=("KEY-OLD",))
    retired = await ingest.client.delete("/v1/cameras/cam-old", headers=ingest.admin())
    assert retired.status_code == 200
    assert retired.json()["status"] == "retired" and retired.json()["vendor_keys"] == []
    resp = await ingest.post([ingest.read("cam-old")])
    assert resp.json()["rejected"] == 1 and "retired" in resp.json()["rejections"][0]["reason"]
    await ingest.camera("cam-new", keys=("KEY-OLD",))
    resp = await ingest.post([ingest.read("KEY-OLD")], headers=ingest.camera_client("cam-new"))
    assert resp.json()["stored"] == 1
    assert resp.json()["reads"][0]["camera_id"] == "cam-new"
    events = await ingest.events("ingest.camera_retired", "audit")
    assert events[0]["data"]["vendor_keys"] == ["KEY-OLD"]
    assert (
        await ingest.client.patch("/v1/cameras/cam-old", json={"name": "y"}, headers=ingest.admin())
    ).status_code == 409


async def test_camera_changes_go_to_audit(ingest):
    await ingest.camera("cam-ev")
    await ingest.client.patch(
        "/v1/cameras/cam-ev", json={"name": "renamed"}, headers=ingest.admin()
    )
    registered = await ingest.events("ingest.camera_registered", "audit")
    assert registered[0]["data"]["camera_id"] == "cam-ev"
    assert registered[0]["data"]["camera_type"] == "trailer"
    assert registered[0]["data"]["zip_code"] == "78701"
    updated = await ingest.events("ingest.camera_updated", "audit")
    assert updated[0]["data"]["changes"] == {"name": "renamed"}


async def test_camera_client_posts_only_for_its_own_cameras(ingest):
    await ingest.camera("cam-mine", keys=("MINE-KEY",))
    await ingest.camera("cam-other")
    mine = ingest.camera_client("cam-mine")
    mixed = await ingest.post(
        [ingest.read("cam-mine"), ingest.read("cam-other", "QRS555")], headers=mine
    )
    assert mixed.status_code == 200
    assert mixed.json()["stored"] == 1 and mixed.json()["rejected"] == 1
    assert mixed.json()["rejections"][0] == {
        "index": 1,
        "vendor_read_id": None,
        "field": "camera",
        "reason": "this client is not bound to camera 'cam-other'",
    }
    # By vendor key too.
    assert (await ingest.post([ingest.read("MINE-KEY", "JKL111")], headers=mine)).json()[
        "stored"
    ] == 1
    only_others = await ingest.post([ingest.read("cam-other", "QRS556")], headers=mine)
    assert only_others.status_code == 403
    person = ingest.tokens.headers("investigator")
    assert (await ingest.post([ingest.read("cam-mine")], headers=person)).status_code == 403


@pytest.mark.policy("344.3.1(b)")
async def test_stale_cameras_are_listed(ingest, app):
    app.state.runtime.settings.stale_after_minutes = 30
    await ingest.camera("cam-quiet")
    await ingest.camera("cam-busy")
    ingest.clock.advance(minutes=45)
    await ingest.post([ingest.read("cam-busy")])
    headers = ingest.tokens.headers("chief_security_officer")
    resp = await ingest.client.get("/v1/camera-statuses", headers=headers)
    assert resp.status_code == 200
    by_id = {s["camera_id"]: s for s in resp.json()["items"]}
    assert by_id["cam-quiet"]["stale"] is True and by_id["cam-quiet"]["last_read_at"] is None
    assert by_id["cam-busy"]["stale"] is False and by_id["cam-busy"]["last_read_at"]
    stale = await ingest.client.get("/v1/camera-statuses?stale=true", headers=headers)
    assert [s["camera_id"] for s in stale.json()["items"]] == ["cam-quiet"]
    ingest.clock.advance(minutes=31)
    stale = await ingest.client.get("/v1/camera-statuses?stale=true", headers=headers)
    assert {s["camera_id"] for s in stale.json()["items"]} == {"cam-quiet", "cam-busy"}


@pytest.mark.policy("344.3.1(b)")
async def test_openalpr_heartbeat_updates_camera_health(ingest, app):
    from tests.helpers.ingest import NOW

    app.state.runtime.settings.stale_after_minutes = 30
    key = "K7Q2ZT9WMB4XH1N8RC6VJ3PD0LFY5GSA2E7UQ9TB-483920117"
    await ingest.camera("cam-hb", keys=(key,), vendor="openalpr")
    ingest.clock.now = NOW + timedelta(hours=2)
    from pathlib import Path

    body = (Path(__file__).parent / "fixtures/examples/openalpr_heartbeat_1.json").read_bytes()
    resp = await ingest.client.post(
        "/v1/vendor-reads/openalpr",
        content=body,
        headers={**ingest.camera_client("cam-hb"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["heartbeats"] == 1
    status = await ingest.client.get(
        "/v1/camera-statuses", headers=ingest.tokens.headers("rtcc_operator")
    )
    (item,) = [s for s in status.json()["items"] if s["camera_id"] == "cam-hb"]
    assert item["last_heartbeat_at"].startswith("2025-03-14T17:43:00")
    assert item["streaming"] is True
    # The heartbeat is older than 30 minutes at the clock's time: stale even so.
    assert item["stale"] is True
    ingest.clock.now = NOW
    status = await ingest.client.get(
        "/v1/camera-statuses", headers=ingest.tokens.headers("rtcc_operator")
    )
    (item,) = [s for s in status.json()["items"] if s["camera_id"] == "cam-hb"]
    assert item["stale"] is False


@pytest.mark.policy("344.3.1(b)")
async def test_equipment_problems_go_to_the_chief_security_officer(ingest):
    await ingest.camera("cam-broken")
    officer = ingest.tokens.headers("officer", subject="user:off7", name="Ofc. Lee")
    report = await ingest.client.post(
        "/v1/equipment-problems",
        json={
            "camera_id": "cam-broken",
            "category": "misreads",
            "description": "Reads 8 as B on every plate since the storm.",
        },
        headers=officer,
    )
    assert report.status_code == 201, report.text
    problem = report.json()
    assert problem["status"] == "open" and problem["reported_by"] == "user:off7"
    cso = ingest.tokens.headers("chief_security_officer", subject="user:cso")
    inbox = await ingest.client.get("/v1/equipment-problems?status=open", headers=cso)
    assert [p["id"] for p in inbox.json()["items"]] == [problem["id"]]
    # Only the CSO reads the inbox.
    for role in ("officer", "admin", "investigator"):
        denied = await ingest.client.get(
            "/v1/equipment-problems", headers=ingest.tokens.headers(role)
        )
        assert denied.status_code == 403
    no_text = await ingest.client.patch(
        f"/v1/equipment-problems/{problem['id']}", json={"status": "resolved"}, headers=cso
    )
    assert no_text.status_code == 422
    done = await ingest.client.patch(
        f"/v1/equipment-problems/{problem['id']}",
        json={"status": "resolved", "resolution": "Lens cleaned, OCR profile reloaded."},
        headers=cso,
    )
    assert done.json()["status"] == "resolved" and done.json()["updated_by"] == "user:cso"
    (event,) = await ingest.events("ingest.equipment_problem", "audit")
    assert event["data"]["routed_to"] == "chief_security_officer"
    assert event["data"]["camera_id"] == "cam-broken"
    assert event["data"]["reported_by"] == "user:off7"
    unknown = await ingest.client.post(
        "/v1/equipment-problems",
        json={"camera_id": "nope", "category": "other", "description": "no such camera here"},
        headers=officer,
    )
    assert unknown.status_code == 404


async def test_cached_camera_sites_are_read_again_together_when_their_time_is_up(ingest, app):
    """The read path's camera sites (INGEST_CAMERA_CACHE_SECONDS): once the time is up, every
    site held is read again in one lookup that the requests arriving meanwhile share, and a
    change another process committed (here SQL on the table, which this process's commits do
    not announce) is in force from then on."""
    now = [0.0]
    cache = CameraSiteCache(2.0, clock=lambda: now[0])
    app.state.runtime.camera_sites = cache
    cameras = [f"cam-fleet{i}" for i in range(6)]
    for camera in cameras:
        await ingest.camera(camera)
    for i, camera in enumerate(cameras):
        assert (await ingest.post([ingest.read(camera, f"FLT{i}00")])).json()["stored"] == 1
    held = cache.lookups
    for i, camera in enumerate(cameras):
        assert (await ingest.post([ingest.read(camera, f"FLT{i}01")])).json()["stored"] == 1
    assert cache.lookups == held  # all served from the cache

    async with ingest.db.sessionmaker() as session:
        await session.execute(text("UPDATE camera SET status = 'retired' WHERE id = 'cam-fleet2'"))
        await session.commit()
    now[0] += 2.5
    answers = await asyncio.gather(
        *(ingest.post([ingest.read(c, f"FLT{i}02")]) for i, c in enumerate(cameras))
    )
    assert cache.lookups == held + 1  # one lookup for the whole fleet
    stored = {c: a.json()["stored"] for c, a in zip(cameras, answers, strict=True)}
    assert stored == {c: int(c != "cam-fleet2") for c in cameras}
    assert "retired" in answers[2].json()["rejections"][0]["reason"]


class _Sites:
    """A lookup of camera sites that answers when let, or fails."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False
        self.status = "active"

    async def __call__(self, refs: list[str]) -> dict[str, CameraSite]:
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("database unreachable")
        return {r: CameraSite(r, "fixed", self.status, None, None, None, None) for r in refs}


async def _answered(task: asyncio.Task[dict[str, CameraSite]]) -> bool:
    for _ in range(5):
        await asyncio.sleep(0)
    return task.done()


async def test_a_fleet_in_steady_use_never_waits_for_its_cameras_to_be_read_again():
    """After half INGEST_CAMERA_CACHE_SECONDS the first request starts the lookup of every site
    held and goes on with what it has; the next ones use what the lookup found. Only a site past
    the whole time is never served: requests wait for the lookup then."""
    now = [0.0]
    cache, sites = CameraSiteCache(2.0, clock=lambda: now[0]), _Sites()
    assert (await cache.sites(["cam-a", "cam-b"], sites))["cam-a"].status == "active"
    assert cache.lookups == 1
    sites.gate.clear()
    sites.status = "retired"
    now[0] = 1.2  # past half: the lookup starts; the request is answered from what is held
    ahead = asyncio.create_task(cache.sites(["cam-a"], sites))
    assert await _answered(ahead) and ahead.result()["cam-a"].status == "active"
    assert cache.lookups == 2
    sites.gate.set()
    await asyncio.sleep(0)
    assert (await cache.sites(["cam-a"], sites))["cam-a"].status == "retired"
    assert cache.lookups == 2

    sites.fail = True
    now[0] = 2.4  # 1.2 s after the last lookup began: ahead again, and it fails ...
    assert (await cache.sites(["cam-b"], sites))["cam-b"].status == "retired"
    await asyncio.sleep(0)
    assert cache.lookups == 3
    now[0] = 2.8  # ... and is not tried again before the time is up
    await cache.sites(["cam-b"], sites)
    assert cache.lookups == 3
    sites.fail = False
    sites.gate.clear()
    now[0] = 3.3  # 2.1 s: the time is up; the request waits for the lookup
    expired = asyncio.create_task(cache.sites(["cam-b"], sites))
    assert not await _answered(expired)
    sites.gate.set()
    assert (await expired)["cam-b"].status == "retired"
    assert cache.lookups == 4
