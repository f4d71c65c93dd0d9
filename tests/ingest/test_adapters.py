import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alpr_common.errors import NotFound, Unprocessable, UnsupportedMediaType
from alpr_ingest.adapters import (
    FORMATS,
    AdapterResult,
    MalformedPayload,
    ParseOptions,
    UnknownFormat,
    UnsupportedContentType,
    parse,
)
from alpr_ingest.normalize import clock_skew
from alpr_ingest.schemas import MAX_IMAGE_BYTES, ReadBatchIn, ReadIn

FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = FIXTURES / "examples"
JSON = "application/json"
XML = "application/xml"
RECEIVED = datetime(2025, 3, 14, 18, 31, 13, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")
TINY_JPEG = (FIXTURES / "tiny.jpg").read_bytes()


def run(
    fmt: str,
    name: str,
    content_type: str = JSON,
    *,
    received_at: datetime = RECEIVED,
    options: ParseOptions | None = None,
) -> AdapterResult:
    return parse(
        fmt,
        content_type=content_type,
        body=(FIXTURES / name).read_bytes(),
        received_at=received_at,
        options=options,
    )


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def only_read(result: AdapterResult) -> ReadIn:
    assert not result.rejected, result.rejected
    assert len(result.reads) == 1, result.reads
    return result.reads[0]


# --- every shared example --------------------------------------------------------------------

EXAMPLE_EXPECTATIONS = {
    "axis_lpv_1_new.json": ("axis", JSON, "FNY6283", "2025-03-14T19:02:41.733+00:00"),
    "dahua_itsapi_tollgate_1.json": ("dahua", JSON, "MXD4417", "2025-03-14T18:31:12.090+00:00"),
    "frigate_events_1_update.json": ("frigate", JSON, "GZW5108", "2025-03-14T19:15:09.993215Z"),
    "frigate_lpr_1.json": ("frigate", JSON, "GZW5108", "2025-03-14T19:15:09.871204Z"),
    "genetec_autovu_read_1.json": ("genetec", JSON, "NVB8824", "2025-03-14T18:03:27Z"),
    "genetec_sharpv_http_1.json": ("genetec", JSON, "NVB8824", "2025-03-14T18:03:27.640Z"),
    "hikvision_anpr_1.xml": ("hikvision", XML, "KWX3097", "2025-03-14T13:31:12.090-05:00"),
    "openalpr_group_1.json": ("openalpr", JSON, "LMN4821", "2025-03-14T17:42:11.240Z"),
    "openalpr_results_1.json": ("openalpr", JSON, "LMN4821", "2025-03-14T17:42:11.240Z"),
    "platerecognizer_snapshot_1.json": (
        "platerecognizer",
        JSON,
        "HJV2058",
        "2025-03-14T17:45:02.118492Z",
    ),
    "platerecognizer_stream_1.json": (
        "platerecognizer",
        JSON,
        "RKT7395",
        "2025-03-14T18:11:49.205117Z",
    ),
    "verkada_lpr_1.json": ("verkada", JSON, "TXF0412", "2025-03-14T19:27:55.812Z"),
}


def test_every_shared_example_has_an_expectation():
    shipped = {p.name for p in EXAMPLES.iterdir() if p.suffix in (".json", ".xml")}
    assert shipped == set(EXAMPLE_EXPECTATIONS) | {"openalpr_heartbeat_1.json"}


@pytest.mark.policy("344.2(a)")
@pytest.mark.parametrize("name", sorted(EXAMPLE_EXPECTATIONS))
def test_shared_example_parses_to_a_complete_read(name):
    fmt, content_type, plate, captured = EXAMPLE_EXPECTATIONS[name]
    result = run(
        fmt,
        f"examples/{name}",
        content_type,
        options=ParseOptions(camera_key="dahua-tollgate-1", local_tz=CHICAGO),
    )
    assert not result.rejected
    assert result.reads[0].plate == plate
    read = result.reads[0]
    assert read.captured_at == utc(captured)
    assert read.captured_at.utcoffset() == timedelta(0)
    assert read.camera
    assert read.source == fmt
    assert read.device_time
    assert read.vendor_read_id
    assert read.confidence is not None and 0 <= read.confidence <= 1


def test_shared_openalpr_heartbeat_becomes_a_camera_health_record():
    result = run("openalpr", "examples/openalpr_heartbeat_1.json")
    assert result.reads == [] and result.rejected == []
    (beat,) = result.heartbeats
    assert beat.camera == "K7Q2ZT9WMB4XH1N8RC6VJ3PD0LFY5GSA2E7UQ9TB-483920117"
    assert beat.camera_label == "ATX I-35 NB @ E 6th St"
    assert beat.streaming is True
    assert beat.at == utc("2025-03-14T17:43:00.004Z")


def test_example_regions_become_iso_3166_2():
    options = ParseOptions(camera_key="x")
    regions = {
        name: [r.region for r in run(fmt, f"examples/{name}", ct, options=options).reads]
        for name, (fmt, ct, _, _) in EXAMPLE_EXPECTATIONS.items()
    }
    assert regions["openalpr_group_1.json"] == ["US-TX"]
    assert regions["platerecognizer_snapshot_1.json"] == ["US-TX", "US-OK"]
    assert regions["genetec_autovu_read_1.json"] == ["US-TX"]
    assert regions["verkada_lpr_1.json"] == ["US-TX"]
    assert regions["axis_lpv_1_new.json"] == [None]  # plateCountry USA carries no state
    assert regions["dahua_itsapi_tollgate_1.json"] == [None]  # Region ""


# --- registry, content types, whole-payload errors ------------------------------------------


def test_formats_are_url_safe_and_declare_content_types():
    assert set(FORMATS) == {
        "native",
        "openalpr",
        "platerecognizer",
        "genetec",
        "hikvision",
        "axis",
        "verkada",
        "dahua",
        "frigate",
        "survision",
        "codeproject",
    }
    for name, adapter in FORMATS.items():
        assert name == adapter.name and name.isascii() and name.isalnum()
        assert adapter.content_types


def test_unknown_format_is_a_not_found_naming_the_known_ones():
    with pytest.raises(UnknownFormat) as err:
        parse("flock", content_type=JSON, body=b"{}", received_at=RECEIVED)
    assert isinstance(err.value, NotFound)
    assert "openalpr" in err.value.detail and err.value.status_code == 404


def test_wrong_content_type_is_unsupported_media_type_listing_accepted_types():
    with pytest.raises(UnsupportedContentType) as err:
        run("openalpr", "examples/openalpr_group_1.json", "text/plain")
    assert isinstance(err.value, UnsupportedMediaType)
    assert "application/json" in err.value.detail
    assert err.value.extra["accepted"] == ["application/json"]


def test_content_type_parameters_and_case_are_ignored():
    result = run("openalpr", "examples/openalpr_group_1.json", "Application/JSON; charset=UTF-8")
    assert len(result.reads) == 1


@pytest.mark.parametrize(
    ("fmt", "content_type", "body", "mentions"),
    [
        ("openalpr", JSON, b"{not json", "not valid JSON"),
        ("openalpr", JSON, b"[1, 2]", "not an object"),
        ("openalpr", JSON, b'{"camera_id": 4}', "data_type"),
        ("openalpr", JSON, b'{"data_type": "alpr_results", "epoch_time": 1}', "results"),
        ("openalpr", JSON, b'{"data_type": "alpr_group", "confidence": NaN}', "NaN"),
        ("platerecognizer", JSON, b'{"hook": {}}', "data"),
        ("platerecognizer", "application/x-www-form-urlencoded", b"x=1", "json"),
        ("genetec", JSON, b'{"Foo": 1}', "PlateRead"),
        ("genetec", XML, b"<Plate><Id>1</Id></Plate>", "PlateRead"),
        ("hikvision", XML, b"<EventNotificationAlert><oops>", "well-formed"),
        ("hikvision", XML, b"<Other/>", "EventNotificationAlert"),
        ("verkada", JSON, b'{"webhook_type": "lpr"}', "data"),
        ("dahua", JSON, b'{"Foo": 1}', "Picture"),
        ("frigate", JSON, b'{"id": "x"}', "type"),
        ("native", JSON, b'{"reads": []}', "1 to 1000"),
        ("axis", JSON, b"", "empty"),
    ],
)
def test_malformed_payload_raises_unprocessable_naming_the_problem(
    fmt, content_type, body, mentions
):
    with pytest.raises(MalformedPayload) as err:
        parse(fmt, content_type=content_type, body=body, received_at=RECEIVED)
    assert isinstance(err.value, Unprocessable) and err.value.status_code == 422
    assert mentions in err.value.detail
    assert err.value.detail.startswith(f"{fmt}: ")


def test_multipart_without_boundary_is_malformed():
    with pytest.raises(MalformedPayload, match="boundary"):
        run("hikvision", "hikvision_anpr_multipart.bin", "multipart/form-data")


def test_received_at_must_be_timezone_aware():
    with pytest.raises(ValueError, match="timezone-aware"):
        run("openalpr", "examples/openalpr_group_1.json", received_at=datetime(2025, 3, 14))


# --- OpenALPR / Rekor ------------------------------------------------------------------------


def test_openalpr_group_keeps_gps_vehicle_candidates_and_vehicle_crop():
    read = only_read(run("openalpr", "examples/openalpr_group_1.json"))
    assert read.position is not None and round(read.position.lat, 4) == 30.2674
    assert read.vehicle is not None
    assert (read.vehicle.make, read.vehicle.model, read.vehicle.color) == (
        "toyota",
        "camry",
        "silver-gray",
    )
    assert [c["plate"] for c in read.candidates] == ["LMN482I"]  # the read itself is not repeated
    assert read.candidates[0]["confidence"] == pytest.approx(0.724410, abs=1e-6)
    assert read.image == "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBD"
    assert read.confidence == pytest.approx(0.942187, abs=1e-6)  # 0-100 scale
    assert read.camera_label == "ATX I-35 NB @ E 6th St"
    assert read.group_state == "final"
    # The 7 frame uuids, then the same frames as the per-frame reads' ids (`<uuid>:<index>`).
    assert len(read.related_ids) == 14
    assert read.related_ids[7:] == [f"{u}:0" for u in read.related_ids[:7]]


def test_openalpr_results_confidence_is_rescaled_from_percent():
    read = only_read(run("openalpr", "examples/openalpr_results_1.json"))
    assert read.confidence == pytest.approx(0.942187, abs=1e-6)
    assert [c["plate"] for c in read.candidates] == ["LMN482I", "LHN4821", "LMN4B21"]
    assert read.vendor_read_id.endswith("-1741974131240:0")


def test_openalpr_open_source_daemon_old_region_and_site_camera_key():
    read = only_read(run("openalpr", "openalpr_results_opensource.json"))
    assert read.region == "US-TX"  # bare "tx" from agent 2.3
    assert read.camera == "atx-southlamar-cam1"
    assert read.captured_at == utc("2025-03-14T17:44:10.118Z")


def test_openalpr_frame_with_several_plates_rejects_only_the_empty_one():
    result = run("openalpr", "openalpr_results_multi_plate.json")
    assert [r.plate for r in result.reads] == ["BK4Z918", "DTR6610"]
    assert [r.region for r in result.reads] == ["US-TX", None]
    (rejection,) = result.rejected
    assert rejection.index == 1
    assert rejection.field == "results[1].plate"
    assert "empty" in rejection.reason


def test_openalpr_preview_then_final_group_share_the_vendor_read_id():
    preview = only_read(run("openalpr", "openalpr_group_v3_preview.json"))
    final = only_read(run("openalpr", "openalpr_group_v3_final.json"))
    assert preview.group_state == "preview" and final.group_state == "final"
    assert preview.vendor_read_id == final.vendor_read_id
    assert set(preview.related_ids) < set(final.related_ids)
    assert preview.captured_at == utc("2025-03-14T17:46:42.360Z")  # best_uuid_epoch_ms
    assert final.confidence > preview.confidence
    assert preview.image is not None  # v3 overview_jpeg when there is no vehicle crop
    assert [c["plate"] for c in preview.candidates] == ["GZW51O8"]


def test_openalpr_parked_group_is_ignored():
    result = run("openalpr", "openalpr_group_parked.json")
    assert result.reads == [] and result.rejected == []
    assert "parked" in result.ignored[0]


def test_openalpr_alert_and_wrapper_yield_the_same_read_as_the_group():
    group = only_read(run("openalpr", "examples/openalpr_group_1.json"))
    alert = only_read(run("openalpr", "openalpr_alert.json"))
    wrapped = only_read(run("openalpr", "openalpr_webhook_wrapper_null_type.json"))
    assert alert == group
    assert wrapped == group


def test_openalpr_old_agent_group_without_gps_or_region():
    read = only_read(run("openalpr", "openalpr_group_old_agent.json"))
    assert read.position is None  # 0,0 is "not configured"
    assert read.region is None
    assert read.captured_at == utc("2025-03-14T17:42:10.512Z")  # epoch_start fallback
    assert read.vehicle is None


def test_openalpr_heartbeat_per_stream_without_url_credentials():
    result = run("openalpr", "openalpr_heartbeat_two_streams.json")
    assert [h.streaming for h in result.heartbeats] == [True, False]
    stopped = result.heartbeats[1]
    assert stopped.camera.endswith("-771204556")
    assert stopped.fields["url"] == "rtsp://10.20.30.42:554/Streaming/Channels/101"
    assert "S3cret" not in json.dumps(stopped.fields)


@pytest.mark.parametrize("name", ["openalpr_webhook_test.json", "openalpr_vehicle_no_plate.json"])
def test_openalpr_messages_without_reads_are_acknowledged_and_ignored(name):
    result = run("openalpr", name)
    assert result.reads == [] and result.rejected == [] and result.ignored
    assert result.ack is None


def test_openalpr_retry_is_idempotent():
    first = run("openalpr", "examples/openalpr_group_1.json")
    again = run("openalpr", "examples/openalpr_group_1.json")
    assert first.reads == again.reads


# --- Plate Recognizer ------------------------------------------------------------------------


def test_platerecognizer_snapshot_two_plates_are_two_reads_upper_cased():
    result = run("platerecognizer", "examples/platerecognizer_snapshot_1.json")
    first, second = result.reads
    assert (first.plate, first.plate_raw) == ("HJV2058", "hjv2058")
    assert first.vehicle.type == "SUV" and first.vehicle.make == "Jeep"
    assert second.vehicle is None  # vehicle score 0, type Unknown
    assert first.vendor_read_id != second.vendor_read_id


def test_platerecognizer_snapshot_without_plates_is_ignored():
    result = run("platerecognizer", "platerecognizer_snapshot_no_plate.json")
    assert result.reads == [] and result.rejected == [] and result.ignored


def test_platerecognizer_snapshot_without_camera_id_is_rejected_unless_configured():
    result = run("platerecognizer", "platerecognizer_snapshot_no_camera.json")
    (rejection,) = result.rejected
    assert rejection.field == "data.camera_id"
    assert "camera_id" in rejection.reason
    configured = run(
        "platerecognizer",
        "platerecognizer_snapshot_no_camera.json",
        options=ParseOptions(camera_key="atx-congress-bridge-sb"),
    )
    assert only_read(configured).camera == "atx-congress-bridge-sb"


def test_platerecognizer_stream_multipart_keeps_the_upload_image():
    content_type = "multipart/form-data; boundary=----PRStreamBoundary7MA4YWxkTrZu0gW"
    read = only_read(run("platerecognizer", "platerecognizer_stream_multipart.bin", content_type))
    assert read.plate == "RKT7395"
    assert base64.b64decode(read.image) == TINY_JPEG
    assert read.vehicle.direction == "352"


def test_platerecognizer_stream_form_post_is_the_same_read_as_json():
    form = only_read(
        run(
            "platerecognizer",
            "platerecognizer_stream_form.txt",
            "application/x-www-form-urlencoded",
        )
    )
    as_json = only_read(run("platerecognizer", "examples/platerecognizer_stream_1.json"))
    assert form == as_json


def test_platerecognizer_stream_offsets_and_camera_clock():
    read = only_read(run("platerecognizer", "platerecognizer_stream_offsets_camera_clock.json"))
    assert read.captured_at == utc("2025-03-14T18:11:49.205117Z")  # +01:00 converted
    assert read.device_time == "2025-03-14T18:09:02.000000Z"  # timestamp_camera kept
    assert read.vehicle.speed == 42.5
    assert read.vehicle.direction is None


def test_platerecognizer_vehicle_mode_reads_plate_object_and_rejects_null_plate():
    result = run("platerecognizer", "platerecognizer_stream_vehicle_mode.json")
    (read,) = result.reads
    assert read.plate == "MVC9012" and read.region == "US-TX"
    assert read.confidence == pytest.approx(0.934)
    assert [c["plate"] for c in read.candidates] == ["MVC9O12"]
    assert (read.vehicle.make, read.vehicle.model, read.vehicle.type) == (
        "Ford",
        "F-150",
        "Pickup Truck",
    )
    (rejection,) = result.rejected
    assert rejection.index == 1
    assert rejection.field == "data.results[1].plate"
    assert "no readable plate" in rejection.reason or "null" in rejection.reason


# --- Genetec ---------------------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
def test_genetec_sharpv_json_and_xml_agree_on_shape():
    xml = only_read(run("genetec", "genetec_sharpv_http.xml", "text/xml"))
    assert xml.plate == "JKQ551"
    assert xml.region == "US-OK"
    assert xml.confidence == pytest.approx(0.88)
    assert xml.captured_at == utc("2025-03-14T18:05:01.250Z")
    assert xml.position.lat == pytest.approx(30.2611)
    assert xml.camera == "SHARPV60413"
    assert xml.vehicle.direction == "Approaching"
    assert xml.image is not None


def test_genetec_sharpv_unavailable_analytics_and_no_gps_fix():
    read = only_read(run("genetec", "genetec_sharpv_no_gps_no_state.json"))
    assert read.region is None  # "State Name" scored -1
    assert read.position is None  # 0.0, 0.0
    assert read.confidence is None
    assert read.vehicle is None
    assert read.captured_at == utc("2025-03-14T18:42:45.797Z")  # no offset: UTC


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("genetec_autovu_read_iso_date.json", None, "2025-03-14T18:03:27Z"),
        ("genetec_autovu_read_day_first.json", None, "2025-03-14T18:03:27Z"),
        ("genetec_autovu_read_ambiguous_date.json", None, "2025-04-03T09:15:00Z"),
        (
            "genetec_autovu_read_ambiguous_date.json",
            ParseOptions(date_order="DMY"),
            "2025-03-04T09:15:00Z",
        ),
    ],
)
def test_genetec_flat_read_locale_dates(name, options, expected):
    read = only_read(run("genetec", name, options=options))
    assert read.captured_at == utc(expected)


