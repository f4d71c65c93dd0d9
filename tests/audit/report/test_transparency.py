"""The public transparency page: served without login, no plate and no person in it, computed
from audit's own counters and cached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alpr_common.contracts import hotlist as hl
from alpr_common.contracts import ingest as ig
from alpr_common.contracts import sharing as sh

PLATE = "TRN4242"


def _events(ev, now: datetime) -> list[dict]:
    yesterday = now - timedelta(days=1)
    out = [
        ev.event(
            ig.CAMERA_REGISTERED,
            ig.CameraSnapshotData(
                camera_id=f"cam-{n}", name=f"cam {n}", vendor="genetec", camera_type=t,
                status="active", zip_code="78701", sector="Baker", actor="user:admin",
            ).model_dump(),
            time=now - timedelta(days=200),
        )
        for n, t in enumerate(["fixed", "fixed", "trailer", "vehicle"])
    ]  # fmt: skip
    out.append(
        ev.event(
            ig.CAMERA_RETIRED,
            ig.CameraSnapshotData(
                camera_id="cam-3", name="cam 3", vendor="genetec", camera_type="vehicle",
                status="retired", actor="user:admin",
            ).model_dump(),
            time=now - timedelta(days=100),
        )
    )  # fmt: skip
    for hid, name, status in (("h1", "NCIC stolen", "active"), ("h2", "Old BOLO", "retired")):
        data = hl.ListData(
            actor="user:m", hotlist_id=hid, name=name, source="ncic", status=status, version=1
        )
        out.append(ev.event(hl.LIST_CREATED, data.model_dump(), time=now - timedelta(days=90)))
    counts = [
        ig.ScanCount(day=yesterday.date().isoformat(), camera_type="fixed", camera_id="cam-0",
                     zip_code="78701", sector="Baker", reads=120)
    ]  # fmt: skip
    out.append(
        ev.event(
            ig.SCAN_COUNTS,
            ig.ScanCountsData(batch_id="b1", counts=counts).model_dump(),
            time=yesterday,
        )
    )
    alert = hl.AlertData(
        actor="service:hotlist", seq=1, entry_source="ncic", read_id="r1", plate=PLATE,
        match_type="exact", missing_endangered=False, origin="live", alert_id="al1", entry_id=1,
        hotlist_id="h1",
        hotlist_name="NCIC stolen", entry_type="stolen_vehicle", entry_origin="import",
        entered_by_role="hotlist_manager", camera_id="cam-0", camera_type="fixed", status="new",
    ).model_dump()  # fmt: skip
    out.append(ev.event(hl.ALERT_CREATED, alert, time=yesterday))
    search = ig.SearchData(
        purpose="criminal_investigation", case_number="2026-1", kind="plate", subject="user:i",
        criteria={"plate": PLATE}, result_count=1, returned=1, at=yesterday.isoformat(),
    )  # fmt: skip
    out += [ev.event(ig.SEARCH, search.model_dump(), time=yesterday) for _ in range(3)]
    package = sh.PackageReleasedData(
        request_id="rq1", kind="agency_data", requester_type="law_enforcement",
        agency_name="Round Rock PD", package_id="p1", read_count=2,
    )  # fmt: skip
    out.append(ev.event(sh.PACKAGE_RELEASED, package.model_dump(), time=yesterday))
    purge = ig.PurgeData(
        ran_at=yesterday.isoformat(), retention_days=30, cutoff=yesterday.isoformat(),
        method="drop_partitions", held_reads_copied=0, hold_store_reads_released=0,
        holds_expired=[], images_deleted=0,
    )  # fmt: skip
    out.append(ev.event(ig.PURGE, purge.model_dump(), time=yesterday))
    return out


@pytest.mark.policy("344.6(c)")
async def test_the_transparency_page_is_public_counts_use_and_names_no_plate(ev, send, client):
    now = datetime.now(UTC)
    await send(_events(ev, now))
    r = await client.get("/v1/transparency")
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"].startswith("public, max-age=")
    page = r.json()
    assert PLATE not in r.text and "Round Rock" not in r.text and "user:" not in r.text
    assert page["retention_days"] == 30
    assert page["cameras_by_type"] == [
        {"key": "fixed", "count": 2},
        {"key": "trailer", "count": 1},
    ]
    assert page["hotlists_in_use"] == [{"name": "NCIC stolen", "source": "ncic"}]
    window = page["last_30_days"]
    assert (window["reads"], window["queries"], window["shares"], window["hits"]) == (120, 3, 1, 1)

    html = await client.get("/v1/transparency/html")
    assert html.status_code == 200 and "<script" not in html.text
    assert PLATE not in html.text and "120" in html.text


async def test_the_page_is_cached_between_computations(ev, send, client):
    first = (await client.get("/v1/transparency")).json()
    await send(_events(ev, datetime.now(UTC)))
    again = (await client.get("/v1/transparency")).json()
    assert again == first  # within AUDIT_TRANSPARENCY_CACHE_SECONDS


def test_the_transparency_routes_declare_no_security_so_the_gateway_serves_them_publicly(app):
    paths = app.openapi()["paths"]
    for path in ("/v1/transparency", "/v1/transparency/html"):
        assert "security" not in paths[path]["get"], path
    # Everything else in audit is behind a role.
    for path, ops in paths.items():
        if not path.startswith("/v1/transparency"):
            for op in ops.values():
                assert op.get("security"), path
