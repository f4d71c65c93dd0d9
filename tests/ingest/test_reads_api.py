from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alpr_common.events import from_columns
from alpr_ingest.models import PlateRead
from tests.helpers.ingest import NOW
from tests.helpers.plans import scans

FIXTURES = Path(__file__).parent / "fixtures"
TINY_JPEG = (FIXTURES / "tiny.jpg").read_bytes()


async def stored_count(ingest) -> int:
    async with ingest.db.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(PlateRead))).scalar_one()


@pytest.mark.policy("344.2(a)")
async def test_native_batch_is_stored_and_searchable(ingest):
    await ingest.camera("cam-a", camera_type="trailer")
    resp = await ingest.post([ingest.read("cam-a", "ABC 1234"), ingest.read("cam-a", "XYZ987")])
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["stored"], body["duplicate"], body["rejected"]) == (2, 0, 0)
    assert [r["status"] for r in body["reads"]] == ["stored", "stored"]
    found = await ingest.search(plate="ABC1234")
    assert found.status_code == 200, found.text
    page = found.json()
    assert page["total"] == 1
    read = page["items"][0]
    assert read["plate"] == "ABC1234" and read["plate_raw"] == "ABC 1234"
    assert read["read_id"] == body["reads"][0]["read_id"]
    assert read["camera_type"] == "trailer"
    assert read["zip_code"] == "78701" and read["sector"] == "George"
    assert read["position"] == {"lat": 30.2674, "lon": -97.736}


@pytest.mark.policy("344.2(a)")
async def test_vehicle_camera_reads_carry_their_gps_and_get_zip_and_sector_from_it(ingest):
    await ingest.camera("patrol-1", camera_type="vehicle")
    resp = await ingest.post(
        [
            ingest.read("patrol-1", "VEH001", position={"lat": 30.2467, "lon": -97.7512}),
            ingest.read("patrol-1", "VEH002", position={"lat": 30.2450, "lon": -97.7170}),
            ingest.read("patrol-1", "VEH003", position={"lat": 30.40, "lon": -97.90}),
            ingest.read("patrol-1", "VEH004"),
        ]
    )
    body = resp.json()
    assert body["stored"] == 3 and body["rejected"] == 1
    assert body["rejections"][0]["index"] == 3
    assert body["rejections"][0]["field"] == "position"
    items = {r["plate"]: r for r in (await ingest.search(camera_id="patrol-1")).json()["items"]}
    assert (items["VEH001"]["zip_code"], items["VEH001"]["sector"]) == ("78704", "David")
    assert (items["VEH002"]["zip_code"], items["VEH002"]["sector"]) == (None, "Henry")
    assert (items["VEH003"]["zip_code"], items["VEH003"]["sector"]) == (None, None)
    assert items["VEH001"]["camera_type"] == "vehicle"


