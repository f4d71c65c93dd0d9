from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, NotRequired, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidatorFunctionWrapHandler,
    field_validator,
    model_validator,
    with_config,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass
from typing_extensions import TypedDict  # pydantic takes typing's only from Python 3.12

from alpr_common.pagination import Page
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


# A typed dict, not a model: a batch holds up to 20,000 candidates, and validating into a model
# instance costs several times more (1.5 µs per read with one candidate, of 12 for the whole read).
@with_config(ConfigDict(extra="forbid"))
class CandidateIn(TypedDict):
    """An alternative reading of the plate, kept for OCR-confusable hot-list matching."""

    # Normalised before the length constraints, so a no-read sentinel gets its own message.
    plate: Annotated[
        str,
        BeforeValidator(normalize_plate),
        Field(
            min_length=1,
            max_length=32,
            description="Alternative plate text; normalised like `plate`.",
        ),
    ]
    confidence: NotRequired[
        Annotated[
            float | None,
            Field(ge=0, le=1, description="The engine's confidence in this alternative, 0..1."),
        ]
    ]


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


class _RawPlate(str):
    """A normalised plate that remembers the text the camera sent (ReadIn only)."""

    __slots__ = ("raw",)
    raw: str

    def __new__(cls, plate: str, raw: str) -> _RawPlate:
        self = super().__new__(cls, plate)
        self.raw = raw
        return self