def test_genetec_flat_read_with_impossible_date_is_rejected_naming_the_field():
    result = run("genetec", "genetec_autovu_read_bad_date.json")
    (rejection,) = result.rejected
    assert rejection.field == "DateUtc"
    assert rejection.vendor_id == "4c6e8a02-3d5f-4b7c-9e1a-2f4b6d8c0e3a"


def test_genetec_accepts_a_json_list_of_reads():
    body = json.dumps(
        [
            json.loads((EXAMPLES / "genetec_sharpv_http_1.json").read_text()),
            {"Unrelated": True},
        ]
    ).encode()
    result = parse("genetec", content_type=JSON, body=body, received_at=RECEIVED)
    assert [r.plate for r in result.reads] == ["NVB8824"]
    assert result.rejected[0].index == 1


# --- Hikvision -------------------------------------------------------------------------------

HIK_MULTIPART = "multipart/form-data; boundary=MIME_boundary_2f1c7d"


@pytest.mark.parametrize(
    "name",
    [
        "examples/hikvision_anpr_1.xml",
        "hikvision_anpr_hikvision_ns_float_confidence.xml",
        "hikvision_anpr_nvr_prefixed.xml",
        "hikvision_anpr_nvr_prefix_undeclared.xml",
    ],
)
def test_hikvision_namespace_variants_parse_the_same(name):
    read = only_read(run("hikvision", name, "text/xml"))
    assert read.plate == "KWX3097"
    assert read.camera == "44:a6:42:9e:1c:07-ch1"
    assert read.captured_at == utc("2025-03-14T18:31:12.090Z")
    assert read.camera_label == "ATX Riverside EB @ Pleasant Valley"


