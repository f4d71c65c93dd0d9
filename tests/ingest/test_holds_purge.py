from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select, text

from alpr_ingest import purge
from alpr_ingest.cli import COMMANDS
from alpr_ingest.models import HeldRead, PlateRead
from alpr_ingest.settings import IngestSettings
from tests.helpers.ingest import NOW

FIXTURES = Path(__file__).parent / "fixtures"
TINY_JPEG = (FIXTURES / "tiny.jpg").read_bytes()
CASE = "2025-0314-0042"


async def count(ingest, model) -> int:
    async with ingest.db.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def store(ingest, *plates, camera="cam-h", **extra):
    resp = await ingest.post([ingest.read(camera, p, **extra) for p in plates])
    assert resp.status_code == 200, resp.text
    return [r["read_id"] for r in resp.json()["reads"]]


async def hold(ingest, read_ids, *, case=CASE, category="criminal_investigation", days=365):
    return await ingest.client.post(
        "/v1/holds",
        json={
            "case_number": case,
            "category": category,
            "reason": "Stolen pickup seen leaving the burglary scene on I-35.",
            "retention_until": (NOW + timedelta(days=days)).date().isoformat(),
            "read_ids": read_ids,
        },
        headers=ingest.investigator(case=case),
    )


@pytest.mark.policy("344.4(f)")
@pytest.mark.parametrize(
    "category", ["criminal_investigation", "missing_person", "endangered_person"]
)
async def test_investigator_holds_specific_reads_for_a_case(ingest, category):
    await ingest.camera("cam-h")
    ids = await store(ingest, "HOLD1", "HOLD2", "FREE1")
    resp = await hold(ingest, ids[:2], category=category)
    assert resp.status_code == 201, resp.text
    held = resp.json()
    assert held["status"] == "active" and held["category"] == category
    assert held["case_number"] == CASE and held["read_count"] == 2
    assert sorted(r["plate"] for r in held["reads"]) == ["HOLD1", "HOLD2"]
    assert held["created_by"] == "user:inv1"
    (event,) = await ingest.events("ingest.hold_created", "audit")
    assert event["data"]["read_count"] == 2 and event["data"]["case_number"] == CASE
    listed = await ingest.client.get(
        "/v1/holds", params={"case_number": CASE}, headers=ingest.tokens.headers("supervisor")
    )
    assert [h["id"] for h in listed.json()["items"]] == [held["id"]]


@pytest.mark.policy("344.4(f)")
async def test_holds_refuse_other_categories_cases_and_unknown_reads(ingest):
    await ingest.camera("cam-h")
    ids = await store(ingest, "HOLD3")
    assert (await hold(ingest, ids, category="traffic_fines")).status_code == 422
    other_case = await ingest.client.post(
        "/v1/holds",
        json={
            "case_number": CASE,
            "category": "criminal_investigation",
            "reason": "Stolen pickup seen leaving the burglary scene.",
            "retention_until": "2030-01-01",
            "read_ids": ids,
        },
        headers=ingest.investigator(case="2025-9999"),
    )
    assert other_case.status_code == 422 and "X-ALPR-Case" in other_case.json()["detail"]
    missing = await hold(ingest, ["00000000-0000-0000-0000-000000000001"])
    assert missing.status_code == 422 and missing.json()["missing"]
    past = await hold(ingest, ids, days=-1)
    assert past.status_code == 422
    officer = ingest.tokens.headers("officer", purpose=True)
    resp = await ingest.client.post("/v1/holds", json={}, headers=officer)
    assert resp.status_code == 403


async def test_holds_are_reviewed_and_released(ingest):
    await ingest.camera("cam-h")
    ids = await store(ingest, "HOLD4")
    held = (await hold(ingest, ids)).json()
    supervisor = ingest.tokens.headers("supervisor", subject="user:sup1")
    review = await ingest.client.post(
        f"/v1/holds/{held['id']}/reviews",
        json={"notes": "Case still open; keep until trial.", "retention_until": "2027-06-30"},
        headers=supervisor,
    )
    assert review.status_code == 200, review.text
    assert review.json()["reviewed_by"] == "user:sup1"
    assert review.json()["retention_until"] == "2027-06-30"
    released = await ingest.client.post(
        f"/v1/holds/{held['id']}/releases",
        json={"reason": "Case closed after conviction."},
        headers=supervisor,
    )
    assert released.json()["status"] == "released"
    again = await ingest.client.post(
        f"/v1/holds/{held['id']}/releases",
        json={"reason": "Case closed after conviction."},
        headers=supervisor,
    )
    assert again.status_code == 409
    types = [e["type"] for e in await ingest.events(destination="audit")]
    assert "ingest.hold_reviewed" in types and "ingest.hold_released" in types