async def test_partial_batch_stores_valid_reads_and_names_each_rejection(ingest):
    await ingest.camera("cam-p")
    resp = await ingest.post(
        [
            ingest.read("cam-p", "GOOD1"),
            ingest.read("cam-p", "unknown"),
            ingest.read("no-such-camera", "GOOD2"),
            ingest.read("cam-p", "BAD*1"),
            ingest.read("cam-p", "FUT1", captured_at=NOW + timedelta(hours=1)),
            ingest.read("cam-p", "GOOD3"),
        ]
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["stored"] == 2 and body["rejected"] == 4
    by_index = {r["index"]: r for r in body["rejections"]}
    assert set(by_index) == {1, 2, 3, 4}
    assert "no-read sentinel" in by_index[1]["reason"]
    assert "unknown camera 'no-such-camera'" in by_index[2]["reason"]
    assert by_index[3]["field"] == "reads[3].plate"
    assert by_index[4]["field"] == "captured_at" and "future" in by_index[4]["reason"]
    assert await stored_count(ingest) == 2


async def test_atomic_batch_stores_nothing_when_any_read_is_bad(ingest):
    await ingest.camera("cam-at")
    good = ingest.read("cam-at", "ATOM1")
    unknown_camera = await ingest.post([good, ingest.read("nope", "ATOM2")], atomic=True)
    assert unknown_camera.status_code == 422
    assert unknown_camera.json()["rejections"][0]["index"] == 1
    malformed = await ingest.post([good, ingest.read("cam-at", "??")], atomic=True)
    assert malformed.status_code == 422
    assert "reads[1].plate" in malformed.json()["detail"]
    assert await stored_count(ingest) == 0
    assert await ingest.events("ingest.reads") == []
    ok = await ingest.post([good], atomic=True)
    assert ok.json()["stored"] == 1


async def test_reads_past_the_retention_window_are_refused(ingest):
    await ingest.camera("cam-old")
    resp = await ingest.post([ingest.read("cam-old", captured_at=NOW - timedelta(days=31))])
    assert resp.json()["rejected"] == 1
    assert "retention" in resp.json()["rejections"][0]["reason"]


async def test_clock_skew_is_flagged_keeping_device_and_receive_time(ingest):
    await ingest.camera("cam-skew")
    late = NOW - timedelta(minutes=50)
    resp = await ingest.post(
        [
            ingest.read("cam-skew", "SKEW1", captured_at=late, device_time="20250314 124113"),
            ingest.read("cam-skew", "SKEW2"),
        ]
    )
    outcomes = resp.json()["reads"]
    assert [o["clock_flagged"] for o in outcomes] == [True, False]
    read = (await ingest.search(plate="SKEW1")).json()["items"][0]
    assert read["clock_flagged"] is True
    assert read["clock_skew_seconds"] == pytest.approx(-3000)
    assert read["device_time"] == "20250314 124113"
    assert read["received_at"].startswith("2025-03-14T18:31:13")
    assert read["captured_at"].startswith("2025-03-14T17:41:13")


@pytest.mark.parametrize("atomic", [False, True])
async def test_replaying_a_batch_changes_nothing(ingest, atomic):
    await ingest.camera("cam-rep")
    batch = [
        ingest.read("cam-rep", "REP1", vendor_read_id="v-1"),
        ingest.read("cam-rep", "REP2"),
        ingest.read("cam-rep", "REP3", image=base64.b64encode(TINY_JPEG).decode()),
    ]
    first = (await ingest.post(batch, atomic=atomic)).json()
    events_before = await ingest.events()
    again = (await ingest.post(batch, atomic=atomic)).json()
    assert first["stored"] == 3
    assert (again["stored"], again["updated"], again["duplicate"]) == (0, 0, 3)
    assert [r["read_id"] for r in again["reads"]] == [r["read_id"] for r in first["reads"]]
    assert await stored_count(ingest) == 3
    assert await ingest.events() == events_before


async def test_the_same_read_twice_in_one_batch_is_stored_once(ingest):
    await ingest.camera("cam-twice")
    read = ingest.read("cam-twice", "TWICE1", vendor_read_id="dup-7")
    body = (await ingest.post([read, read])).json()
    assert [r["status"] for r in body["reads"]] == ["stored", "duplicate"]
    assert body["reads"][0]["read_id"] == body["reads"][1]["read_id"]


async def test_vendor_id_retry_with_a_shifted_time_is_a_duplicate(ingest):
    await ingest.camera("cam-shift")
    first = await ingest.post([ingest.read("cam-shift", "SHIFT1", vendor_read_id="evt-9")])
    shifted = NOW - timedelta(minutes=30)
    again = await ingest.post(
        [ingest.read("cam-shift", "SHIFT1", vendor_read_id="evt-9", captured_at=shifted)]
    )
    assert again.json()["duplicate"] == 1
    assert again.json()["reads"][0]["read_id"] == first.json()["reads"][0]["read_id"]


async def test_a_read_from_a_clock_ahead_within_the_skew_is_still_found_on_replay(ingest):
    # The duplicate lookup ends at the latest capture time the store can hold (now plus the
    # allowed skew, 300 s here), not at now: this read lies beyond now, inside the skew.
    await ingest.camera("cam-ahead")
    ahead = NOW + timedelta(seconds=240)
    first = await ingest.post(
        [ingest.read("cam-ahead", "AHEAD1", vendor_read_id="evt-ahead", captured_at=ahead)]
    )
    assert first.json()["stored"] == 1
    for moment in (ahead, NOW - timedelta(minutes=30)):
        again = await ingest.post(
            [ingest.read("cam-ahead", "AHEAD1", vendor_read_id="evt-ahead", captured_at=moment)]
        )
        assert again.json()["duplicate"] == 1
        assert again.json()["reads"][0]["read_id"] == first.json()["reads"][0]["read_id"]
    assert await stored_count(ingest) == 1


async def post_vendor(ingest, fmt, name, content_type="application/json", headers=None, **params):
    return await ingest.client.post(
        f"/v1/vendor-reads/{fmt}",
        params=params,
        content=(FIXTURES / name).read_bytes(),
        headers={**(headers or ingest.camera_client()), "Content-Type": content_type},
    )


OPENALPR_KEY = "K7Q2ZT9WMB4XH1N8RC6VJ3PD0LFY5GSA2E7UQ9TB-483920117"


async def test_openalpr_preview_then_final_group_is_one_read(ingest):
    await ingest.camera("cam-oa", keys=(OPENALPR_KEY,), vendor="openalpr")
    preview = await post_vendor(ingest, "openalpr", "openalpr_group_v3_preview.json")
    assert preview.status_code == 200, preview.text
    assert preview.json()["stored"] == 1
    read_id = preview.json()["reads"][0]["read_id"]
    final = await post_vendor(ingest, "openalpr", "openalpr_group_v3_final.json")
    assert final.json()["updated"] == 1 and final.json()["stored"] == 0
    assert final.json()["reads"][0]["read_id"] == read_id
    # Replays and a late preview change nothing.
    for name in ("openalpr_group_v3_final.json", "openalpr_group_v3_preview.json"):
        again = await post_vendor(ingest, "openalpr", name)
        assert again.json()["duplicate"] == 1, name
    assert await stored_count(ingest) == 1
    page = (await ingest.search(camera_id="cam-oa")).json()
    assert page["total"] == 1
    (read,) = page["items"]
    assert read["read_id"] == read_id and read["group_state"] == "final"
    hotlist = await ingest.events("ingest.reads", "hotlist")
    assert [e["data"]["columns"]["updated"] for e in hotlist] == [[False], [True]]
    counts = await ingest.events("ingest.scan_counts", "audit")
    assert sum(c["reads"] for e in counts for c in e["data"]["counts"]) == 1


async def test_preview_and_final_in_the_same_batch_are_one_read(ingest):
    await ingest.camera("cam-oa2", keys=(OPENALPR_KEY,), vendor="openalpr")
    from pydantic import TypeAdapter

    from alpr_ingest import adapters
    from alpr_ingest.adapters import AdapterResult
    from alpr_ingest.schemas import ReadIn

    as_json = TypeAdapter(ReadIn).dump_python
    reads = []
    for name in ("openalpr_group_v3_preview.json", "openalpr_group_v3_final.json"):
        parsed = adapters.parse(
            "openalpr",
            content_type="application/json",
            body=(FIXTURES / name).read_bytes(),
            received_at=NOW,
        )
        reads += [as_json(r, mode="json", exclude={"source"}) for r in parsed.reads]
    body = (await ingest.post(reads)).json()
    assert [r["status"] for r in body["reads"]] == ["stored", "updated"]
    assert await stored_count(ingest) == 1
    assert AdapterResult


async def test_axis_new_updated_lost_is_one_read_finalised_on_lost(ingest):
    await ingest.camera("cam-axis", keys=("B8A44F2C71D0",), vendor="axis")
    ingest.clock.advance(minutes=40)  # the AXIS capture is at 19:02
    statuses = []
    for name in ("examples/axis_lpv_1_new.json", "axis_lpv_updated.json", "axis_lpv_lost.json"):
        resp = await post_vendor(ingest, "axis", name)
        assert resp.status_code == 200, resp.text
        statuses.append(resp.json()["reads"][0]["status"])
    assert statuses[0] == "stored" and statuses[-1] == "updated"
    (read,) = (await ingest.search(camera_id="cam-axis")).json()["items"]
    assert read["group_state"] == "final"


async def test_images_are_stored_content_addressed_with_their_sha256(ingest, app):
    await ingest.camera("cam-img")
    image = base64.b64encode(TINY_JPEG).decode()
    await ingest.post(
        [
            ingest.read("cam-img", "IMG1", image=image),
            ingest.read("cam-img", "IMG2", image=image),
        ]
    )
    digest = hashlib.sha256(TINY_JPEG).hexdigest()
    items = (await ingest.search(camera_id="cam-img")).json()["items"]
    assert {i["image_sha256"] for i in items} == {digest}
    path = app.state.runtime.images.path(digest)
    assert path.read_bytes() == TINY_JPEG
    assert path.name == f"{digest}.jpg"


async def test_stored_batches_go_to_hotlist_and_scan_counts_to_audit(ingest):
    await ingest.camera("cam-ev1")
    await ingest.camera("patrol-ev", camera_type="vehicle")
    await ingest.post(
        [
            ingest.read("cam-ev1", "EVT1", region="TX", confidence=0.9),
            ingest.read("cam-ev1", "EVT2"),
            ingest.read("patrol-ev", "EVT3", position={"lat": 30.2467, "lon": -97.7512}),
        ]
    )
    (hot,) = await ingest.events("ingest.reads", "hotlist")
    first = from_columns(hot["data"]["columns"])[0]
    assert set(first) >= {
        "read_id", "plate", "region", "captured_at", "camera_id", "camera_type",
        "zip_code", "sector", "lat", "lon", "confidence",
    }  # fmt: skip
    assert (first["plate"], first["region"], first["confidence"]) == ("EVT1", "US-TX", 0.9)
    (counts,) = await ingest.events("ingest.scan_counts", "audit")
    assert counts["data"]["counts"] == [
        {
            "day": "2025-03-14",
            "camera_type": "trailer",
            "zip_code": "78701",
            "sector": "George",
            "camera_id": "cam-ev1",
            "reads": 2,
            "superseded": 0,
        },
        {
            "day": "2025-03-14",
            "camera_type": "vehicle",
            "zip_code": "78704",
            "sector": "David",
            "camera_id": "patrol-ev",
            "reads": 1,
            "superseded": 0,
        },
    ]


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        ("text/plain", b'{"reads": []}', 415),
        ("application/xml", b"<reads/>", 415),
        ("application/json", b"{not json", 422),
        ("application/json", b"", 422),
        ("application/json", b'{"reads": []}', 422),
        ("application/json", b'{"reads": [{}], "extra": 1}', 422),
        ("application/json", json.dumps({"reads": [{"plate": "A"}] * 1001}).encode(), 422),
    ],
)
async def test_bad_bodies_are_clear_client_errors(ingest, content_type, body, status):
    resp = await ingest.client.post(
        "/v1/reads",
        content=body,
        headers={**ingest.camera_client("x"), "Content-Type": content_type},
    )
    assert resp.status_code == status, resp.text
    assert resp.json()["type"] and resp.json()["detail"]