def test_hikvision_float_confidence_on_percent_scale():
    read = only_read(run("hikvision", "hikvision_anpr_hikvision_ns_float_confidence.xml", XML))
    assert read.confidence == pytest.approx(0.925)


def test_hikvision_old_firmware_legacy_plate_tag_and_mac_format():
    read = only_read(run("hikvision", "hikvision_anpr_stdcgi_v10_old_firmware.xml", XML))
    assert (read.plate, read.plate_raw) == ("HJV2058", "HJV 2058")
    assert read.camera == "44:a6:42:9e:1c:08-ch1"
    assert read.vehicle.direction == "reverse"


def test_hikvision_unknown_plate_is_rejected_per_item():
    result = run("hikvision", "hikvision_anpr_unknown_plate.xml", XML)
    assert result.reads == []
    (rejection,) = result.rejected
    assert rejection.field == "ANPR/licensePlate"
    assert "unknown" in rejection.reason
    assert rejection.vendor_id == "9f402ea1-5076-4dbf-8c84-3eaf6b5d2f97"


def test_hikvision_resend_has_the_same_vendor_read_id():
    first = only_read(run("hikvision", "examples/hikvision_anpr_1.xml", XML))
    resend = only_read(run("hikvision", "hikvision_anpr_resend.xml", XML))
    assert first.vendor_read_id == resend.vendor_read_id == "6c1f0b7e-2d43-4a8e-9f51-0b7d3e2a9c64"


