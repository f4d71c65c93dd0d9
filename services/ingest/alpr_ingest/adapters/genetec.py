"""Genetec AutoVu (docs/formats.md §4d): SharpV HTTP extension (JSON, XML) and the flat read
JSON."""

from __future__ import annotations

from datetime import UTC
from typing import Any
from xml.etree.ElementTree import Element

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    Rejection,
    as_object,
    check,
    jpeg_base64,
    load_json,
    load_xml,
    malformed,
    number_or_none,
    position,
    text_or_none,
    xml_text,
)
from alpr_ingest.normalize import (
    localize,
    normalize_confidence,
    normalize_region,
    parse_split_date,
    to_utc,
)

NAME = "genetec"
_EXPECTED = (
    "send a SharpV HTTP-extension read (JSON or XML with PlateRead) or a flat AutoVu read "
    "(JSON with Plate, DateUtc, TimeUtc)"
)


def _analytics_from_json(items: Any) -> dict[str, tuple[str | None, float | None]]:
    out: dict[str, tuple[str | None, float | None]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("Key"), str):
            out[item["Key"]] = (text_or_none(item.get("Value")), number_or_none(item.get("Score")))
    return out


def _analytics_from_xml(root: Element) -> dict[str, tuple[str | None, float | None]]:
    out: dict[str, tuple[str | None, float | None]] = {}
    # The list is doubly nested: <PlateAnalytics><PlateAnalytics><Key>...
    for item in root.iterfind("PlateAnalytics/PlateAnalytics"):
        key = xml_text(item, "Key")
        if key:
            out[key] = (
                text_or_none(xml_text(item, "Value")),
                number_or_none(xml_text(item, "Score")),
            )
    return out


def _value(analytics: dict[str, tuple[str | None, float | None]], key: str) -> str | None:
    value, score = analytics.get(key, (None, None))
    # Score -1 means the Sharp could not evaluate this attribute.
    if score is not None and score < 0:
        return None
    return value


def _sharpv(col: Collector, read: dict[str, Any], index: int, prefix: str) -> None:
    analytics = read["analytics"]
    vendor_id = text_or_none(read.get("Id"))
    with col.item(index=index, vendor_id=vendor_id):
        raw_time = text_or_none(read.get("Timestamp"))
        if raw_time is None:
            raise ItemError(f"{prefix}Timestamp", "Timestamp is missing")
        # The JSON sample has no offset; the Sharp stamps reads in UTC.
        captured_at = check(f"{prefix}Timestamp", to_utc, raw_time, tz=UTC)
        camera = text_or_none(read.get("SourceUrl")) or text_or_none(read.get("LprCameraName"))
        if camera is None:
            raise ItemError(f"{prefix}SourceUrl", "SourceUrl (the Sharp name) is missing")
        vehicle = {
            "type": _value(analytics, "Vehicle Type"),
            "color": _value(analytics, "Vehicle Color"),
            "make": _value(analytics, "Vehicle Make"),
            "model": _value(analytics, "Vehicle Model"),
            "direction": _value(analytics, "Relative Motion"),
        }
        col.add(
            {
                "plate": read.get("PlateRead"),
                "region": normalize_region(
                    _value(analytics, "State Name"),
                    country=_value(analytics, "Context"),
                    strict=False,
                ),
                "captured_at": captured_at,
                "camera": camera,
                "camera_label": text_or_none(read.get("LprCameraName")),
                "vendor_read_id": vendor_id,
                "confidence": check(
                    f"{prefix}PlateAnalytics[Confidence Score]",
                    normalize_confidence,
                    _value(analytics, "Confidence Score"),
                    scale="percent",
                ),
                "position": position(
                    read.get("Latitude"), read.get("Longitude"), f"{prefix}Latitude"
                ),
                "vehicle": vehicle if any(vehicle.values()) else None,
                "image": jpeg_base64(read.get("ContextImage"))
                or jpeg_base64(read.get("PlateImage")),
                "device_time": raw_time,
                "source": NAME,
            },
            {
                "plate": f"{prefix}PlateRead",
                "captured_at": f"{prefix}Timestamp",
                "camera": f"{prefix}SourceUrl",
            },
        )


