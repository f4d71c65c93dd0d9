"""Hikvision ANPR `EventNotificationAlert` (docs/formats.md §4b): bare XML or multipart XML +
JPEGs."""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    Heartbeat,
    ItemError,
    Part,
    Payload,
    check,
    jpeg_base64,
    load_xml,
    malformed,
    number_or_none,
    parse_multipart,
    position,
    synthetic_id,
    text_or_none,
    xml_text,
)
from alpr_ingest.normalize import localize, normalize_confidence, parse_datetime, to_utc

NAME = "hikvision"
_XML_TYPES = frozenset({"application/xml", "text/xml"})
# Scene first: it shows the vehicle; the plate crop is the fallback (older firmware: vehicle).
_IMAGE_PREFERENCE = ("detectionPicture", "vehiclePicture", "licensePlatePicture")


def _split(payload: Payload) -> tuple[bytes, list[Part]]:
    if payload.media_type in _XML_TYPES:
        return payload.body, []
    parts = parse_multipart(NAME, payload)
    xml_part = next(
        (
            part
            for part in parts
            if "xml" in part.content_type
            or (part.name or "").lower().endswith(".xml")
            or (part.filename or "").lower().endswith(".xml")
        ),
        None,
    ) or next((part for part in parts if part.data.lstrip().startswith(b"<")), None)
    if xml_part is None:
        raise malformed(
            NAME,
            "body",
            "multipart body has no XML part",
            "send the EventNotificationAlert as a part named anpr.xml (application/xml)",
        )
    return xml_part.data, [part for part in parts if part is not xml_part]


def _image(parts: list[Part]) -> str | None:
    jpegs = [part for part in parts if part.data.startswith(b"\xff\xd8\xff")]
    for stem in _IMAGE_PREFERENCE:
        for part in jpegs:
            label = f"{part.name or ''} {part.filename or ''}"
            if stem.lower() in label.lower():
                image = jpeg_base64(part.data)
                if image:
                    return image
    for part in jpegs:
        image = jpeg_base64(part.data)
        if image:
            return image
    return None


def _camera_key(root: Element) -> str | None:
    # The MAC survives DHCP; an NVR forwarding several cameras tells them apart by channel.
    channel = xml_text(root, "channelID", "dynChannelID") or "1"
    mac = xml_text(root, "macAddress")
    if mac and mac not in ("00:00:00:00:00:00",):
        return f"{mac.lower().replace('-', ':')}-ch{channel}"
    ip = xml_text(root, "ipAddress", "ipv6Address")
    if ip:
        return f"{ip}-ch{channel}"
    return xml_text(root, "deviceID")


def _dms(element: Element | None) -> float | None:
    """A coordinate given as decimal text or as degree/minute/sec children."""
    if element is None:
        return None
    if element.text and element.text.strip():
        return number_or_none(element.text)
    parts = {child.tag.lower(): number_or_none(child.text) for child in element}
    degree = parts.get("degree")
    if degree is None:
        return None
    minute = parts.get("minute") or 0.0
    second = parts.get("sec", parts.get("second")) or 0.0
    return abs(degree) + minute / 60 + second / 3600


def _gps(root: Element) -> dict[str, float] | None:
    info = root.find(".//DeviceGPSInfo")
    if info is None:
        return None
    lat = _dms(info.find("Latitude"))
    lon = _dms(info.find("Longitude"))
    if lat is None or lon is None:
        return None
    if (xml_text(info, "latitudeType") or "N").upper().startswith("S"):
        lat = -lat
    if (xml_text(info, "longitudeType") or "E").upper().startswith("W"):
        lon = -lon
    return position(lat, lon, "DeviceGPSInfo")


def _captured_at(root: Element, anpr: Element, payload: Payload) -> tuple[Any, str]:
    raw = xml_text(root, "dateTime")
    options = payload.options
    if raw is not None:
        parsed = check("dateTime", parse_datetime, raw)
        # The offset is the camera's configured one, wrong on a factory time zone; the clock
        # skew check downstream catches that. No offset at all: the source's zone, else infer.
        return (
            check(
                "dateTime", localize, parsed, tz=options.local_tz, received_at=payload.received_at
            ),
            raw,
        )
    abs_time = xml_text(anpr, "pictureInfoList/pictureInfo/absTime")
    if abs_time is None:
        raise ItemError("dateTime", "dateTime is missing (and no pictureInfo/absTime)")
    parsed = check("pictureInfo/absTime", parse_datetime, abs_time)
    return (
        check(
            "pictureInfo/absTime",
            localize,
            parsed,
            tz=options.local_tz,
            received_at=payload.received_at,
        ),
        abs_time,
    )


