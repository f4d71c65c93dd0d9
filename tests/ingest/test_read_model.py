"""The native read model (`alpr_ingest.schemas.ReadIn`): what a read must carry and what it may
not, as every adapter's reads are validated against it."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import TypeAdapter

from alpr_ingest.adapters.base import ItemError, build_read
from alpr_ingest.schemas import MAX_IMAGE_BYTES, ReadIn, validate_read

TINY_JPEG = (Path(__file__).parent / "fixtures" / "tiny.jpg").read_bytes()

BASE_READ = {"plate": "ABC123", "captured_at": "2025-03-14T18:00:00Z", "camera": "cam-1"}


@pytest.mark.policy("344.2(a)")
def test_read_requires_plate_capture_time_and_camera():
    for field in ("plate", "captured_at", "camera"):
        data = {k: v for k, v in BASE_READ.items() if k != field}
        with pytest.raises(ValueError, match=field):
            validate_read(data)
    read = validate_read(BASE_READ)
    assert read.region is None  # region may be unknown


@pytest.mark.policy("344.2(a)")
def test_read_capture_time_must_carry_an_offset():
    with pytest.raises(ValueError):
        validate_read({**BASE_READ, "captured_at": "2025-03-14T18:00:00"})


def test_read_refuses_unknown_fields_and_names_missing_ones_as_a_json_client_expects():
    with pytest.raises(ValueError):
        validate_read({**BASE_READ, "received_at": "2025-03-14T18:00:00Z"})
    with pytest.raises(ItemError) as extra:
        build_read({**BASE_READ, "received_at": "2025-03-14T18:00:00Z"}, {})
    assert (extra.value.path, extra.value.reason) == (
        "received_at",
        "Extra inputs are not permitted",
    )
    missing = {k: v for k, v in BASE_READ.items() if k != "camera"}
    with pytest.raises(ItemError) as absent:
        build_read(missing, {})
    assert (absent.value.path, absent.value.reason) == ("camera", "Field required")


def test_read_region_is_validated():
    with pytest.raises(ValueError, match="ISO 3166-2"):
        validate_read({**BASE_READ, "region": "Atlantis"})


@pytest.mark.policy("344.2(a)")
def test_read_position_must_be_a_real_coordinate():
    with pytest.raises(ValueError):
        validate_read({**BASE_READ, "position": {"lat": 91, "lon": 0}})


def test_read_image_must_be_a_bounded_base64_jpeg():
    ok = validate_read({**BASE_READ, "image": base64.b64encode(TINY_JPEG).decode()})
    assert ok.image
    with pytest.raises(ValueError, match="JPEG"):
        validate_read({**BASE_READ, "image": base64.b64encode(b"GIF89a").decode()})
    with pytest.raises(ValueError, match="base64"):
        validate_read({**BASE_READ, "image": "not base64!"})
    too_big = base64.b64encode(TINY_JPEG + b"\0" * MAX_IMAGE_BYTES).decode()
    with pytest.raises(ValueError):
        validate_read({**BASE_READ, "image": too_big})


def test_read_schema_documents_every_field():
    schema = TypeAdapter(ReadIn).json_schema()
    undocumented = [
        name for name, prop in schema["properties"].items() if not prop.get("description")
    ]
    assert undocumented == []
