"""Frigate NVR MQTT messages (docs/formats.md §3), posted by a bridge as JSON.

`frigate/tracked_object_update` (type `lpr`) and `frigate/events` (new, update, end), and the
message the frigate_plate_recognizer side-car publishes on `frigate/plate_recognizer`
(`plate_number`, `score`, `frigate_event_id`, `camera_name`, `start_time` in the host's local
time without an offset, `is_watched_plate`, and for a watched plate `original_plate` and
`fuzzy_score`). The side-car's event id is Frigate's, so its read and Frigate's own for the same
tracked object are one read.
"""

from __future__ import annotations

import re
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
from alpr_ingest.normalize import localize, normalize_confidence, parse_datetime, to_utc

NAME = "frigate"
_EVENT_ID_START = re.compile(r"(\d{9,11}\.\d+)-")
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


def _sidecar(col: Collector, payload: Payload, msg: dict[str, Any]) -> None:
    watched = msg.get("is_watched_plate") is True
    # A watched plate is reported as the list's spelling, fuzzy-matched to what was read: the
    # read is what the camera saw (`original_plate`), the watched spelling a candidate.
    plate = msg.get("original_plate") if watched else msg.get("plate_number")
    if text_or_none(plate) is None:
        col.result.ignored.append("plate_recognizer message without a plate")
        return
    vendor_id = text_or_none(msg.get("frigate_event_id"))
    raw_time = text_or_none(msg.get("start_time"))
    with col.item(index=0, vendor_id=vendor_id):
        camera = text_or_none(msg.get("camera_name"))
        if camera is None:
            raise ItemError("camera_name", "camera_name is missing")
        if raw_time is None:
            raise ItemError("start_time", "start_time is missing")
        started = _EVENT_ID_START.match(vendor_id or "")
        if started:
            # Frigate's event id starts with the object's start time as epoch seconds: the same
            # instant as `start_time`, which the side-car writes in its host's zone, no offset.
            moment = check("frigate_event_id", to_utc, started.group(1))
        else:
            moment = check("start_time", parse_datetime, raw_time)
            moment = localize(moment, tz=payload.options.local_tz, received_at=payload.received_at)
        candidates = []
        if watched and text_or_none(msg.get("plate_number")) is not None:
            candidates.append({"plate": msg["plate_number"], "confidence": None})
        col.add(
            {
                "plate": plate,
                "captured_at": moment,
                "camera": camera,
                "vendor_read_id": vendor_id,
                # Frigate's own end event for the same object is its last word.
                "group_state": "preview",
                "confidence": check("score", normalize_confidence, msg.get("score"), scale="unit"),
                "candidates": candidates,
                "device_time": raw_time,
                "source": NAME,
            },
            {
                "plate": "original_plate" if watched else "plate_number",
                "captured_at": "start_time",
                "camera": "camera_name",
                "candidates": "plate_number",
            },
        )


def parse(payload: Payload) -> AdapterResult:
    msg = load_json_object(NAME, payload.body)
    col = Collector(payload)
    kind = msg.get("type")
    if kind is None and "frigate_event_id" in msg and "plate_number" in msg:
        _sidecar(col, payload, msg)
    elif kind == "lpr":
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
            "send a frigate/tracked_object_update, frigate/events or frigate/plate_recognizer "
            "message unchanged",
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Frigate NVR and its plate-recognizer side-car (MQTT bridge)",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
