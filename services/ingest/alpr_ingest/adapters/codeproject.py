"""CodeProject.AI Server's ALPR module: the body of a `/v1/vision/alpr` response.

    {"success": true, "predictions": [{"plate": "...", "label": "Plate: ...", "confidence":
     0.93, "x_min": 10, "y_min": 20, "x_max": 120, "y_max": 60}], "count": 1, ...}

It is an answer to one image, so it names neither a camera nor a time: whoever relays it (a
Blue Iris or Frigate script) posts it with the camera (`?camera=`, or the client's only camera)
and the time the image was taken (`?captured_at=`, RFC 3339 with an offset). Each prediction is
one plate. The image, camera and time identify a read, so re-posting the same response is a
duplicate.
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
    synthetic_id,
    text_or_none,
)
from alpr_ingest.normalize import normalize_confidence

NAME = "codeproject"
_LABEL_PREFIX = "plate:"


def _plate(prediction: dict[str, Any]) -> Any:
    plate = prediction.get("plate")
    if text_or_none(plate) is not None:
        return plate
    # Older module versions put the text only in the label: "Plate: <text>".
    label = text_or_none(prediction.get("label"))
    if label is not None and label.lower().startswith(_LABEL_PREFIX):
        return label[len(_LABEL_PREFIX) :].strip()
    return plate


def parse(payload: Payload) -> AdapterResult:
    msg = load_json_object(NAME, payload.body)
    col = Collector(payload)
    if msg.get("success") is False:
        error = text_or_none(msg.get("error")) or "no error given"
        col.result.ignored.append(f"CodeProject.AI reported a failed inference ({error[:200]})")
        return col.result
    predictions = msg.get("predictions")
    if not isinstance(predictions, list):
        raise malformed(
            NAME,
            "predictions",
            "is missing or not a list",
            "send the /v1/vision/alpr response body unchanged",
        )
    camera = payload.options.camera_key
    captured_at = payload.options.captured_at
    if predictions and camera is None:
        raise malformed(
            NAME,
            "camera",
            "is not given: a CodeProject.AI response names no camera",
            "post it to /v1/vendor-reads/codeproject?camera=<camera key>",
        )
    if predictions and captured_at is None:
        raise malformed(
            NAME,
            "captured_at",
            "is not given: a CodeProject.AI response carries no capture time",
            "add ?captured_at=<RFC 3339 time of the image, with its offset> to the URL",
        )
    if not predictions:
        col.result.ignored.append("no plate found in the image (empty predictions)")
    for i, item in enumerate(predictions):
        path = f"predictions[{i}]."
        prediction = item if isinstance(item, dict) else {}
        plate = _plate(prediction)
        box = tuple(prediction.get(k) for k in ("x_min", "y_min", "x_max", "y_max"))
        vendor_id = synthetic_id(NAME, camera, captured_at, plate, box)
        with col.item(index=i, vendor_id=vendor_id):
            if not prediction:
                raise ItemError(f"predictions[{i}]", "is not an object")
            col.add(
                {
                    "plate": plate,
                    "captured_at": captured_at,
                    "camera": camera,
                    "vendor_read_id": vendor_id,
                    "confidence": check(
                        f"{path}confidence",
                        normalize_confidence,
                        prediction.get("confidence"),
                        scale="unit",
                    ),
                    "source": NAME,
                },
                {"plate": f"{path}plate", "captured_at": "captured_at", "camera": "camera"},
            )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="CodeProject.AI Server ALPR module response",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
