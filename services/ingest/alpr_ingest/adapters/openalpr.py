"""OpenALPR / Rekor Scout agent messages (docs/formats.md §1): results, groups, alerts,
heartbeats."""

from __future__ import annotations

from typing import Any

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    Heartbeat,
    ItemError,
    Payload,
    as_object,
    check,
    clean_candidates,
    dig,
    jpeg_base64,
    load_json_object,
    malformed,
    position,
    strip_credentials,
    text_or_none,
)
from alpr_ingest.normalize import normalize_confidence, normalize_region, to_utc

NAME = "openalpr"


def _camera_key(msg: dict[str, Any], path: str) -> str:
    # The same prefix the agent uses in its uuids: `<agent_uid>-<camera_id>` (commercial) or
    # `<site_id>-cam<camera_id>` (open-source daemon). camera_id alone is only unique per agent.
    camera_id = text_or_none(msg.get("camera_id"))
    if camera_id is None:
        raise ItemError(f"{path}camera_id", "camera_id is missing; the agent always sends it")
    agent = text_or_none(msg.get("agent_uid"))
    if agent:
        return f"{agent}-{camera_id}"
    site = text_or_none(msg.get("site_id"))
    if site:
        return f"{site}-cam{camera_id}"
    return camera_id


def _candidates(items: Any, plate: Any) -> list[dict[str, Any]]:
    pairs = [(dig(c, "plate"), dig(c, "confidence")) for c in items or [] if isinstance(c, dict)]
    return clean_candidates(pairs, scale="percent", exclude=plate)


def _top(vehicle: Any, attribute: str) -> str | None:
    return text_or_none(dig(vehicle, attribute, 0, "name"))


def _vehicle(group: dict[str, Any]) -> dict[str, Any] | None:
    attrs = group.get("vehicle")
    make = _top(attrs, "make")
    model = _top(attrs, "make_model")
    # `make_model` is `<make>_<model>` in snake case.
    if model and make and model.startswith(f"{make}_"):
        model = model[len(make) + 1 :]
    direction = group.get("travel_direction")
    vehicle = {
        "make": make,
        "model": model,
        "color": _top(attrs, "color"),
        "type": _top(attrs, "body_type"),
        "direction": f"{float(direction):g}" if isinstance(direction, int | float) else None,
    }
    return vehicle if any(v is not None for v in vehicle.values()) else None


def _group_capture(group: dict[str, Any], path: str) -> tuple[Any, str]:
    """The best frame's time: v3 `best_uuid_epoch_ms`, the best uuid's ms suffix, or the start."""
    if group.get("best_uuid_epoch_ms") is not None:
        return group["best_uuid_epoch_ms"], f"{path}best_uuid_epoch_ms"
    suffix = str(group.get("best_uuid") or "").rsplit("-", 1)[-1]
    if suffix.isdigit() and len(suffix) >= 12:
        return int(suffix), f"{path}best_uuid"
    return group.get("epoch_start"), f"{path}epoch_start"


def _group(col: Collector, group: dict[str, Any], path: str) -> None:
    if group.get("is_parked") is True:
        # Parked cars produce a new group every few minutes (docs/formats.md §6); the arrival was
        # read.
        col.result.ignored.append(f"{path or 'group'}: parked vehicle (is_parked)")
        return
    uuids = [u for u in group.get("uuids") or [] if isinstance(u, str) and u]
    best_uuid = text_or_none(group.get("best_uuid"))
    # A preview and its final group share the first frame; its uuid keys the vehicle.
    vendor_id = uuids[0] if uuids else best_uuid
    indexes = group.get("plate_indexes")
    frames: list[str] = []
    if isinstance(indexes, list) and len(indexes) == len(uuids):
        # The per-frame results this group is made of, under the ids `_results` gives them:
        # the group supersedes those reads, and a frame sent after it is the same read.
        frames = [
            f"{u}:{i}"
            for u, i in zip(uuids, indexes, strict=True)
            if isinstance(i, int) and not isinstance(i, bool)
        ]
    with col.item(index=0, vendor_id=vendor_id):
        raw_time, time_path = _group_capture(group, path)
        captured_at = check(time_path, to_utc, raw_time)
        best_plate = as_object(group.get("best_plate"))
        region = group.get("best_region") or best_plate.get("region")
        image = (
            jpeg_base64(group.get("vehicle_crop_jpeg"))
            or jpeg_base64(group.get("overview_jpeg"))
            or jpeg_base64(best_plate.get("plate_crop_jpeg"))
        )
        col.add(
            {
                "plate": group.get("best_plate_number"),
                "region": normalize_region(text_or_none(region), strict=False),
                "captured_at": captured_at,
                "camera": _camera_key(group, path),
                "camera_label": text_or_none(dig(group, "web_server_config", "camera_label")),
                "vendor_read_id": vendor_id,
                "related_ids": list(dict.fromkeys(uuids + frames))[:500],
                "group_state": "preview" if group.get("is_preview") is True else "final",
                "confidence": check(
                    f"{path}best_confidence",
                    normalize_confidence,
                    group.get("best_confidence"),
                    scale="percent",
                ),
                "candidates": _candidates(
                    group.get("candidates") or best_plate.get("candidates"),
                    group.get("best_plate_number"),
                ),
                "position": position(
                    group.get("gps_latitude"), group.get("gps_longitude"), f"{path}gps_latitude"
                ),
                "vehicle": _vehicle(group),
                "image": image,
                "device_time": str(raw_time),
                "source": NAME,
            },
            {
                "plate": f"{path}best_plate_number",
                "region": f"{path}best_region",
                "captured_at": time_path,
                "camera": f"{path}camera_id",
                "candidates": f"{path}candidates",
                "confidence": f"{path}best_confidence",
            },
        )


