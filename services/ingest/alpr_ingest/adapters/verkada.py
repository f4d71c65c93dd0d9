"""Verkada LPR webhooks (docs/formats.md §4f)."""

from __future__ import annotations

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    check,
    load_json_object,
    malformed,
    synthetic_id,
    text_or_none,
)
from alpr_ingest.normalize import normalize_confidence, normalize_region, to_utc

NAME = "verkada"


def parse(payload: Payload) -> AdapterResult:
    message = load_json_object(NAME, payload.body)
    col = Collector(payload)
    kind = message.get("webhook_type")
    if kind != "lpr":
        if not isinstance(kind, str):
            raise malformed(NAME, "webhook_type", "is missing", "send the Verkada webhook body")
        col.result.ignored.append(f"webhook_type {kind!r} carries no read")
        return col.result
    data = message.get("data")
    if not isinstance(data, dict):
        raise malformed(NAME, "data", "is missing or not an object", "send the lpr webhook body")
    camera = text_or_none(data.get("camera_id"))
    # `detected` is the read in ms; `created` (s) is when Verkada created the record.
    time_key = "detected" if data.get("detected") is not None else "created"
    raw_time = data.get(time_key)
    vendor_id = synthetic_id(NAME, camera, raw_time, data.get("license_plate_number"))
    with col.item(index=0, vendor_id=vendor_id):
        if camera is None:
            raise ItemError("data.camera_id", "data.camera_id is missing")
        col.add(
            {
                "plate": data.get("license_plate_number"),
                "region": normalize_region(
                    text_or_none(data.get("license_plate_state")), strict=False
                ),
                "captured_at": check(f"data.{time_key}", to_utc, raw_time),
                "camera": camera,
                "vendor_read_id": vendor_id,
                "confidence": check(
                    "data.confidence", normalize_confidence, data.get("confidence"), scale="unit"
                ),
                "device_time": str(raw_time),
                "source": NAME,
            },
            {"plate": "data.license_plate_number", "camera": "data.camera_id"},
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Verkada LPR webhook",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