@pytest.mark.policy("344.4(e)")
async def test_case_file_export_has_manifest_and_chain_of_custody(ingest):
    await ingest.camera("cam-h")
    image = base64.b64encode(TINY_JPEG).decode()
    ids = await store(ingest, "CASE1", "CASE2", image=image)
    held = (await hold(ingest, ids)).json()
    headers = ingest.investigator(case=CASE)
    resp = await ingest.client.post(
        f"/v1/holds/{held['id']}/exports",
        json={"reason": "Discovery request from the DA's office."},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    export = resp.json()
    assert export["read_count"] == 2 and export["image_count"] == 1
    bundle = await ingest.client.get(f"/v1/case-exports/{export['id']}/bundles", headers=headers)
    assert bundle.status_code == 200
    assert bundle.headers["content-type"] == "application/zip"
    assert hashlib.sha256(bundle.content).hexdigest() == export["bundle_sha256"]
    files = zipfile.ZipFile(io.BytesIO(bundle.content))
    names = set(files.namelist())
    digest = hashlib.sha256(TINY_JPEG).hexdigest()
    assert names == {
        "reads.json", "reads.csv", "chain_of_custody.json", "manifest.json",
        f"images/{digest}.jpg",
    }  # fmt: skip
    manifest = json.loads(files.read("manifest.json"))
    for name, entry in manifest["files"].items():
        assert hashlib.sha256(files.read(name)).hexdigest() == entry["sha256"], name
    assert manifest["algorithm"] == "SHA-256" and manifest["case_number"] == CASE
    reads = json.loads(files.read("reads.json"))
    assert sorted(r["plate"] for r in reads) == ["CASE1", "CASE2"]
    rows = list(csv.DictReader(io.StringIO(files.read("reads.csv").decode())))
    assert sorted(r["plate"] for r in rows) == ["CASE1", "CASE2"]
    custody = json.loads(files.read("chain_of_custody.json"))["custody"]
    assert custody[0]["event"] == "hold_created"
    assert custody[-1]["event"] == "exported"
    assert custody[-1]["by"] == "user:inv1" and custody[-1]["by_name"] == "Det. Ines Vega"
    assert custody[-1]["why"] == "Discovery request from the DA's office."
    assert custody[-1]["at"]
    (event,) = await ingest.events("ingest.export", "audit")
    assert event["data"]["bundle_sha256"] == export["bundle_sha256"]
    assert event["data"]["case_number"] == CASE and event["data"]["actor"] == "user:inv1"
    (downloaded,) = await ingest.events("ingest.export_downloaded", "audit")
    assert downloaded["data"]["export_id"] == export["id"]
    listed = await ingest.client.get(
        f"/v1/holds/{held['id']}/exports", headers=ingest.tokens.headers("city_auditor")
    )
    (record,) = listed.json()
    assert [c["event"] for c in record["custody"]] == ["hold_created", "exported", "downloaded"]
    wrong_case = await ingest.client.get(
        f"/v1/case-exports/{export['id']}/bundles", headers=ingest.investigator(case="other-1")
    )
    assert wrong_case.status_code == 422


@pytest.mark.policy("344.4(d)")
@pytest.mark.policy("344.4(f)")
async def test_purge_removes_old_reads_keeps_held_ones_and_the_scan_counters(ingest, app):
    rt = app.state.runtime
    await ingest.camera("cam-h")
    image = base64.b64encode(TINY_JPEG).decode()
    old_ids = await store(ingest, "OLD1", "OLD2", "OLD3")
    old_image_only = await store(
        ingest, "OLDIMG", image=base64.b64encode(b"\xff\xd8\xff" + b"x" * 50).decode()
    )
    held_ids = await store(ingest, "HELD1", image=image)
    held = (await hold(ingest, [*held_ids, old_ids[0]])).json()
    counters_before = await ingest.events("ingest.scan_counts", "audit")
    assert sum(c["reads"] for e in counters_before for c in e["data"]["counts"]) == 5
    old_image_sha = hashlib.sha256(b"\xff\xd8\xff" + b"x" * 50).hexdigest()
    assert rt.images.path(old_image_sha).exists()

    ingest.clock.advance(days=31)
    fresh_ids = await store(ingest, "NEW1", captured_at=ingest.clock.now - timedelta(minutes=1))
    report = await purge.run_purge(ingest.db, rt)

    # Gone from the store and from search.
    async with ingest.db.sessionmaker() as session:
        left = (await session.execute(select(PlateRead.plate))).scalars().all()
    assert left == ["NEW1"]
    for plate in ("OLD1", "HELD1"):
        resp = await ingest.search(
            plate=plate,
            since=(NOW - timedelta(days=1)).isoformat(),
            until=(NOW + timedelta(days=1)).isoformat(),
        )
        assert resp.status_code == 422  # before the retention window
        page = (await ingest.search(plate=plate)).json()
        assert page["total"] == 0
    assert (await ingest.search(plate="NEW1")).json()["items"][0]["read_id"] == fresh_ids[0]
    # Held ones remain in the hold store and in exports, with their images.
    assert await count(ingest, HeldRead) == 2
    detail = await ingest.client.get(
        f"/v1/holds/{held['id']}", headers=ingest.investigator(case=CASE)
    )
    assert sorted(r["plate"] for r in detail.json()["reads"]) == ["HELD1", "OLD1"]
    export = await ingest.client.post(
        f"/v1/holds/{held['id']}/exports",
        json={"reason": "Export after the purge for the grand jury."},
        headers=ingest.investigator(case=CASE),
    )
    assert export.status_code == 201 and export.json()["read_count"] == 2
    assert export.json()["image_count"] == 1
    assert rt.images.path(hashlib.sha256(TINY_JPEG).hexdigest()).exists()
    assert not rt.images.path(old_image_sha).exists()
    # The scan counters audit keeps for that day are untouched; a purge report went to audit.
    counters_after = await ingest.events("ingest.scan_counts", "audit")
    assert counters_after[: len(counters_before)] == counters_before
    assert [
        c["day"] for e in counters_after[len(counters_before) :] for c in e["data"]["counts"]
    ] == [ingest.clock.now.date().isoformat()]
    (event,) = await ingest.events("ingest.purge", "audit")
    assert event["data"]["retention_days"] == 30
    assert event["data"]["cutoff"] == report["cutoff"]
    if report["method"] == "drop_partitions":
        assert [d["day"] for d in event["data"]["days"]] == ["2025-03-14"]
        assert report["partitions_dropped"] == ["purged_plate_read_p20250314"]
        async with ingest.db.sessionmaker() as session:
            tables = await session.execute(
                text("SELECT relname FROM pg_class WHERE relname LIKE '%plate_read_p20250314'")
            )
        assert tables.all() == []
    else:
        assert event["data"]["reads_purged"] == 5
    assert old_image_only


@pytest.mark.policy("344.4(f)")
async def test_hold_store_copies_go_when_the_hold_ends(ingest, app):
    rt = app.state.runtime
    await ingest.camera("cam-h")
    ids = await store(ingest, "END1")
    held = (await hold(ingest, ids, days=40)).json()
    ingest.clock.advance(days=31)
    await purge.run_purge(ingest.db, rt)
    assert await count(ingest, HeldRead) == 1
    ingest.clock.advance(days=10)  # past the hold's retention date
    report = await purge.run_purge(ingest.db, rt)
    assert report["holds_expired"] == [held["id"]]
    assert await count(ingest, HeldRead) == 0
    listed = await ingest.client.get("/v1/holds", headers=ingest.tokens.headers("supervisor"))
    assert listed.json()["items"][0]["status"] == "expired"


@pytest.mark.policy("344.4(d)")
async def test_purge_is_day_by_day_and_recent_reads_stay(ingest, app):
    rt = app.state.runtime
    await ingest.camera("cam-h")
    day_old = await store(ingest, "D1", captured_at=NOW - timedelta(days=1))
    today = await store(ingest, "D0")
    ingest.clock.advance(days=29, hours=1)  # D1 is 30 days and an hour old, D0 29 days old
    await purge.run_purge(ingest.db, rt)
    async with ingest.db.sessionmaker() as session:
        left = (await session.execute(select(PlateRead.read_id))).scalars().all()
    assert [str(x) for x in left] == today
    assert day_old


@pytest.mark.policy("344.4(d)")
def test_retention_above_thirty_days_is_refused():
    with pytest.raises(ValidationError, match=r"344\.4"):
        IngestSettings(retention_days=31)
    assert IngestSettings(retention_days=7).retention_days == 7
    assert IngestSettings().retention_days == 30


@pytest.mark.policy("344.4(d)")
def test_purge_is_a_cli_command():
    assert "purge" in COMMANDS and "partitions" in COMMANDS


def test_purge_cutoff_is_the_end_of_the_day_turning_thirty_days_old(app):
    rt = app.state.runtime
    now = datetime(2025, 3, 31, 10, 0, tzinfo=UTC)
    assert purge.purge_cutoff(rt, now) == datetime(2025, 3, 2, tzinfo=UTC)