async def test_oversized_body_is_refused_before_anything_is_written(ingest, app):
    app.state.runtime.settings.max_body_bytes = 2048
    await ingest.camera("cam-big")
    reads = [ingest.read("cam-big", f"BIG{i}") for i in range(40)]
    resp = await ingest.post(reads)
    assert resp.status_code == 413
    assert await stored_count(ingest) == 0


async def test_unknown_vendor_format_is_refused(ingest):
    resp = await ingest.client.post(
        "/v1/vendor-reads/flock",
        content=b"{}",
        headers={**ingest.camera_client("x"), "Content-Type": "application/json"},
    )
    assert resp.status_code == 422


async def test_unknown_time_zone_is_a_bad_request(ingest):
    resp = await post_vendor(
        ingest, "hikvision", "hikvision_anpr_no_offset.xml", "application/xml", tz="Mars/Olympus"
    )
    assert resp.status_code == 400


async def test_dahua_gets_result_true_and_its_camera_from_the_client_or_query(ingest):
    await ingest.camera("dahua-gate-1", vendor="dahua")
    name = "examples/dahua_itsapi_tollgate_1.json"
    # The client's only camera.
    resp = await post_vendor(ingest, "dahua", name, headers=ingest.camera_client("dahua-gate-1"))
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"Result": True}
    assert (await ingest.search(camera_id="dahua-gate-1")).json()["total"] == 1
    # Retries (the camera re-sends until it sees Result true) store nothing new.
    resp = await post_vendor(
        ingest,
        "dahua",
        name,
        headers=ingest.camera_client("dahua-gate-1", "other"),
        camera="dahua-gate-1",
    )
    assert resp.json() == {"Result": True}
    assert await stored_count(ingest) == 1
    # No identity at all: the camera must resend once configured.
    resp = await post_vendor(ingest, "dahua", name, headers=ingest.camera_client("a", "b"))
    assert resp.status_code == 422