def test_hikvision_multipart_keeps_the_scene_picture():
    read = only_read(run("hikvision", "hikvision_anpr_multipart.bin", HIK_MULTIPART))
    assert read.plate == "KWX3097"
    assert b"SCENE" in base64.b64decode(read.image)  # detectionPicture, not the plate crop


def test_hikvision_multipart_old_firmware_octet_stream_vehicle_picture():
    read = only_read(
        run(
            "hikvision",
            "hikvision_anpr_multipart_old_firmware.bin",
            "multipart/form-data; boundary=boundary",
        )
    )
    assert read.plate == "HJV2058"
    assert base64.b64decode(read.image).startswith(b"\xff\xd8\xff")


def test_hikvision_factory_time_zone_is_kept_and_flagged_by_clock_skew():
    read = only_read(run("hikvision", "hikvision_anpr_factory_timezone.xml", XML))
    assert read.captured_at == utc("2025-03-14T05:31:12.090Z")
    assert read.device_time == "2025-03-14T13:31:12.090+08:00"
    skew = clock_skew(read.captured_at, RECEIVED, threshold=timedelta(minutes=5))
    assert skew.flagged and skew.skew < -timedelta(hours=12)


def test_hikvision_time_without_offset_uses_configured_zone_or_receive_time():
    configured = only_read(
        run(
            "hikvision", "hikvision_anpr_no_offset.xml", XML, options=ParseOptions(local_tz=CHICAGO)
        )
    )
    inferred = only_read(run("hikvision", "hikvision_anpr_no_offset.xml", XML))
    assert configured.captured_at == inferred.captured_at == utc("2025-03-14T18:31:12.090Z")
    assert configured.device_time == "2025-03-14T13:31:12.090"