def _results(col: Collector, msg: dict[str, Any]) -> None:
    results = msg.get("results")
    if not isinstance(results, list):
        raise malformed(NAME, "results", "is missing or not a list", "send the frame's results[]")
    frame_uuid = text_or_none(msg.get("uuid"))
    for i, result in enumerate(results):
        path = f"results[{i}]."
        index = dig(result, "plate_index")
        vendor_id = f"{frame_uuid}:{index if index is not None else i}" if frame_uuid else None
        with col.item(index=i, vendor_id=vendor_id):
            if not isinstance(result, dict):
                raise ItemError(f"results[{i}]", "is not an object")
            captured_at = check("epoch_time", to_utc, msg.get("epoch_time"))
            col.add(
                {
                    "plate": result.get("plate"),
                    "region": normalize_region(text_or_none(result.get("region")), strict=False),
                    "captured_at": captured_at,
                    "camera": _camera_key(msg, ""),
                    "vendor_read_id": vendor_id,
                    # One frame of a vehicle pass: the agent's group for the vehicle (listing
                    # this frame in `uuids`) supersedes it.
                    "group_state": "preview",
                    "confidence": check(
                        f"{path}confidence",
                        normalize_confidence,
                        result.get("confidence"),
                        scale="percent",
                    ),
                    "candidates": _candidates(result.get("candidates"), result.get("plate")),
                    "image": jpeg_base64(result.get("plate_crop_jpeg")),
                    "device_time": str(msg.get("epoch_time")),
                    "source": NAME,
                },
                {
                    "plate": f"{path}plate",
                    "region": f"{path}region",
                    "captured_at": "epoch_time",
                    "camera": "camera_id",
                    "candidates": f"{path}candidates",
                },
            )


def _heartbeat(col: Collector, msg: dict[str, Any]) -> None:
    try:
        at = to_utc(msg.get("timestamp"))
    except ValueError as exc:
        raise malformed(NAME, "timestamp", str(exc), "send the heartbeat's ms timestamp") from None
    agent = text_or_none(msg.get("agent_uid")) or text_or_none(msg.get("agent_hostname"))
    agent_fields: dict[str, Any] = {
        key: msg[key]
        for key in (
            "agent_hostname",
            "agent_version",
            "agent_type",
            "license_valid",
            "cpu_usage_percent",
            "processing_threads_active",
            "beanstalk_queue_size",
            "daemon_uptime_seconds",
        )
        if key in msg
    }
    streams = msg.get("video_streams")
    if not isinstance(streams, list) or not streams:
        if agent is None:
            raise malformed(NAME, "agent_uid", "is missing", "send the agent's heartbeat unchanged")
        col.result.heartbeats.append(
            Heartbeat(camera=agent, at=at, source=NAME, fields={"scope": "agent", **agent_fields})
        )
        return
    for i, stream in enumerate(streams):
        camera_id = text_or_none(dig(stream, "camera_id"))
        if camera_id is None:
            col.result.ignored.append(f"video_streams[{i}]: no camera_id")
            continue
        last_update = dig(stream, "last_update")
        try:
            last_seen = to_utc(last_update).isoformat() if last_update is not None else None
        except ValueError:
            last_seen = None
        col.result.heartbeats.append(
            Heartbeat(
                camera=f"{agent}-{camera_id}" if agent else camera_id,
                at=at,
                source=NAME,
                camera_label=text_or_none(dig(stream, "camera_name")),
                streaming=dig(stream, "is_streaming")
                if isinstance(dig(stream, "is_streaming"), bool)
                else None,
                fields={
                    "scope": "camera",
                    "fps": dig(stream, "fps"),
                    "last_update": last_seen,
                    "url": strip_credentials(text_or_none(dig(stream, "url"))),
                    **agent_fields,
                },
            )
        )


def parse(payload: Payload) -> AdapterResult:
    msg = load_json_object(NAME, payload.body)
    col = Collector(payload)
    if msg.get("openalpr_webhook") == "test":
        col.result.ignored.append("Rekor webhook test ping")
        return col.result
    # Route on the top-level data_type only: an alert's nested group also says "alpr_group".
    data_type = msg.get("data_type")
    if data_type == "alpr_results":
        _results(col, msg)
    elif data_type == "alpr_group":
        _group(col, msg, "")
    elif data_type == "alpr_alert" or (data_type is None and isinstance(msg.get("group"), dict)):
        group = msg.get("group")
        if not isinstance(group, dict):
            raise malformed(NAME, "group", "is missing", "an alpr_alert carries the full group")
        _group(col, group, "group.")
    elif data_type == "heartbeat":
        _heartbeat(col, msg)
    elif data_type == "vehicle":
        col.result.ignored.append("vehicle without a plate (data_type vehicle)")
    elif isinstance(data_type, str) and data_type:
        col.result.ignored.append(f"data_type {data_type!r} carries no read")
    else:
        raise malformed(
            NAME,
            "data_type",
            "is missing",
            "send an agent message (alpr_results, alpr_group, alpr_alert or heartbeat)",
        )
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="OpenALPR / Rekor Scout agent",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