async def test_hikvision_multipart_xml_and_platerecognizer_form_transports(ingest):
    from alpr_ingest import adapters

    cases = [
        ("hikvision", "hikvision_anpr_multipart.bin", None),
        ("platerecognizer", "platerecognizer_stream_form.txt", "application/x-www-form-urlencoded"),
        ("genetec", "genetec_sharpv_http.xml", "application/xml"),
    ]
    for fmt, name, content_type in cases:
        raw = (FIXTURES / name).read_bytes()
        if content_type is None:
            boundary = raw.split(b"\r\n", 1)[0][2:].decode()
            content_type = f"multipart/form-data; boundary={boundary}"
        parsed = adapters.parse(fmt, content_type=content_type, body=raw, received_at=NOW)
        for key in {r.camera for r in parsed.reads}:
            await ingest.camera(keys=(key,), vendor=fmt)
        resp = await post_vendor(ingest, fmt, name, content_type)
        assert resp.status_code == 200, (name, resp.text)
        assert resp.json()["stored"] == len(parsed.reads), name


# PostgreSQL only: SQLite runs one writing transaction at a time, so it has no such race.
@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_a_read_stored_by_a_concurrent_request_is_reported_as_its_duplicate(
    ingest, monkeypatch
):
    """Two cameras' retries racing: the other request stored the read after this one looked.
    The fast bulk write meets the unique key, the transaction is rolled back and the batch
    stored again the careful way, and the read is answered as the duplicate it is."""
    from alpr_ingest.repository import reads as repository

    await ingest.camera("cam-race")
    first = (await ingest.post([ingest.read("cam-race", "RACE1", vendor_read_id="r-1")])).json()

    batch = [
        ingest.read("cam-race", "RACE1", vendor_read_id="r-1"),
        ingest.read("cam-race", "RACE2", vendor_read_id="r-2"),
    ]
    # The first look misses (the other request had not committed); the careful retry looks
    # the winner up for real.
    original = repository.find_by_dedup_keys
    calls = 0

    async def first_look_misses(*args, **kwargs):
        nonlocal calls
        calls += 1
        return [] if calls == 1 else await original(*args, **kwargs)

    monkeypatch.setattr(repository, "find_by_dedup_keys", first_look_misses)
    resp = await ingest.post(batch)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["stored"], body["duplicate"]) == (1, 1)
    assert body["reads"][0]["status"] == "duplicate"
    assert body["reads"][0]["read_id"] == first["reads"][0]["read_id"]
    assert body["reads"][1]["status"] == "stored"
    assert await stored_count(ingest) == 2


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("plan_mode", ["force_custom_plan", "force_generic_plan"])
async def test_the_dedup_lookup_probes_the_key_index_on_a_day_not_yet_analysed(db, plan_mode):
    """Every day starts with an empty partition that fills faster than ANALYZE runs: whatever
    plan the statistics of the moment give (custom, or generic as a prepared statement ends up
    with), the lookup of a batch's keys must stay one index probe per key, never a scan of the
    day that grows with its reads; and so must the single-statement store of a group of posts,
    for the reads and for the alias table."""
    from sqlalchemy import text

    from alpr_common.db import driver_connection
    from alpr_ingest import partitions
    from alpr_ingest.repository.reads import _FIND_BY_DEDUP_KEYS, _INSERT_NEW

    day = NOW.date()
    async with db.sessionmaker() as session:
        await partitions.ensure(session, {day - timedelta(days=1), day, day + timedelta(days=1)})
        # 20,000 reads of that day, not analysed (the test transaction is never committed).
        await session.execute(
            text(
                "INSERT INTO plate_read (read_id, captured_at, received_at, plate, plate_key, "
                "candidates, camera_id, camera_type, source, related_count, dedup_key, "
                "clock_skew_seconds, clock_flagged, posted_by) "
                "SELECT gen_random_uuid(), CAST(:day AS timestamptz) + n * interval '4 seconds', "
                ":day, 'ABC' || n, 'ABC' || n, '[]', 'cam-1', 'fixed', 'native', 0, "
                "md5(n::text) || md5(n::text), "
                "0, false, 'test' FROM generate_series(1, 20000) AS n"
            ),
            {"day": datetime.combine(day, datetime.min.time(), UTC)},
        )
        raw = await driver_connection(session)
        await raw.execute(f"SET LOCAL plan_cache_mode = {plan_mode}")
        keys = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(500)]
        lo = datetime.combine(day, datetime.min.time(), UTC) - timedelta(days=1)
        plan = await raw.fetchval(
            f"EXPLAIN (FORMAT JSON) {_FIND_BY_DEDUP_KEYS}", keys, lo, lo + timedelta(days=2)
        )
        # The store's plan, generic (as a prepared statement ends up with) and custom.
        store = await raw.prepare(f"EXPLAIN (FORMAT JSON) {_INSERT_NEW}")
        no_values = [None] * len(store.get_parameters())
        await raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        generic_store = await store.fetchval(*no_values)
        await raw.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        custom_store = await store.fetchval(*no_values)
        await session.rollback()

    found = scans(plan, "plate_read")
    assert found, plan
    assert all(kind == "Index Scan" and "dedup_key" in index for kind, index in found), found
    # The store of a group (`_INSERT_NEW`) looks its keys up the same way, and the alias table
    # (every vendor's post checks it) by its key: never read whole into a hashed subplan.
    for store in (custom_store, generic_store):
        reads = scans(store, "plate_read")
        aliases = scans(store, "read_alias")
        assert reads and aliases, store
        assert all(kind.startswith("Index") and "dedup_key" in i for kind, i in reads), reads
        assert all(kind.startswith("Index") for kind, _ in aliases), aliases