def test_hikvision_abstime_is_local_time():
    read = only_read(
        run(
            "hikvision",
            "hikvision_anpr_abstime_only.xml",
            XML,
            options=ParseOptions(local_tz=CHICAGO),
        )
    )
    assert read.captured_at == utc("2025-03-14T18:31:12.090Z")
    assert read.device_time == "20250314133112090"


@pytest.mark.policy("344.2(a)")
def test_hikvision_vehicle_mounted_unit_carries_its_gps():
    read = only_read(run("hikvision", "hikvision_anpr_vehicle_gps.xml", XML))
    assert read.position.lat == pytest.approx(30 + 16 / 60 + 1.2 / 3600)
    assert read.position.lon == pytest.approx(-(97 + 44 / 60 + 24.6 / 3600))


def test_hikvision_other_events_are_ignored_and_keepalive_is_a_heartbeat():
    vmd = run("hikvision", "hikvision_vmd_event.xml", XML)
    assert vmd.reads == [] and vmd.heartbeats == [] and "VMD" in vmd.ignored[0].upper()
    keepalive = run("hikvision", "hikvision_keepalive_videoloss.xml", XML)
    (beat,) = keepalive.heartbeats
    assert beat.camera == "44:a6:42:9e:1c:07-ch1"
    assert beat.at == utc("2025-03-14T18:31:40Z")