def _flat(col: Collector, payload: Payload, read: dict[str, Any], index: int, prefix: str) -> None:
    attributes = as_object(read.get("Attributes"))
    vendor_id = text_or_none(read.get("VehicleID"))
    with col.item(index=index, vendor_id=vendor_id):
        date_text = text_or_none(read.get("DateUtc"))
        time_text = text_or_none(read.get("TimeUtc"))
        if date_text is None or time_text is None:
            raise ItemError(f"{prefix}DateUtc", "DateUtc and TimeUtc are required")
        naive = check(
            f"{prefix}DateUtc",
            parse_split_date,
            date_text,
            time_text,
            order=payload.options.date_order,
        )
        camera = text_or_none(read.get("SharpName")) or text_or_none(read.get("CameraName"))
        if camera is None:
            raise ItemError(f"{prefix}SharpName", "SharpName or CameraName is required")
        vehicle = {
            "type": text_or_none(attributes.get("Vehicle Type")),
            "color": text_or_none(attributes.get("Vehicle Color")),
            "make": text_or_none(attributes.get("Vehicle Make")),
            "model": text_or_none(attributes.get("Vehicle Model")),
            "direction": text_or_none(attributes.get("Relative Motion")),
        }
        state = text_or_none(read.get("State")) or text_or_none(attributes.get("State Name"))
        confidence = text_or_none(read.get("ConfidenceScore")) or text_or_none(
            attributes.get("Confidence Score")
        )
        col.add(
            {
                "plate": read.get("Plate"),
                "region": normalize_region(state, strict=False),
                "captured_at": localize(naive, tz=UTC),
                "camera": camera,
                "camera_label": text_or_none(read.get("CameraName")),
                "vendor_read_id": vendor_id,
                "confidence": check(
                    f"{prefix}ConfidenceScore", normalize_confidence, confidence, scale="percent"
                ),
                "position": position(
                    read.get("Latitude"), read.get("Longitude"), f"{prefix}Latitude"
                ),
                "vehicle": vehicle if any(vehicle.values()) else None,
                "image": jpeg_base64(read.get("ContextImage"))
                or jpeg_base64(read.get("OverviewImage"))
                or jpeg_base64(read.get("PlateImage")),
                "device_time": f"{date_text} {time_text}",
                "source": NAME,
            },
            {"plate": f"{prefix}Plate", "camera": f"{prefix}SharpName"},
        )


def _json(col: Collector, payload: Payload) -> None:
    body = load_json(NAME, payload.body)
    reads = body if isinstance(body, list) else [body]
    for i, read in enumerate(reads):
        prefix = f"[{i}]." if isinstance(body, list) else ""
        if isinstance(read, dict) and "PlateRead" in read:
            analytics = _analytics_from_json(read.get("PlateAnalytics"))
            _sharpv(col, {**read, "analytics": analytics}, i, prefix)
        elif isinstance(read, dict) and "Plate" in read:
            _flat(col, payload, read, i, prefix)
        elif isinstance(body, list):
            col.result.rejected.append(
                Rejection(
                    index=i,
                    vendor_id=None,
                    field=f"[{i}]",
                    reason="has neither PlateRead (SharpV) nor Plate (flat read)",
                )
            )
        else:
            raise malformed(NAME, "body", "has neither PlateRead nor Plate", _EXPECTED)


def _xml(col: Collector, payload: Payload) -> None:
    root = load_xml(NAME, payload.body)
    # <Plate> is the SharpV HTTP-extension root; a wrapper may hold several.
    plates = [root] if root.find("PlateRead") is not None else root.findall(".//Plate")
    plates = [p for p in plates if p.find("PlateRead") is not None]
    if not plates:
        raise malformed(NAME, root.tag, "has no <PlateRead>", _EXPECTED)
    for i, element in enumerate(plates):
        read = {
            child: xml_text(element, child)
            for child in (
                "Id",
                "Timestamp",
                "SourceUrl",
                "LprCameraName",
                "PlateRead",
                "Latitude",
                "Longitude",
                "ContextImage",
                "PlateImage",
            )
        }
        if read["PlateRead"] is None:
            read["PlateRead"] = ""
        _sharpv(col, {**read, "analytics": _analytics_from_xml(element)}, i, "Plate/")


def parse(payload: Payload) -> AdapterResult:
    col = Collector(payload)
    if payload.media_type == "application/json":
        _json(col, payload)
    else:
        _xml(col, payload)
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Genetec AutoVu SharpV HTTP extension and flat read JSON",
    content_types=frozenset({"application/json", "application/xml", "text/xml"}),
    parse=parse,
)