@pydantic_dataclass(
    kw_only=True,
    slots=True,
    config=ConfigDict(
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
    ),
)
class ReadIn:
    """One plate read (General Order 344.2(a)): plate, region, capture time, location, camera."""

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

    # Normalised before the length constraints, so a no-read sentinel gets its own message. A
    # plate that normalisation changed comes back as a _RawPlate carrying the text as sent, for
    # `_finish` to keep in plate_raw: no model-level "before" validator, which would make
    # pydantic-core build a dict of every read of a batch validated from JSON.
    @field_validator("plate", mode="wrap")
    @classmethod
    def _plate(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> str:
        plate = handler(normalize_plate(value))
        return plate if plate == value else _RawPlate(plate, value)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        return normalize_region(value)

    # One wrap validator rather than a before and an after one: each call from pydantic-core
    # into Python costs about a microsecond per read.
    @field_validator("captured_at", mode="wrap")
    @classmethod
    def _captured_at(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> datetime:
        # Epoch numbers with our unit detection (s/ms/us/ns) rather than pydantic's, which
        # knows only s and ms.
        if isinstance(value, str):
            # An epoch in a string has no dash; an RFC 3339 time does (skips the pattern).
            if "-" not in value and _EPOCH.fullmatch(value):
                value = to_utc(value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            value = to_utc(value)
        moment: datetime = handler(value)
        try:
            return moment.astimezone(UTC)  # aware: AwareDatetime checked the offset
        except OverflowError:
            return to_utc(moment)  # raises the out-of-range message

    @model_validator(mode="after")
    def _finish(self) -> ReadIn:
        plate = self.plate
        if type(plate) is _RawPlate:
            if self.plate_raw is None:
                self.plate_raw = plate.raw[:64]
            self.plate = str(plate)
        # PostgreSQL text cannot hold NUL; refuse it here rather than fail at the database.
        text = f"{self.camera}{self.camera_label}{self.vendor_read_id}{self.device_time}"
        if self.related_ids:
            text += "".join(self.related_ids)
        if self.vehicle is not None:
            v = self.vehicle
            text += f"{v.make}{v.model}{v.color}{v.type}{v.direction}"
        if "\x00" in text:
            raise ValueError("text fields must not contain NUL characters")
        return self

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


# A pydantic dataclass, not a model: a batch validates up to 1,000 reads, and a dataclass
# instance costs less to build (ReadBatchIn from JSON: 9.2 -> 7.9 µs per read). Vendor adapters
# validate one read at a time through `validate_read`.
_READ = TypeAdapter(ReadIn)


def validate_read(values: Any) -> ReadIn:
    """One native read, validated and normalised (raises pydantic's ValidationError)."""
    return _READ.validate_python(values)


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


# --- API models: cameras, health, problems, read results, search, holds, exports ---------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _length(max_length: int, min_length: int = 1) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length)


_NO_CONTROL = AfterValidator(_no_control)


def _api_time(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None
    if not 1970 <= value.year <= 2999:
        raise ValueError("time must be between the years 1970 and 2999")
    return value


# A time in a query or request: with a UTC offset, within a sane range, returned in UTC.
ApiTime = Annotated[AwareDatetime, AfterValidator(_api_time)]
CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
CASE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$"
CameraId = Annotated[str, StringConstraints(pattern=CAMERA_ID_PATTERN)]
CaseNumber = Annotated[str, StringConstraints(pattern=CASE_NUMBER_PATTERN)]
# Free text: stripped, bounded, without control characters.
VendorKey = Annotated[str, _length(128), _NO_CONTROL]
Name = Annotated[str, _length(200), _NO_CONTROL]
Address = Annotated[str, _length(300), _NO_CONTROL]
Note = Annotated[str, _length(4000), _NO_CONTROL]
Explanation = Annotated[str, _length(4000, min_length=10), _NO_CONTROL]
ZipCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 -]{1,15}$")]
Sector = Annotated[str, _length(64), _NO_CONTROL]
CameraType = Literal["fixed", "trailer", "vehicle"]
CameraStatus = Literal["pending", "active", "inactive", "retired"]
VendorName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_-]{1,32}$")]
HoldCategory = Literal["criminal_investigation", "missing_person", "endangered_person"]
ProblemCategory = Literal[
    "camera_offline", "misreads", "image_quality", "clock", "software", "network", "damage", "other"
]
T = TypeVar("T")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlacementReviewCreate(Input):
    """344.3.2(c): who reviewed a permanent camera's site, when, and what they found."""

    reviewer: Name = Field(description="Who reviewed the placement (name and unit).")
    reviewed_on: date = Field(description="The date of the review.")
    approved: bool = Field(
        default=True, description="false records a review that refused the site."
    )
    notes: Explanation = Field(
        description="Why the site does not target any group or segment of the community "
        "disproportionately (or why it was refused)."
    )


class PlacementReviewRead(BaseModel):
    id: str
    camera_id: str
    reviewer: str
    reviewed_on: date
    approved: bool
    notes: str
    location: Position | None
    zip_code: str | None
    sector: str | None
    recorded_at: datetime
    recorded_by: str


class CameraCreate(Input):
    """A camera to register. Fixed cameras start `pending` until an approved placement review is
    recorded (344.3.2(c)); trailer and vehicle-mounted cameras start `active`."""

    id: CameraId | None = Field(
        default=None, description="Our id for the camera; generated when omitted."
    )
    name: Name
    vendor: VendorName = Field(
        description="The wire format it posts in (`openalpr`, `hikvision`, ...) or `other`."
    )
    camera_type: CameraType = Field(description="fixed, trailer or vehicle (344.2(a)).")
    location: Position | None = Field(
        default=None, description="Required for fixed and trailer cameras."
    )
    address: Address | None = None
    zip_code: ZipCode | None = Field(
        default=None,
        description="Fixed and trailer cameras: taken from the boundary file when omitted.",
    )
    sector: Sector | None = Field(
        default=None,
        description="Fixed and trailer cameras: taken from the boundary file when omitted.",
    )
    vendor_keys: list[VendorKey] = Field(
        default_factory=list,
        max_length=50,
        description="The vendor's own identities for this camera (OpenALPR "
        "`<agent_uid>-<camera_id>`, Axis serial, Hikvision `<mac>-ch<n>`, Dahua MachineName).",
    )
    notes: Note | None = None
    placement_review: PlacementReviewCreate | None = Field(
        default=None, description="Fixed cameras: an approved review activates the camera."
    )


class CameraUpdate(Input):
    """Fields to change. Moving a fixed camera sends it back to `pending` for a new review."""

    name: Name | None = None
    location: Position | None = None
    address: Address | None = None
    zip_code: ZipCode | None = None
    sector: Sector | None = None
    vendor_keys: list[VendorKey] | None = Field(
        default=None, max_length=50, description="Replaces the camera's vendor keys."
    )
    notes: Note | None = None
    status: Literal["active", "inactive"] | None = Field(
        default=None,
        description="Take a camera out of service or back in (a fixed camera needs an "
        "approved placement review to be active).",
    )


class CameraRead(BaseModel):
    id: str
    name: str
    vendor: str
    camera_type: CameraType
    status: CameraStatus
    location: Position | None
    address: str | None
    zip_code: str | None
    sector: str | None
    vendor_keys: list[str]
    notes: str | None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    activated_at: datetime | None
    retired_at: datetime | None
    last_heartbeat_at: datetime | None
    streaming: bool | None
    placement_review: PlacementReviewRead | None = Field(
        description="The latest placement review, if any."
    )


class CameraStatusRead(BaseModel):
    """344.3.1(b): a camera's health."""

    camera_id: str
    name: str
    camera_type: CameraType
    status: CameraStatus
    last_read_at: datetime | None
    last_heartbeat_at: datetime | None
    streaming: bool | None
    stale: bool = Field(
        description="Active, and no read or heartbeat within the configured interval."
    )


class EquipmentProblemCreate(Input):
    """344.3.1(b): a problem with ALPR equipment or programs, for the Chief Security Officer."""

    camera_id: CameraId | None = Field(default=None, description="The camera, if one is at fault.")
    category: ProblemCategory
    description: Explanation


class EquipmentProblemUpdate(Input):
    status: Literal["acknowledged", "resolved"]
    resolution: Note | None = Field(
        default=None, description="What was done (required to resolve)."
    )


class EquipmentProblemRead(BaseModel):
    id: str
    camera_id: str | None
    category: str
    description: str
    status: Literal["open", "acknowledged", "resolved"]
    reported_at: datetime
    reported_by: str
    reported_by_name: str
    updated_at: datetime
    updated_by: str | None
    resolution: str | None


class ReadOutcome(BaseModel):
    read_id: uuid.UUID
    status: Literal["stored", "updated", "duplicate"] = Field(
        description="`updated`: a later message about the same vehicle (final group, AXIS "
        "lost) replaced the earlier read in place, keeping its id."
    )
    camera_id: str
    vendor_read_id: str | None
    clock_flagged: bool = Field(description="The camera clock is far from ours for this read.")


class RejectionRead(BaseModel):
    index: int | None = Field(description="Position of the read in the message, when known.")
    vendor_read_id: str | None
    field: str = Field(description="The field (vendor name) that is wrong.")
    reason: str


class ReadBatchResult(BaseModel):
    """What happened to each read; answered only after the stored reads are committed."""

    stored: int
    updated: int
    duplicate: int
    rejected: int
    ignored: int = Field(description="Messages that carry no read by design (pings, parked).")
    heartbeats: int = Field(description="Camera-health records applied.")
    reads: list[ReadOutcome]
    rejections: list[RejectionRead]
    notes: list[str] = Field(description="Why ignored messages were ignored.")


class DahuaAck(BaseModel):
    """Dahua ITSAPI's acknowledgement: the camera re-sends until it gets exactly this."""

    model_config = ConfigDict(populate_by_name=True)

    Result: bool


class CandidateRead(BaseModel):
    plate: str
    confidence: float | None = None


MatchKind = Literal["exact", "look-alike", "partial", "partial-look-alike"]


class ReadOut(BaseModel):
    """A stored read (344.2(a))."""

    read_id: uuid.UUID
    plate: str
    plate_raw: str | None
    region: str | None
    captured_at: datetime
    received_at: datetime
    device_time: str | None
    clock_skew_seconds: float
    clock_flagged: bool
    camera_id: str
    camera_type: CameraType
    zip_code: str | None
    sector: str | None
    position: Position | None
    confidence: float | None
    candidates: list[CandidateRead]
    vehicle: dict[str, Any] | None = Field(description="The vehicle as the camera described it.")
    vehicle_make: str | None = Field(default=None, description="Make, in the search vocabulary.")
    vehicle_model: str | None = Field(default=None, description="Model, in the search vocabulary.")
    vehicle_color: str | None = Field(
        default=None, description="Colour of the vehicle, in the search vocabulary."
    )
    vehicle_type: str | None = Field(
        default=None, description="Body type, in the search vocabulary."
    )
    image_sha256: str | None
    source: str
    vendor_read_id: str | None
    group_state: str | None
    match: MatchKind | None = Field(
        default=None,
        description="How the read matched a plate search, best first: `exact`, `look-alike` "
        "(OCR-confusable characters), `partial` (the pattern), `partial-look-alike`.",
    )


class SearchPage(Page[ReadOut]):
    """A page of a search: the total is always counted (the search's audit record carries it)."""

    since: datetime = Field(description="The start of the window searched.")
    until: datetime = Field(description="The end of the window searched.")


PlateText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,20}$")]


class BackMatchIn(Input):
    """Plates newly listed on a hot list, to find their recent reads."""

    plates: list[PlateText] = Field(min_length=1, max_length=1000)
    since: ApiTime = Field(description="Earliest capture time to consider.")
    confusable: bool = Field(
        default=False,
        description="Also match OCR-confusable spellings (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G).",
    )


class BackMatchOut(BaseModel):
    reads: list[ReadOut]
    truncated: bool = Field(description="More reads matched than the configured maximum.")


class HoldCreate(Input):
    """344.4(e), (f): keep specific reads for a case past the 30-day purge."""

    case_number: CaseNumber
    category: HoldCategory
    reason: Explanation
    retention_until: date = Field(
        description="The last day the held reads are kept (the records-retention schedule)."
    )
    read_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)