# --- AXIS ------------------------------------------------------------------------------------


def test_axis_new_updated_lost_are_one_vehicle_finalised_on_lost():
    new = only_read(run("axis", "examples/axis_lpv_1_new.json"))
    updated = only_read(run("axis", "axis_lpv_updated.json"))
    lost = only_read(run("axis", "axis_lpv_lost.json"))
    assert new.vendor_read_id == updated.vendor_read_id == lost.vendor_read_id
    assert [new.group_state, updated.group_state, lost.group_state] == [
        "preview",
        "preview",
        "final",
    ]
    assert new.vehicle is None and lost.vehicle.direction == "in"
    assert lost.confidence == pytest.approx(0.931204)  # a string on the wire


@pytest.mark.policy("344.2(a)")
def test_axis_geotag_is_the_read_position():
    read = only_read(run("axis", "examples/axis_lpv_1_new.json"))
    assert (read.position.lat, read.position.lon) == (30.28812, -97.73362)
    assert read.camera == "B8A44F2C71D0"


def test_axis_multipart_event_and_image():
    read = only_read(
        run("axis", "axis_lpv_multipart.bin", "multipart/form-data; boundary=axisLPVboundary91f2")
    )
    assert read.plate == "FNY6283"
    assert base64.b64decode(read.image) == TINY_JPEG


