from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from alpr_ingest.normalize import normalize_plate, normalize_region, to_utc

MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_BASE64_CHARS = 4 * ((MAX_IMAGE_BYTES + 2) // 3)
MAX_BATCH_READS = 1000

GroupState = Literal["preview", "final"]
_EPOCH = re.compile(r"\s*\d{9,20}(\.\d+)?\s*")


class Position(BaseModel):
    """A WGS 84 position."""

    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, description="Latitude in decimal degrees (WGS 84).")
    lon: float = Field(ge=-180, le=180, description="Longitude in decimal degrees (WGS 84).")


class CandidateIn(BaseModel):
    """An alternative reading of the plate, kept for OCR-confusable hot-list matching."""

    model_config = ConfigDict(extra="forbid")

    plate: str = Field(
        min_length=1,
        max_length=32,
        description="Alternative plate text; normalised like `plate`.",
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="The engine's confidence in this alternative, 0..1."
    )

    # Before the length constraints, so a no-read sentinel gets its own message.
    @field_validator("plate", mode="before")
    @classmethod
    def _plate(cls, value: Any) -> str:
        return normalize_plate(value)


class VehicleIn(BaseModel):
    """What the camera or engine says about the vehicle. Vendor values, not comparable across
    vendors (a direction may be `forward`, `in`, `352` or `Moving Away`)."""

    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(default=None, max_length=64, description="Make, e.g. `toyota`.")
    model: str | None = Field(default=None, max_length=64, description="Model, e.g. `camry`.")
    color: str | None = Field(default=None, max_length=32, description="Colour, e.g. `white`.")
    type: str | None = Field(
        default=None, max_length=32, description="Body type as the vendor names it, e.g. `SUV`."
    )
    direction: str | None = Field(
        default=None,
        max_length=32,
        description=(
            "Direction of travel as the vendor reports it: degrees (`352`), camera-relative "
            "(`forward`, `in`, `Obverse`) or `Moving Away`/`Approaching`."
        ),
    )
    speed: float | None = Field(
        default=None,
        ge=0,
        le=1000,
        description="Speed as the vendor reports it, in the camera's configured unit (km/h by "
        "default on every supported vendor).",
    )


class ReadIn(BaseModel):
    """One plate read (General Order 344.2(a)): plate, region, capture time, location, camera."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "plate": "LMN4821",
                    "region": "US-TX",
                    "captured_at": "2025-03-14T17:42:11.240Z",
                    "camera": "atx-i35-nb-6th",
                    "vendor_read_id": "K7Q2-483920117-1741974131240",
                    "confidence": 0.942,
                    "candidates": [{"plate": "LMN482I", "confidence": 0.81}],
                    "position": {"lat": 30.2674, "lon": -97.736},
                    "vehicle": {"make": "toyota", "model": "camry", "color": "silver-gray"},
                }
            ]
        },
    )

    plate: str = Field(
        min_length=1,
        max_length=32,
        description="Plate text. Stored upper-case with spaces, hyphens and dots removed "
        "(at most 15 letters and digits); no-read markers such as `unknown` are refused.",
    )
    plate_raw: str | None = Field(
        default=None,
        max_length=64,
        description="The plate text exactly as the camera sent it, when it differs from "
        "`plate`. Filled in automatically.",
    )
    region: str | None = Field(
        default=None,
        max_length=64,
        description="Issuing state or province as ISO 3166-2 (`US-TX`, `CA-ON`, `MX-NLE`), or "
        "null when unknown. Common spellings (`us-tx`, `TX`, `Texas`) are accepted and stored "
        "as ISO 3166-2.",
    )
    captured_at: AwareDatetime = Field(
        description="When the plate was captured, with a UTC offset (stored in UTC). An epoch "
        "number in s, ms, us or ns is also accepted."
    )
    camera: str = Field(
        min_length=1,
        max_length=128,
        description="The camera: our camera id, or the vendor's camera key (OpenALPR "
        "`<agent_uid>-<camera_id>`, Axis serial, Hikvision `<mac>-ch<channel>`, ...) that a "
        "registered camera maps to.",
    )
    camera_label: str | None = Field(
        default=None,
        max_length=200,
        description="The vendor's human-readable camera name, to help register the camera key.",
    )
    vendor_read_id: str | None = Field(
        default=None,
        max_length=200,
        description="The vendor's id for this read (OpenALPR uuid, Genetec read id, Hikvision "
        "UUID, Frigate event id). With `camera` it makes retries idempotent.",
    )
    related_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=500,
        description="Other vendor ids for the same vehicle (OpenALPR frame uuids). A final read "
        "whose related ids overlap an earlier preview's replaces it.",
    )
    group_state: GroupState | None = Field(
        default=None,
        description="`preview`: an early read the vendor will send again under the same "
        "`vendor_read_id` (OpenALPR preview group, AXIS new/updated, Frigate before the end "
        "event); `final`: the vendor's last word on this vehicle; null: a one-shot read.",
    )
    confidence: float | None = Field(
        default=None, ge=0, le=1, description="The engine's confidence in `plate`, 0..1."
    )
    candidates: list[CandidateIn] = Field(
        default_factory=list,
        max_length=20,
        description="Alternative readings, best first.",
    )
    position: Position | None = Field(
        default=None,
        description="Where the read was taken. Required for vehicle-mounted cameras (their own "
        "GPS); fixed and trailer cameras default to their registered location.",
    )
    vehicle: VehicleIn | None = Field(default=None, description="Vehicle attributes, if any.")
    image: str | None = Field(
        default=None,
        max_length=MAX_IMAGE_BASE64_CHARS,
        description=f"A JPEG image of the vehicle or plate, base64 (at most {MAX_IMAGE_BYTES} "
        "bytes decoded).",
    )
    device_time: str | None = Field(
        default=None,
        max_length=64,
        description="The camera's own clock value exactly as received, kept to diagnose clock "
        "and time-zone problems.",
    )
    source: str = Field(
        default="native",
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="The wire format the read arrived in (`native`, `openalpr`, `hikvision`, ...).",
    )

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_plate(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("plate_raw") is None:
            plate = data.get("plate")
            if isinstance(plate, str):
                try:
                    normal = normalize_plate(plate)
                except ValueError:
                    return data
                if normal != plate:
                    data = {**data, "plate_raw": plate[:64]}
        return data

    # Before the length constraints, so a no-read sentinel gets its own message.
    @field_validator("plate", mode="before")
    @classmethod
    def _plate(cls, value: Any) -> str:
        return normalize_plate(value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return normalize_region(value)

    @field_validator("captured_at", mode="before")
    @classmethod
    def _epoch_captured_at(cls, value: Any) -> Any:
        # Our unit detection (s/ms/us/ns) rather than pydantic's, which knows only s and ms.
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) or (isinstance(value, str) and _EPOCH.fullmatch(value)):
            return to_utc(value)
        return value

    @field_validator("captured_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return to_utc(value)

    @field_validator("image")
    @classmethod
    def _jpeg(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("image is not valid base64") from None
        if not data.startswith(b"\xff\xd8\xff"):
            raise ValueError("image is not a JPEG (send base64 of the JPEG bytes)")
        return value


class ReadBatchIn(BaseModel):
    """Up to 1000 reads in one call."""

    model_config = ConfigDict(extra="forbid")

    reads: list[ReadIn] = Field(
        min_length=1, max_length=MAX_BATCH_READS, description="The reads, 1 to 1000."
    )
    atomic: bool = Field(
        default=False,
        description="true: store all reads or none (any invalid read fails the batch); "
        "false: store the valid reads and report the rejected ones by index.",
    )
