"""Survision cameras' JSON push: their XML mirrored with `@` attributes.

    {"anpr": {"@date": "<epoch ms, a string>", "@session": "1", "@id": "17",
              "decision": {"@plate": "...", "@reliability": "0..100", "@context_isoAlpha2":
                           "US", "@direction": "front", "jpeg": "<base64>", ...}}}

The message names no camera: the camera sends its serial number in the HTTP header
`survision-serial-number`, which is the camera key (else the URL's `camera`). `@session` and
`@id` number the reads (the session changes when the camera restarts), so with the serial they
make a re-sent message a duplicate.
"""

from __future__ import annotations

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    as_object,
    check,
    jpeg_base64,
    load_json_object,
    malformed,
    text_or_none,
)
from alpr_ingest.normalize import epoch_to_utc, normalize_confidence

NAME = "survision"
SERIAL_HEADER = "survision-serial-number"


def _camera(payload: Payload) -> str:
    serial = text_or_none(payload.options.headers.get(SERIAL_HEADER))
    if serial is not None:
        return serial
    if payload.options.camera_key:
        return payload.options.camera_key
    raise malformed(
        NAME,
        SERIAL_HEADER,
        "header is missing and the URL names no camera",
        "send the camera's survision-serial-number header, or post to an ingest URL with "
        "?camera=<camera key>",
    )


def parse(payload: Payload) -> AdapterResult:
    msg = load_json_object(NAME, payload.body)
    anpr = msg.get("anpr")
    if not isinstance(anpr, dict):
        raise malformed(NAME, "anpr", "is missing", "send the camera's JSON message unchanged")
    col = Collector(payload)
    camera = _camera(payload)
    decisions = anpr.get("decision")
    if decisions is None:
        col.result.ignored.append("anpr message without a decision (no plate read)")
        return col.result
    # One decision is an object; the XML-to-JSON mirror makes repeated elements a list.
    items = decisions if isinstance(decisions, list) else [decisions]
    session = text_or_none(anpr.get("@session"))
    read_id = text_or_none(anpr.get("@id"))
    raw_date = anpr.get("@date")
    for i, item in enumerate(items):
        decision = as_object(item)
        path = f"anpr.decision[{i}]." if len(items) > 1 else "anpr.decision."
        suffix = f"-{i}" if len(items) > 1 else ""
        vendor_id = f"{session}-{read_id}-{raw_date}{suffix}" if read_id is not None else None
        with col.item(index=i, vendor_id=vendor_id):
            if not decision:
                raise ItemError(path.rstrip("."), "is not an object")
            if raw_date is None:
                raise ItemError("anpr.@date", "@date is missing")
            direction = text_or_none(decision.get("@direction"))
            col.add(
                {
                    "plate": decision.get("@plate"),
                    # A country only (`@context_isoAlpha2`), never a state: the region stays
                    # unknown rather than a guess (344.2(a) allows an unknown region).
                    "region": None,
                    "captured_at": check("anpr.@date", epoch_to_utc, raw_date, "ms"),
                    "camera": camera,
                    "vendor_read_id": vendor_id,
                    "confidence": check(
                        f"{path}@reliability",
                        normalize_confidence,
                        decision.get("@reliability"),
                        scale="percent",
                    ),
                    "vehicle": {"direction": direction} if direction else None,
                    "image": jpeg_base64(decision.get("jpeg")),
                    "device_time": str(raw_date),
                    "source": NAME,
                },
                {"plate": f"{path}@plate", "captured_at": "anpr.@date", "camera": SERIAL_HEADER},
            )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Survision camera (JSON push)",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
