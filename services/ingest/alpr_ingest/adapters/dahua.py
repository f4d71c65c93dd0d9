"""Dahua ITS cameras (docs/formats.md §4e): the ITSAPI TollgateInfo push and JSON-RPC traffic
events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    as_object,
    check,
    dig,
    jpeg_base64,
    load_json,
    malformed,
    number_or_none,
    synthetic_id,
    text_or_none,
)
from alpr_ingest.normalize import (
    epoch_to_utc,
    localize,
    normalize_confidence,
    normalize_region,
    parse_datetime,
)

NAME = "dahua"
# The camera re-sends a notification until it gets exactly this body back.
ACK = {"Result": True}

_HOUR = timedelta(hours=1)
# Dahua's `TimeZone` index → standard UTC offset in minutes. Only 12 (UTC+07:00) is confirmed
# by a captured event; the rest follow Dahua's published enumeration. DST is not in the index.
_TIMEZONES: dict[int, int] = {
    0: 0, 1: 60, 2: 120, 3: 180, 4: 210, 5: 240, 6: 270, 7: 300, 8: 330, 9: 345, 10: 360,
    11: 390, 12: 420, 13: 480, 14: 540, 15: 570, 16: 600, 17: 660, 18: 720, 19: 780,
    20: -60, 21: -120, 22: -180, 23: -210, 24: -240, 25: -300, 26: -360, 27: -420, 28: -480,
    29: -540, 30: -600, 31: -660, 32: -720,
}  # fmt: skip
_FUTURE_TOLERANCE = timedelta(minutes=5)


def local_to_utc(naive: datetime, tz_index: Any, payload: Payload) -> datetime:
    """A Dahua wall-clock time in UTC.

    A configured zone wins (it knows DST). Otherwise the `TimeZone` index gives the standard
    offset, and daylight saving may add an hour the index does not show: of the two readings,
    take the latest one that is not in the future of the receive time. With no usable index,
    infer the offset from the receive time.
    """
    if payload.options.local_tz is not None:
        return localize(naive, tz=payload.options.local_tz)
    index = number_or_none(tz_index)
    minutes = _TIMEZONES.get(int(index)) if index is not None and index == int(index) else None
    if minutes is None:
        return localize(naive, received_at=payload.received_at)
    standard = (naive - timedelta(minutes=minutes)).replace(tzinfo=UTC)
    candidates = [standard, standard - _HOUR]
    not_future = [c for c in candidates if c <= payload.received_at + _FUTURE_TOLERANCE]
    return max(not_future) if not_future else standard


def _camera(payload: Payload, *names: Any) -> str:
    for name in names:
        if text_or_none(name):
            return str(name).strip()
    if payload.options.camera_key:
        return payload.options.camera_key
    raise malformed(
        NAME,
        "body",
        "carries no camera identity",
        "configure the camera to post to an ingest URL that names its camera key",
    )


def _tollgate(col: Collector, payload: Payload, picture: dict[str, Any]) -> None:
    plate = as_object(picture.get("Plate"))
    snap = as_object(picture.get("SnapInfo"))
    vehicle_in = as_object(picture.get("Vehicle"))
    camera = _camera(payload, snap.get("DeviceID"), snap.get("MachineName"))
    raw_time = text_or_none(snap.get("AccurateTime"))
    vendor_id = synthetic_id(NAME, camera, raw_time, plate.get("Channel"), plate.get("UploadNum"))
    with col.item(index=0, vendor_id=vendor_id):
        if plate.get("IsExist") is False:
            raise ItemError("Picture.Plate.IsExist", "IsExist is false: no plate was read")
        if raw_time is None:
            raise ItemError("Picture.SnapInfo.AccurateTime", "AccurateTime is missing")
        naive = check("Picture.SnapInfo.AccurateTime", parse_datetime, raw_time)
        captured_at = (
            naive.astimezone(UTC)
            if naive.tzinfo
            else local_to_utc(naive, snap.get("TimeZone"), payload)
        )
        vehicle = {
            "make": text_or_none(vehicle_in.get("VehicleSign")),
            "model": text_or_none(vehicle_in.get("VehicleSeries")),
            "color": text_or_none(vehicle_in.get("VehicleColor")),
            "type": text_or_none(vehicle_in.get("VehicleType")),
            "direction": text_or_none(snap.get("Direction")),
        }
        col.add(
            {
                "plate": plate.get("PlateNumber"),
                "region": normalize_region(text_or_none(plate.get("Region")), strict=False),
                "captured_at": captured_at,
                "camera": camera,
                "vendor_read_id": vendor_id,
                # Undocumented scale; observed 160 and 201 suggest 0..255.
                "confidence": check(
                    "Picture.Plate.Confidence",
                    normalize_confidence,
                    plate.get("Confidence"),
                    scale="byte",
                ),
                "vehicle": vehicle if any(vehicle.values()) else None,
                "image": jpeg_base64(dig(picture, "NormalPic", "Content"))
                or jpeg_base64(dig(picture, "VehiclePic", "Content"))
                or jpeg_base64(dig(picture, "CutoutPic", "Content")),
                "device_time": raw_time,
                "source": NAME,
            },
            {
                "plate": "Picture.Plate.PlateNumber",
                "region": "Picture.Plate.Region",
                "captured_at": "Picture.SnapInfo.AccurateTime",
            },
        )


def _event_time(data: dict[str, Any], payload: Payload, path: str) -> tuple[datetime, str]:
    millis = number_or_none(data.get("UTCMS")) or 0
    if data.get("RealUTC") is not None:
        base = check(f"{path}RealUTC", epoch_to_utc, data["RealUTC"], "s")
        return base + timedelta(milliseconds=millis), str(data["RealUTC"])
    if data.get("UTC") is not None:
        # Dahua's `UTC` is the local wall clock encoded as an epoch (docs/formats.md §4e).
        wall = check(f"{path}UTC", epoch_to_utc, data["UTC"], "s").replace(tzinfo=None)
        wall += timedelta(milliseconds=millis)
        return local_to_utc(wall, data.get("TimeZone"), payload), str(data["UTC"])
    raw = text_or_none(data.get("LocaleTime"))
    if raw is None:
        raise ItemError(f"{path}RealUTC", "RealUTC, UTC and LocaleTime are all missing")
    naive = check(f"{path}LocaleTime", parse_datetime, raw)
    return local_to_utc(naive, data.get("TimeZone"), payload), raw


def _event_identity(event: dict[str, Any], data: dict[str, Any]) -> list[str]:
    """The device keys a traffic event names, most specific first.

    The device's serial number is `Data.TrafficCar.MachineName` in captured events (an
    installer-set `Data.MachineName` or `DeviceID` when present), and the event's `Index` is the
    video channel, 0-based. The first channel's key is the bare serial, as ITSAPI's; a
    multi-channel device's later channels are `<serial>-ch<N>` (N counted from 1).
    """
    car = as_object(data.get("TrafficCar"))
    names = [
        text_or_none(data.get("MachineName")),
        text_or_none(data.get("DeviceID")),
        text_or_none(car.get("MachineName")),
        text_or_none(car.get("DeviceID")),
    ]
    channel = number_or_none(event.get("Index"))
    keys = []
    for name in names:
        if name is None:
            continue
        if channel is not None and channel >= 1 and channel == int(channel):
            keys.append(f"{name}-ch{int(channel) + 1}")
        else:
            keys.append(name)
    return keys


def _event(col: Collector, payload: Payload, event: dict[str, Any], index: int, path: str) -> None:
    if event.get("Code") != "TrafficJunction":
        col.result.ignored.append(f"{path}Code {event.get('Code')!r} is not TrafficJunction")
        return
    data = as_object(event.get("Data"))
    obj = as_object(data.get("Object"))
    dpath = f"{path}Data."
    camera = _camera(payload, *_event_identity(event, data))
    event_id = text_or_none(data.get("EventID")) or text_or_none(data.get("GroupID"))
    vendor_id = event_id or synthetic_id(NAME, camera, data.get("RealUTC"), data.get("UTC"))
    with col.item(index=index, vendor_id=vendor_id):
        if obj.get("ObjectType") not in (None, "Plate"):
            raise ItemError(f"{dpath}Object.ObjectType", "the event's object is not a plate")
        captured_at, device_time = _event_time(data, payload, dpath)
        car = as_object(data.get("TrafficCar"))
        vehicle = {
            "color": text_or_none(car.get("VehicleColor")),
            "type": text_or_none(dig(data, "Vehicle", "Category")),
        }
        col.add(
            {
                "plate": obj.get("Text"),
                "region": None,
                "captured_at": captured_at,
                "camera": camera,
                "vendor_read_id": vendor_id,
                "confidence": check(
                    f"{dpath}Object.Confidence",
                    normalize_confidence,
                    obj.get("Confidence"),
                    scale="byte",
                ),
                "vehicle": vehicle if any(vehicle.values()) else None,
                "device_time": device_time,
                "source": NAME,
            },
            {"plate": f"{dpath}Object.Text", "camera": f"{dpath}MachineName"},
        )


def parse(payload: Payload) -> AdapterResult:
    body = load_json(NAME, payload.body)
    col = Collector(payload)
    if isinstance(body, dict) and isinstance(body.get("Picture"), dict):
        _tollgate(col, payload, body["Picture"])
        col.result.ack = dict(ACK)
        return col.result
    events: list[Any]
    if isinstance(body, dict) and isinstance(dig(body, "params", "eventList"), list):
        events, prefix = body["params"]["eventList"], "params.eventList"
    elif isinstance(body, dict) and "Code" in body:
        events, prefix = [body], ""
    elif isinstance(body, list):
        events, prefix = body, ""
    else:
        raise malformed(
            NAME,
            "body",
            "is neither an ITSAPI notification (Picture) nor a traffic event (Code, Data)",
            "send the camera's TollgateInfo JSON or its client.notifyEventStream message",
        )
    for i, event in enumerate(events):
        path = f"{prefix}[{i}]." if prefix or len(events) > 1 else ""
        if not isinstance(event, dict):
            raise malformed(NAME, path or "body", "is not an event object", "send event objects")
        _event(col, payload, event, i, path)
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Dahua ITSAPI and traffic events",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