def test_axis_datetime_with_offset_and_escaped_plate_text():
    read = only_read(run("axis", "axis_lpv_datetime_offset_escaped_text.json"))
    assert read.plate == "FNY6283"
    assert read.captured_at == utc("2025-03-14T19:02:41.733Z")  # never frame_timestamp
    assert read.device_time == "20250314 200241733+0100"


def test_axis_event_without_serial_is_rejected():
    result = run("axis", "axis_lpv_no_camera_info.json")
    assert result.reads == []
    assert result.rejected[0].field == "camera_info.SerialNumber"


# --- Verkada ---------------------------------------------------------------------------------


def test_verkada_detected_is_milliseconds_created_is_seconds():
    detected = only_read(run("verkada", "examples/verkada_lpr_1.json"))
    seconds = only_read(run("verkada", "verkada_lpr_seconds_only.json"))
    assert detected.captured_at == utc("2025-03-14T19:27:55.812Z")
    assert seconds.captured_at == utc("2025-03-14T19:27:55Z")
    assert seconds.region is None  # "" is unknown


def test_verkada_other_webhook_types_are_ignored():
    result = run("verkada", "verkada_other_webhook.json")
    assert result.reads == [] and result.ignored


# --- Dahua -----------------------------------------------------------------------------------


def test_dahua_itsapi_answers_result_true_even_when_the_plate_is_rejected():
    options = ParseOptions(camera_key="dahua-tollgate-1")
    ok = run("dahua", "examples/dahua_itsapi_tollgate_1.json", options=options)
    no_plate = run("dahua", "dahua_itsapi_no_plate.json", options=options)
    assert ok.ack == no_plate.ack == {"Result": True}
    assert no_plate.reads == []
    assert no_plate.rejected[0].field == "Picture.Plate.IsExist"


def test_dahua_itsapi_without_camera_identity_is_malformed_so_the_camera_resends():
    with pytest.raises(MalformedPayload, match="camera"):
        run("dahua", "examples/dahua_itsapi_tollgate_1.json")


@pytest.mark.parametrize(
    ("received", "options", "expected"),
    [
        # TimeZone 26 is UTC-06:00; in March Austin is on daylight time, which the index omits.
        ("2025-03-14T18:31:13Z", None, "2025-03-14T18:31:12.090Z"),
        ("2025-03-14T19:31:13Z", None, "2025-03-14T19:31:12.090Z"),
        ("2025-03-14T20:00:00Z", ParseOptions(local_tz=CHICAGO), "2025-03-14T18:31:12.090Z"),
    ],
)
def test_dahua_local_accurate_time_with_time_zone_index(received, options, expected):
    opts = options or ParseOptions()
    opts = ParseOptions(local_tz=opts.local_tz, camera_key="dahua-tollgate-1")
    read = only_read(
        run(
            "dahua",
            "examples/dahua_itsapi_tollgate_1.json",
            received_at=utc(received),
            options=opts,
        )
    )
    assert read.captured_at == utc(expected)
    assert read.device_time == "2025-03-14 13:31:12.090"


def test_dahua_confidence_is_read_on_a_0_255_scale():
    read = only_read(
        run(
            "dahua",
            "examples/dahua_itsapi_tollgate_1.json",
            options=ParseOptions(camera_key="d"),
        )
    )
    assert read.confidence == pytest.approx(201 / 255, abs=1e-6)


