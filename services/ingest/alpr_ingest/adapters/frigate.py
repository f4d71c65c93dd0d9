"""Frigate NVR MQTT messages (docs/formats.md §3), posted by a bridge as JSON.

`frigate/tracked_object_update` (type `lpr`) and `frigate/events` (new, update, end).
"""

from __future__ import annotations

from typing import Any

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    check,
    load_json_object,
    malformed,
    number_or_none,
    text_or_none,
)
from alpr_ingest.normalize import normalize_confidence, to_utc

NAME = "frigate"
_EVENT_STATE = {"new": "preview", "update": "preview", "end": "final"}


def _lpr(col: Collector, msg: dict[str, Any]) -> None:
    vendor_id = text_or_none(msg.get("id"))
    with col.item(index=0, vendor_id=vendor_id):
        camera = text_or_none(msg.get("camera"))
        if camera is None:
            raise ItemError("camera", "camera is missing")
        col.add(
            {
                "plate": msg.get("plate"),
                "captured_at": check("timestamp", to_utc, msg.get("timestamp")),
                "camera": camera,
                "vendor_read_id": vendor_id,
                # lpr may fire again for the same tracked object; the end event closes it.
                "group_state": "preview",
                "confidence": check("score", normalize_confidence, msg.get("score"), scale="unit"),
                "device_time": str(msg.get("timestamp")),
                "source": NAME,
            },
            {"plate": "plate", "captured_at": "timestamp"},
        )


def _plate_and_score(after: dict[str, Any]) -> tuple[Any, Any]:
    value = after.get("recognized_license_plate")
    # The docs show a string plus `_score`; the code publishes a [plate, score] pair.
    if isinstance(value, list | tuple):
        return (value[0] if value else None), (value[1] if len(value) > 1 else None)
    return value, after.get("recognized_license_plate_score")


def _event(col: Collector, msg: dict[str, Any], kind: str) -> None:
    after = msg.get("after")
    if not isinstance(after, dict):
        raise malformed(NAME, "after", "is missing", "send the frigate/events message unchanged")
    plate, score = _plate_and_score(after)
    if plate in (None, ""):
        col.result.ignored.append(f"{kind} event without a recognised plate")
        return
    if after.get("false_positive") is True:
        col.result.ignored.append(f"{kind} event marked false_positive")
        return
    vendor_id = text_or_none(after.get("id"))
    time_key = "frame_time" if number_or_none(after.get("frame_time")) else "start_time"
    raw_time = after.get(time_key)
    with col.item(index=0, vendor_id=vendor_id):
        camera = text_or_none(after.get("camera"))
        if camera is None:
            raise ItemError("after.camera", "after.camera is missing")
        speed = number_or_none(after.get("current_estimated_speed"))
        angle = number_or_none(after.get("velocity_angle"))
        vehicle = {
            "type": text_or_none(after.get("label")),
            "direction": f"{angle:g}" if angle else None,
            "speed": speed if speed else None,
        }
        col.add(
            {
                "plate": plate,
                "captured_at": check(f"after.{time_key}", to_utc, raw_time),
                "camera": camera,
                "vendor_read_id": vendor_id,
                "group_state": _EVENT_STATE[kind],
                "confidence": check(
                    "after.recognized_license_plate_score",
                    normalize_confidence,
                    score,
                    scale="unit",
                ),
                "vehicle": vehicle if any(v is not None for v in vehicle.values()) else None,
                "device_time": str(raw_time),
                "source": NAME,
            },
            {"plate": "after.recognized_license_plate", "camera": "after.camera"},
        )


def parse(payload: Payload) -> AdapterResult:
    msg = load_json_object(NAME, payload.body)
    col = Collector(payload)
    kind = msg.get("type")
    if kind == "lpr":
        _lpr(col, msg)
    elif kind in _EVENT_STATE:
        _event(col, msg, kind)
    elif isinstance(kind, str):
        col.result.ignored.append(f"type {kind!r} carries no plate")
    else:
        raise malformed(
            NAME,
            "type",
            "is missing",
            "send a frigate/tracked_object_update or frigate/events message unchanged",
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Frigate NVR (MQTT bridge)",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