class HoldReadsAdd(Input):
    read_ids: list[uuid.UUID] = Field(min_length=1, max_length=5000)


class HoldReview(Input):
    notes: Explanation
    retention_until: date | None = Field(
        default=None, description="A new retention end, if the review changes it."
    )


class HoldRelease(Input):
    reason: Explanation


class HoldRead(BaseModel):
    id: str
    case_number: str
    category: HoldCategory
    reason: str
    retention_until: date
    status: Literal["active", "released", "expired"]
    created_at: datetime
    created_by: str
    created_by_name: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_notes: str | None
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None
    read_count: int


class HoldDetail(HoldRead):
    reads: list[ReadOut] = Field(description="The held reads, from the hold store.")


class ExportCreate(Input):
    reason: Explanation = Field(description="Why the case file is exported (chain of custody).")


class ExportRead(BaseModel):
    id: str
    hold_id: str
    case_number: str
    reason: str
    exported_at: datetime
    exported_by: str
    exported_by_name: str
    read_count: int
    image_count: int
    file_name: str
    bundle_sha256: str = Field(description="SHA-256 of the zip bundle as downloaded.")
    bundle_bytes: int
    manifest: dict[str, Any] = Field(description="SHA-256 of every file in the bundle.")
    custody: list[dict[str, Any]] = Field(description="Chain of custody: who, when, why.")
