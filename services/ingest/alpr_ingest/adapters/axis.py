"""AXIS License Plate Verifier push events (docs/formats.md §4c), multipart or JSON."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    check,
    dig,
    jpeg_base64,
    load_json_object,
    malformed,
    parse_multipart,
    position,
    text_or_none,
)
from alpr_ingest.normalize import localize, normalize_confidence, parse_datetime, to_utc

NAME = "axis"
_STATE = {"new": "preview", "updated": "preview", "lost": "final"}
_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")
_EXPECTED = "send the push event: multipart parts 'event' (JSON) and 'image', or the JSON alone"


def _envelope(payload: Payload) -> tuple[dict[str, Any], bytes | None]:
    if payload.media_type == "application/json":
        return load_json_object(NAME, payload.body), None
    parts = parse_multipart(NAME, payload)
    event = next((p for p in parts if p.name == "event"), None) or next(
        (p for p in parts if "json" in p.content_type), None
    )
    if event is None:
        raise malformed(NAME, "event", "multipart part is missing", _EXPECTED)
    image = next((p for p in parts if p.name == "image"), None) or next(
        (p for p in parts if p.data.startswith(b"\xff\xd8\xff")), None
    )
    return load_json_object(NAME, event.data, where="event"), image.data if image else None


def _plate(event: dict[str, Any]) -> tuple[Any, str]:
    for key in ("plateUTF8", "plateUnicode", "plateText", "plateASCII"):
        value = event.get(key)
        if isinstance(value, str) and value.strip():
            # `plateText` may arrive with literal \uXXXX escapes.
            return _ESCAPED.sub(lambda m: chr(int(m[1], 16)), value), key
    return event.get("plateText"), "plateText"


def _captured_at(event: dict[str, Any]) -> tuple[Any, str]:
    # `frame_timestamp` is nanoseconds of uptime, never a wall clock.
    for key in ("capture_timestamp", "capture_ts"):
        raw = text_or_none(event.get(key))
        if raw is not None and raw != "0":
            return check(key, to_utc, raw), raw
    raw = text_or_none(event.get("datetime"))
    if raw is None:
        raise ItemError("capture_timestamp", "capture_timestamp, capture_ts and datetime missing")
    parsed = check("datetime", parse_datetime, raw)
    # `YYYYMMDD HHMMSSmmm` is UTC unless it carries its own ±HHMM.
    return localize(parsed, tz=UTC), raw


def parse(payload: Payload) -> AdapterResult:
    event, image_bytes = _envelope(payload)
    col = Collector(payload)
    serial = text_or_none(dig(event, "camera_info", "SerialNumber")) or text_or_none(
        dig(event, "camera_info", "MACAddress")
    )
    car_id = text_or_none(event.get("carID"))
    # carID is a runtime track id, unique per camera; new/updated/lost share it.
    vendor_id = f"{serial}:{car_id}" if serial and car_id else None
    with col.item(index=0, vendor_id=vendor_id):
        if serial is None:
            raise ItemError("camera_info.SerialNumber", "camera_info.SerialNumber is missing")
        captured_at, device_time = _captured_at(event)
        plate, plate_path = _plate(event)
        direction = text_or_none(event.get("carMoveDirection"))
        col.add(
            {
                "plate": plate,
                # plateCountry is ISO alpha-3 (`USA`); no state is reported.
                "region": None,
                "captured_at": captured_at,
                "camera": serial,
                "camera_label": text_or_none(event.get("sensorProviderID")),
                "vendor_read_id": vendor_id,
                "group_state": _STATE.get(str(event.get("carState") or "").lower()),
                "confidence": check(
                    "plateConfidence",
                    normalize_confidence,
                    event.get("plateConfidence"),
                    scale="unit",
                ),
                "position": position(
                    dig(event, "geotag", "lat"), dig(event, "geotag", "lon"), "geotag"
                ),
                "vehicle": {"direction": direction}
                if direction and direction != "unknown"
                else None,
                "image": jpeg_base64(image_bytes),
                "device_time": device_time,
                "source": NAME,
            },
            {"plate": plate_path, "camera": "camera_info.SerialNumber", "position": "geotag"},
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="AXIS License Plate Verifier",
    content_types=frozenset({"multipart/form-data", "application/json"}),
    parse=parse,
)