def _heartbeat(col: Collector, root: Element, payload: Payload) -> None:
    camera = _camera_key(root)
    if camera is None:
        col.result.ignored.append("keep-alive without device identity")
        return
    raw = xml_text(root, "dateTime")
    try:
        at = to_utc(raw, tz=payload.options.local_tz, received_at=payload.received_at)
    except ValueError:
        at = payload.received_at
    col.result.heartbeats.append(
        Heartbeat(
            camera=camera,
            at=at,
            source=NAME,
            camera_label=xml_text(root, "channelName") or xml_text(root, "deviceID"),
            fields={"event_type": xml_text(root, "eventType"), "ip": xml_text(root, "ipAddress")},
        )
    )


def parse(payload: Payload) -> AdapterResult:
    xml, parts = _split(payload)
    root = load_xml(NAME, xml, where="EventNotificationAlert")
    if root.tag != "EventNotificationAlert":
        raise malformed(
            NAME,
            root.tag,
            "is not an EventNotificationAlert",
            "send the camera's ISAPI EventNotificationAlert XML",
        )
    col = Collector(payload)
    event_type = (xml_text(root, "eventType") or "").lower()
    state = (xml_text(root, "eventState") or "").lower()
    if event_type != "anpr":
        # The alarm host keep-alive is an inactive videoloss alert sent every few seconds.
        if event_type == "videoloss" and state == "inactive":
            _heartbeat(col, root, payload)
        else:
            col.result.ignored.append(f"eventType {event_type or 'missing'!r} is not ANPR")
        return col.result

    anpr = root.find("ANPR")
    uuid = xml_text(root, "UUID", "uuid")
    with col.item(index=0, vendor_id=uuid):
        if anpr is None:
            raise ItemError("ANPR", "the ANPR element is missing")
        camera = _camera_key(root)
        if camera is None:
            raise ItemError("macAddress", "no macAddress, ipAddress or deviceID identifies it")
        captured_at, device_time = _captured_at(root, anpr, payload)
        # Legacy firmware names the plate `plate` or `plateNumber`.
        plate_path = next(
            (tag for tag in ("licensePlate", "plateNumber", "plate") if anpr.find(tag) is not None),
            "licensePlate",
        )
        plate = xml_text(anpr, plate_path) or ""
        speed = number_or_none(xml_text(anpr, "vehicleInfo/speed"))
        vehicle = {
            "type": text_or_none(xml_text(anpr, "vehicleType")),
            "color": text_or_none(xml_text(anpr, "vehicleInfo/color")),
            "direction": text_or_none(xml_text(anpr, "direction")),
            # 0 is what cameras without speed measurement report.
            "speed": speed if speed else None,
        }
        if vehicle["color"] == "unknown":
            vehicle["color"] = None
        col.add(
            {
                "plate": plate,
                # `country` is a numeric enum with no state; the US value is unconfirmed.
                "region": None,
                "captured_at": captured_at,
                "camera": camera,
                "camera_label": xml_text(root, "channelName") or xml_text(root, "deviceID"),
                "vendor_read_id": uuid or synthetic_id(NAME, camera, device_time, plate),
                "confidence": check(
                    "ANPR/confidenceLevel",
                    normalize_confidence,
                    xml_text(anpr, "confidenceLevel"),
                    scale="percent",
                ),
                "position": _gps(root),
                "vehicle": vehicle if any(v is not None for v in vehicle.values()) else None,
                "image": _image(parts),
                "device_time": device_time,
                "source": NAME,
            },
            {
                "plate": f"ANPR/{plate_path}",
                "captured_at": "dateTime",
                "camera": "macAddress",
                "vendor_read_id": "UUID",
            },
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Hikvision ANPR (ISAPI EventNotificationAlert)",
    content_types=frozenset({"multipart/form-data", "multipart/mixed", *_XML_TYPES}),
    parse=parse,
)
