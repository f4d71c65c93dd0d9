"""Plate Recognizer Snapshot and Stream webhooks (docs/formats.md §2), JSON, form or multipart."""

from __future__ import annotations

from typing import Any

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    as_object,
    check,
    clean_candidates,
    dig,
    jpeg_base64,
    load_json_object,
    malformed,
    number_or_none,
    parse_form,
    parse_multipart,
    synthetic_id,
    text_or_none,
)
from alpr_ingest.normalize import normalize_confidence, normalize_region, to_utc

NAME = "platerecognizer"
_EXPECTED = "send the webhook body: JSON {hook, data}, or a form/multipart field 'json'"


def _envelope(payload: Payload) -> tuple[dict[str, Any], bytes | None]:
    """The JSON message and the uploaded image, whatever the transport."""
    if payload.media_type == "application/json":
        return load_json_object(NAME, payload.body), None
    if payload.media_type == "application/x-www-form-urlencoded":
        fields = parse_form(NAME, payload.body)
        if "json" not in fields:
            raise malformed(NAME, "json", "form field is missing", _EXPECTED)
        return load_json_object(NAME, fields["json"], where="json"), None
    parts = parse_multipart(NAME, payload)
    by_name = {part.name: part for part in parts if part.name}
    if "json" not in by_name:
        raise malformed(NAME, "json", "multipart field is missing", _EXPECTED)
    message = load_json_object(NAME, by_name["json"].data, where="json")
    # `upload` is the frame; `plate_img` (a plate crop) only when no frame came.
    image = by_name.get("upload") or by_name.get("plate_img")
    return message, image.data if image else None


def _plate_fields(result: dict[str, Any], path: str) -> dict[str, Any]:
    plate = result.get("plate")
    if isinstance(plate, dict):
        # detection_mode=vehicle ("Type 2"): the plate is an object with ranked props.
        texts = dig(plate, "props", "plate") or []
        regions = dig(plate, "props", "region") or []
        best = texts[0] if texts and isinstance(texts[0], dict) else {}
        return {
            "plate": best.get("value"),
            "plate_path": f"{path}plate.props.plate[0].value",
            "score": best.get("score", plate.get("score")),
            "region": dig(regions, 0, "value"),
            "region_path": f"{path}plate.props.region[0].value",
            "candidates": [(dig(t, "value"), dig(t, "score")) for t in texts],
        }
    if plate is None:
        raise ItemError(f"{path}plate", "plate is null: a vehicle without a readable plate")
    return {
        "plate": plate,
        "plate_path": f"{path}plate",
        "score": result.get("score"),
        "region": dig(result, "region", "code"),
        "region_path": f"{path}region.code",
        "candidates": [
            (dig(c, "plate"), dig(c, "score"))
            for c in result.get("candidates") or []
            if isinstance(c, dict)
        ],
    }


def _vehicle(result: dict[str, Any]) -> dict[str, Any] | None:
    vehicle = as_object(result.get("vehicle"))
    props = as_object(vehicle.get("props"))
    if props:
        make = dig(props, "make_model", 0, "make")
        model = dig(props, "make_model", 0, "model")
        color = dig(props, "color", 0, "value")
    else:
        make = dig(result, "model_make", 0, "make")
        model = dig(result, "model_make", 0, "model")
        color = dig(result, "color", 0, "color")
    # A zero score and box mean no vehicle was found around the plate.
    kind = vehicle.get("type") if number_or_none(vehicle.get("score")) else None
    direction = result.get("direction")
    speed = number_or_none(result.get("speed"))
    out = {
        "make": text_or_none(make),
        "model": text_or_none(model),
        "color": text_or_none(color) if color != "unknown" else None,
        "type": text_or_none(kind) if kind != "Unknown" else None,
        "direction": str(direction) if isinstance(direction, int | float) else None,
        "speed": speed if speed is not None and speed >= 0 else None,
    }
    return out if any(v is not None for v in out.values()) else None


def parse(payload: Payload) -> AdapterResult:
    message, upload = _envelope(payload)
    data = as_object(message.get("data"))
    if not data and "results" in message:
        data = message  # a bare recognition result, as Stream's JSON output writes it
    if not data:
        raise malformed(NAME, "data", "is missing", _EXPECTED)
    results = data.get("results")
    if not isinstance(results, list):
        raise malformed(NAME, "data.results", "is missing or not a list", _EXPECTED)
    hook = as_object(message.get("hook"))
    col = Collector(payload)
    if not results:
        col.result.ignored.append("no plate in the image (results is empty)")
        return col.result

    # Stream names the camera in hook.id too; a Snapshot hook.id is the webhook's own id.
    camera = text_or_none(data.get("camera_id"))
    if camera is None and hook.get("event") == "recognition":
        camera = text_or_none(hook.get("id"))
    camera = camera or payload.options.camera_key
    time_path = "data.timestamp"
    raw_time = data.get("timestamp")
    if raw_time is None:
        time_path, raw_time = "data.timestamp_local", data.get("timestamp_local")
    device_time = data.get("timestamp_camera") or raw_time
    image = jpeg_base64(upload)

    for i, result in enumerate(results):
        path = f"data.results[{i}]."
        vendor_id = synthetic_id(NAME, camera, raw_time, data.get("filename"), i)
        with col.item(index=i, vendor_id=vendor_id):
            if not isinstance(result, dict):
                raise ItemError(f"data.results[{i}]", "is not an object")
            if camera is None:
                raise ItemError(
                    "data.camera_id",
                    "camera_id is null: pass camera_id in the Snapshot API call",
                )
            fields = _plate_fields(result, path)
            col.add(
                {
                    "plate": fields["plate"],
                    "region": normalize_region(text_or_none(fields["region"]), strict=False),
                    "captured_at": check(time_path, to_utc, raw_time),
                    "camera": camera,
                    "vendor_read_id": vendor_id,
                    "confidence": check(
                        f"{path}score", normalize_confidence, fields["score"], scale="unit"
                    ),
                    "candidates": clean_candidates(
                        fields["candidates"], scale="unit", exclude=fields["plate"]
                    ),
                    "vehicle": _vehicle(result),
                    "image": image,
                    "device_time": str(device_time) if device_time is not None else None,
                    "source": NAME,
                },
                {
                    "plate": fields["plate_path"],
                    "region": fields["region_path"],
                    "captured_at": time_path,
                    "camera": "data.camera_id",
                },
            )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Plate Recognizer Snapshot and Stream webhooks",
    content_types=frozenset(
        {"application/json", "multipart/form-data", "application/x-www-form-urlencoded"}
    ),
    parse=parse,
)