def test_dahua_event_stream_uses_real_utc_not_local_utc():
    read = only_read(run("dahua", "dahua_event_stream.json"))
    assert read.camera == "ITC237-PW6M-ATX-7"
    assert read.captured_at == utc("2025-03-14T18:11:49.205Z")
    assert read.vendor_read_id == "48213"
    assert read.confidence == pytest.approx(160 / 255, abs=1e-6)


def test_dahua_event_with_only_local_utc_is_corrected_by_time_zone():
    read = only_read(
        run("dahua", "dahua_event_local_utc_only.json", received_at=utc("2025-03-14T18:11:50Z"))
    )
    assert read.captured_at == utc("2025-03-14T18:11:49.205Z")
    assert read.device_time == "1742001109"


def test_dahua_event_with_empty_text_is_rejected():
    result = run("dahua", "dahua_event_empty_text.json")
    assert result.reads == []
    assert result.rejected[0].field == "Data.Object.Text"


# --- Frigate ---------------------------------------------------------------------------------


def test_frigate_lpr_and_event_share_the_tracked_object_id():
    lpr = only_read(run("frigate", "examples/frigate_lpr_1.json"))
    update = only_read(run("frigate", "examples/frigate_events_1_update.json"))
    end = only_read(run("frigate", "frigate_events_end_tuple_plate.json"))
    assert lpr.vendor_read_id == update.vendor_read_id == end.vendor_read_id
    assert [lpr.group_state, update.group_state, end.group_state] == [
        "preview",
        "preview",
        "final",
    ]
    assert end.confidence == pytest.approx(0.953)  # [plate, score] tuple form
    assert end.vehicle.speed == 14.2 and end.vehicle.direction == "187"
    assert lpr.region is None  # Frigate reports no state


def test_frigate_float_seconds_timestamp():
    read = only_read(run("frigate", "frigate_lpr_known_plate.json"))
    assert read.captured_at == utc("2025-03-14T19:16:31.500Z")


@pytest.mark.parametrize(
    "name", ["frigate_events_new_no_plate.json", "frigate_description_update.json"]
)
def test_frigate_messages_without_a_plate_are_ignored(name):
    result = run("frigate", name)
    assert result.reads == [] and result.rejected == [] and result.ignored


# --- native ----------------------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
def test_native_batch_normalises_and_rejects_per_read():
    result = run("native", "native_batch_partial.json")
    assert [r.plate for r in result.reads] == ["LMN4821", "PXK7342"]
    assert [r.region for r in result.reads] == ["US-TX", "US-TX"]
    assert result.reads[0].captured_at == utc("2025-03-14T17:42:11.240Z")
    assert result.reads[1].captured_at == utc("2025-03-14T17:42:13Z")  # ms epoch
    assert {(r.index, r.field) for r in result.rejected} == {
        (1, "reads[1].plate"),
        (3, "reads[3].captured_at"),
    }


def test_native_atomic_batch_fails_whole_naming_every_bad_read():
    with pytest.raises(MalformedPayload) as err:
        run("native", "native_batch_atomic_invalid.json")
    assert "reads[1].plate" in err.value.detail and "reads[3].captured_at" in err.value.detail


def test_native_single_read_object():
    read = only_read(run("native", "native_single_read.json"))
    assert read.source == "native" and read.image is not None


def test_native_batch_model_limits():
    one = {"plate": "A1", "captured_at": "2025-03-14T18:00:00Z", "camera": "c"}
    assert len(ReadBatchIn(reads=[one] * 1000).reads) == 1000
    with pytest.raises(ValueError):
        ReadBatchIn(reads=[one] * 1001)
    with pytest.raises(ValueError):
        ReadBatchIn(reads=[])


def test_adapter_drops_an_oversize_image_but_keeps_the_read():
    group = json.loads((EXAMPLES / "openalpr_group_1.json").read_text())
    group["vehicle_crop_jpeg"] = base64.b64encode(TINY_JPEG + b"\0" * MAX_IMAGE_BYTES).decode()
    group["best_plate"]["plate_crop_jpeg"] = ""
    result = parse(
        "openalpr", content_type=JSON, body=json.dumps(group).encode(), received_at=RECEIVED
    )
    assert only_read(result).image is None
