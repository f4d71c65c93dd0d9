"""Issue 17, ingest side: one read per OpenALPR vehicle pass whichever of its frame and group
messages arrives first; Survision, CodeProject.AI and Frigate's plate-recognizer side-car;
Dahua traffic events keyed by the device serial; look-alike Cyrillic and Greek letters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from alpr_ingest import adapters
from alpr_ingest.adapters import MalformedPayload, ParseOptions
from alpr_ingest.models import PlateRead, ReadAlias
from alpr_ingest.normalize import normalize_plate
from tests.helpers.ingest import NOW

FIXTURES = Path(__file__).parent / "fixtures"
OPENALPR_KEY = "K7Q2ZT9WMB4XH1N8RC6VJ3PD0LFY5GSA2E7UQ9TB-483920117"
FRAMES = [f"openalpr_pass_frame_{n}.json" for n in (1, 2, 3)]
GROUP = "openalpr_pass_group.json"
SURVISION_SERIAL = "SVX-2291-0417"


async def post_vendor(ingest, fmt, name, *, headers=None, **params):
    return await ingest.client.post(
        f"/v1/vendor-reads/{fmt}",
        params=params,
        content=(FIXTURES / name).read_bytes(),
        headers={**ingest.camera_client(), **(headers or {}), "Content-Type": "application/json"},
    )


async def reads_of(ingest, camera_id: str) -> list:
    async with ingest.db.sessionmaker() as session:
        rows = await session.execute(select(PlateRead).where(PlateRead.camera_id == camera_id))
        return list(rows.scalars())


async def scanned(ingest) -> int:
    """Plates scanned as audit would count them: new reads less the reads merged away."""
    events = await ingest.events("ingest.scan_counts", "audit")
    counts = [c for e in events for c in e["data"]["counts"]]
    return sum(c["reads"] for c in counts) - sum(c.get("superseded", 0) for c in counts)


# --- item 1: OpenALPR frames and their group --------------------------------------------------


@pytest.mark.policy("344.6(b)1")
async def test_openalpr_frames_then_group_are_one_read_counted_once(ingest):
    await ingest.camera("cam-pass", keys=(OPENALPR_KEY,), vendor="openalpr")
    first = await post_vendor(ingest, "openalpr", FRAMES[0])
    second = await post_vendor(ingest, "openalpr", FRAMES[1])
    assert first.json()["stored"] == 1 and second.json()["stored"] == 1
    kept_id = first.json()["reads"][0]["read_id"]

    group = await post_vendor(ingest, "openalpr", GROUP)
    assert group.status_code == 200, group.text
    body = group.json()
    assert body["updated"] == 1 and body["stored"] == 0
    assert body["reads"][0]["read_id"] == kept_id
    assert any("merged" in note for note in body["notes"])
    # A frame sent after its group, and the group again, change nothing.
    late = await post_vendor(ingest, "openalpr", FRAMES[2])
    assert late.json()["duplicate"] == 1 and late.json()["reads"][0]["read_id"] == kept_id
    again = await post_vendor(ingest, "openalpr", GROUP)
    assert again.json()["duplicate"] == 1

    (read,) = await reads_of(ingest, "cam-pass")
    # The group's best plate and candidates, not the first frame's misread.
    assert str(read.read_id) == kept_id
    assert read.plate == "TRV6093" and read.group_state == "final"
    assert [c["plate"] for c in read.candidates] == ["TRV6O93"]
    assert await scanned(ingest) == 1


@pytest.mark.policy("344.6(b)1")
async def test_openalpr_group_then_frames_is_one_read(ingest):
    await ingest.camera("cam-pass2", keys=(OPENALPR_KEY,), vendor="openalpr")
    group = await post_vendor(ingest, "openalpr", GROUP)
    assert group.json()["stored"] == 1
    read_id = group.json()["reads"][0]["read_id"]
    for name in FRAMES:
        frame = await post_vendor(ingest, "openalpr", name)
        assert frame.json()["duplicate"] == 1, frame.text
        assert frame.json()["reads"][0]["read_id"] == read_id
    (read,) = await reads_of(ingest, "cam-pass2")
    assert read.plate == "TRV6093"
    assert await scanned(ingest) == 1


async def test_openalpr_purge_removes_read_aliases_with_their_reads(ingest):
    await ingest.camera("cam-pass3", keys=(OPENALPR_KEY,), vendor="openalpr")
    assert (await post_vendor(ingest, "openalpr", GROUP)).json()["stored"] == 1
    async with ingest.db.sessionmaker() as session:
        aliases = (await session.execute(select(func.count()).select_from(ReadAlias))).scalar()
    assert aliases == 5  # the first uuid keys the read itself; the 2 other uuids, 3 frame ids
    from alpr_ingest.repository import purge as purge_repo

    async with ingest.db.sessionmaker() as session:
        await purge_repo.delete_aliases_before(session, datetime(2025, 3, 15, tzinfo=UTC))
        await session.commit()
        left = (await session.execute(select(func.count()).select_from(ReadAlias))).scalar()
    assert left == 0


# --- item 5: Survision --------------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
async def test_survision_camera_is_found_by_its_serial_number_header(ingest):
    await ingest.camera("cam-sv", keys=(SURVISION_SERIAL,), vendor="survision")
    header = {"survision-serial-number": SURVISION_SERIAL}
    resp = await post_vendor(ingest, "survision", "survision_anpr_front.json", headers=header)
    assert resp.status_code == 200, resp.text
    assert resp.json()["stored"] == 1
    again = await post_vendor(ingest, "survision", "survision_anpr_front.json", headers=header)
    assert again.json()["duplicate"] == 1
    (read,) = await reads_of(ingest, "cam-sv")
    assert read.plate == "KRW5062" and read.confidence == pytest.approx(0.91)
    assert read.captured_at == datetime(2025, 3, 14, 18, 20, 11, 482000, tzinfo=UTC)
    assert read.device_time == "1741976411482" and read.image_sha256 is not None


def test_survision_without_serial_or_camera_is_refused_saying_how():
    with pytest.raises(MalformedPayload, match="survision-serial-number"):
        adapters.parse(
            "survision",
            content_type="application/json",
            body=(FIXTURES / "survision_anpr_front.json").read_bytes(),
            received_at=NOW,
        )


def test_survision_message_without_decision_is_ignored():
    result = adapters.parse(
        "survision",
        content_type="application/json",
        body=(FIXTURES / "survision_anpr_no_decision.json").read_bytes(),
        received_at=NOW,
        options=ParseOptions(headers={"survision-serial-number": SURVISION_SERIAL}),
    )
    assert not result.reads and result.ignored


# --- item 6: CodeProject.AI ---------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
async def test_codeproject_response_posted_with_camera_and_time(ingest):
    await ingest.camera("cam-cpai")
    taken = "2025-03-14T13:29:40.250-05:00"
    resp = await post_vendor(
        ingest, "codeproject", "codeproject_alpr_two_plates.json", camera="cam-cpai",
        captured_at=taken,
    )  # fmt: skip
    assert resp.status_code == 200, resp.text
    assert resp.json()["stored"] == 2
    reads = {r.plate: r for r in await reads_of(ingest, "cam-cpai")}
    assert set(reads) == {"GVT4471", "MXR2039"}
    assert reads["GVT4471"].confidence == pytest.approx(0.9412)
    assert reads["MXR2039"].plate_raw == "MXR 2039"
    assert reads["GVT4471"].captured_at == datetime(2025, 3, 14, 18, 29, 40, 250000, tzinfo=UTC)
    again = await post_vendor(
        ingest, "codeproject", "codeproject_alpr_two_plates.json", camera="cam-cpai",
        captured_at=taken,
    )  # fmt: skip
    assert again.json()["duplicate"] == 2


async def test_codeproject_without_capture_time_is_refused_saying_how(ingest):
    await ingest.camera("cam-cpai2")
    resp = await post_vendor(
        ingest, "codeproject", "codeproject_alpr_label_only.json", camera="cam-cpai2"
    )
    assert resp.status_code == 422
    assert "captured_at" in resp.json()["detail"]


def test_codeproject_label_only_and_failed_responses():
    options = ParseOptions(camera_key="cam", captured_at=NOW)
    label = adapters.parse(
        "codeproject",
        content_type="application/json",
        body=(FIXTURES / "codeproject_alpr_label_only.json").read_bytes(),
        received_at=NOW,
        options=options,
    )
    assert [r.plate for r in label.reads] == ["DKL8806"]
    failed = adapters.parse(
        "codeproject",
        content_type="application/json",
        body=(FIXTURES / "codeproject_alpr_failed.json").read_bytes(),
        received_at=NOW,
        options=options,
    )
    assert not failed.reads and "failed inference" in failed.ignored[0]


# --- item 7: Frigate's plate-recognizer side-car ------------------------------------------------


def _frigate(name: str):
    return adapters.parse(
        "frigate",
        content_type="application/json",
        body=(FIXTURES / name).read_bytes(),
        received_at=NOW,
    )


def test_frigate_sidecar_time_comes_from_the_frigate_event_id():
    (read,) = _frigate("frigate_plate_recognizer_sidecar.json").reads
    assert read.plate == "WQB3318" and read.camera == "atx_driveway_north"
    # start_time "2025-03-14 14:22:02" is the host's local time; the event id is its UTC epoch.
    assert read.captured_at == datetime(2025, 3, 14, 19, 22, 2, 734410, tzinfo=UTC)
    assert read.vendor_read_id == "1741980122.734410-k2p9qd"
    assert read.device_time == "2025-03-14 14:22:02"


def test_frigate_sidecar_watched_plate_keeps_what_was_read():
    (read,) = _frigate("frigate_plate_recognizer_watched.json").reads
    assert read.plate == "BRV662O"
    assert [c["plate"] for c in read.candidates] == ["BRV6620"]


async def test_frigate_sidecar_and_frigate_end_event_are_one_read(ingest):
    await ingest.camera("cam-frig", keys=("atx_driveway_north",), vendor="frigate")
    ingest.clock.advance(minutes=60)
    side = await post_vendor(ingest, "frigate", "frigate_plate_recognizer_sidecar.json")
    assert side.status_code == 200, side.text
    assert side.json()["stored"] == 1
    end = {
        "type": "end",
        "before": {},
        "after": {
            "id": "1741980122.734410-k2p9qd",
            "camera": "atx_driveway_north",
            "label": "car",
            "start_time": 1741980122.73441,
            "frame_time": 1741980124.1,
            "recognized_license_plate": ["WQB3318", 0.93],
        },
    }
    resp = await ingest.client.post(
        "/v1/vendor-reads/frigate", json=end, headers=ingest.camera_client()
    )
    assert resp.json()["updated"] == 1, resp.text
    assert len(await reads_of(ingest, "cam-frig")) == 1


# --- item 4: Dahua traffic events name their device ----------------------------------------------


async def test_dahua_event_finds_the_camera_by_the_serial_in_the_payload(ingest):
    await ingest.camera("cam-dahua", keys=("7J0C4A1PAZ82F19",), vendor="dahua")
    ingest.clock.now = datetime(2025, 3, 14, 18, 13, 30, tzinfo=UTC)
    # The client may post for several cameras, so the URL names none: the payload does.
    headers = ingest.camera_client("cam-dahua", "cam-other")
    resp = await ingest.client.post(
        "/v1/vendor-reads/dahua",
        content=(FIXTURES / "dahua_event_serial_in_trafficcar.json").read_bytes(),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["stored"] == 1
    (read,) = await reads_of(ingest, "cam-dahua")
    assert read.plate == "HJN5580"


def test_dahua_later_channel_of_a_device_has_its_own_key():
    body = (FIXTURES / "dahua_event_serial_in_trafficcar.json").read_bytes()
    body = body.replace(b'"Index": 0', b'"Index": 2')
    result = adapters.parse("dahua", content_type="application/json", body=body, received_at=NOW)
    assert [r.camera for r in result.reads] == ["7J0C4A1PAZ82F19-ch3"]


# --- item 9: look-alike letters -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "plate"),
    [
        ("PXK7\u041742", "PXK7342"),  # Cyrillic Ze for the digit 3
        ("\u0420\u0425\u041a7342", "PXK7342"),  # Cyrillic Er, Ha, Ka
        ("\u0391\u0392\u0395 1234", "ABE1234"),  # Greek Alpha, Beta, Epsilon
        ("\u0441\u0430\u0440 901", "CAP901"),  # lower-case Cyrillic, upper-cased first
    ],
)
def test_lookalike_cyrillic_and_greek_capitals_fold_to_ascii(raw, plate):
    assert normalize_plate(raw) == plate


@pytest.mark.parametrize("raw", ["PXK7\u041642", "\u0416\u0416\u04167", "AB\u03a3123", "\u0627123"])
def test_other_letters_stay_refused(raw):
    with pytest.raises(ValueError, match="letters A-Z"):
        normalize_plate(raw)


async def test_lookalike_plate_is_stored_folded_with_the_raw_text(ingest):
    await ingest.camera("cam-cyr")
    resp = await ingest.post([ingest.read("cam-cyr", "PXK7\u041742")])
    assert resp.json()["stored"] == 1, resp.text
    (read,) = await reads_of(ingest, "cam-cyr")
    assert read.plate == "PXK7342" and read.plate_raw == "PXK7\u041742"
    found = await ingest.search(plate="PXK7342")
    assert found.json()["total"] == 1
