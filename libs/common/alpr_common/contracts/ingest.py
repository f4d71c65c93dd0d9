"""Events ingest sends: read batches to the hot-list service for matching, and to audit the scan
counters (344.6(b) items 1 and 9), camera changes (344.2(a), 344.3.2(c)), equipment problems
(344.3.1(b)), searches (344.4(d)), holds and exports (344.4(e), (f)) and purges (344.4(f)).

Times are sent as ISO 8601 strings (the data crosses as JSON), except in `ingest.reads`, whose
columns hold what the sender's JSON encoder writes (`captured_at` a datetime there, an RFC 3339
string when received).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, model_validator

from alpr_common.contracts.base import EventData

READS = "ingest.reads"
SCAN_COUNTS = "ingest.scan_counts"
CAMERA_REGISTERED = "ingest.camera_registered"
CAMERA_UPDATED = "ingest.camera_updated"
CAMERA_STATUS_CHANGED = "ingest.camera_status_changed"
CAMERA_RETIRED = "ingest.camera_retired"
PLACEMENT_REVIEW_RECORDED = "ingest.placement_review_recorded"
EQUIPMENT_PROBLEM = "ingest.equipment_problem"
EQUIPMENT_PROBLEM_UPDATED = "ingest.equipment_problem_updated"
SEARCH = "ingest.search"
HOLD_CREATED = "ingest.hold_created"
HOLD_VIEWED = "ingest.hold_viewed"
HOLD_UPDATED = "ingest.hold_updated"
HOLD_REVIEWED = "ingest.hold_reviewed"
HOLD_RELEASED = "ingest.hold_released"
EXPORT = "ingest.export"
EXPORT_DOWNLOADED = "ingest.export_downloaded"
PURGE = "ingest.purge"

READ_FIELDS = (
    "read_id", "plate", "region", "captured_at", "camera_id", "camera_type", "zip_code", "sector",
    "lat", "lon", "confidence", "candidates", "updated",
)  # fmt: skip
"""The fields of a read in `ingest.reads`, each a column: `candidates` is the list of candidate
plates, `updated` is true for a read a final message replaced (its plate may have changed)."""


def _a_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError("a column is a list")
    return value


# A column is checked to be a list and kept as it is, not copied value by value: a batch holds
# thousands of values and the receiver checks each read it uses (validating every value here
# cost 0.22 us per read, a tenth of hotlist's whole cost per read; this costs 0.02).
Column = Annotated[list[Any], PlainValidator(_a_list, json_schema_input_type=list[Any])]


class ReadsData(EventData):
    """`ingest.reads`: a batch of stored reads for hot-list matching, as columns (`{field: [value
    per read]}`, `alpr_common.events.from_columns` reads them back): each field name is written
    once, not once per read. `reads`, a list of read objects, is the earlier form a receiver still
    takes from an outbox written before an upgrade; a sender writes `columns`."""

    batch_id: str | None = None
    columns: dict[str, Column] | None = None
    reads: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ReadsData:
        if (self.columns is None) == (self.reads is None):
            raise ValueError("exactly one of `columns` and `reads`")
        if self.columns is not None:
            missing = [f for f in READ_FIELDS if f not in self.columns]
            if missing:
                raise ValueError(f"columns missing: {', '.join(missing)}")
            if len({len(v) for v in self.columns.values()}) != 1:
                raise ValueError("columns of different lengths")
        return self


class ScanCount(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    day: str
    camera_type: str
    zip_code: str | None = None
    sector: str | None = None
    camera_id: str
    reads: int = Field(ge=0)
    # Reads counted earlier and now merged into another read of the same vehicle pass (the
    # OpenALPR frame reads a group supersedes): plates scanned = reads - superseded.
    superseded: int = Field(default=0, ge=0)


class ScanCountsData(EventData):
    """Reads per (UTC day, camera type, zip code, sector, camera) of a batch's new reads, and of
    the earlier reads it merged (`superseded`, to subtract): audit keeps the counters past the
    30-day purge (344.6(b) items 1 and 9)."""

    batch_id: str
    counts: list[ScanCount]


class CameraSnapshotData(EventData):
    """`ingest.camera_registered` and `ingest.camera_retired`: what audit keeps about a camera."""

    camera_id: str
    name: str
    vendor: str
    camera_type: str
    status: str
    lat: float | None = None
    lon: float | None = None
    zip_code: str | None = None
    sector: str | None = None
    vendor_keys: list[str] = []
    actor: str


class CameraUpdatedData(EventData):
    camera_id: str
    changes: dict[str, Any]
    actor: str


class CameraStatusChangedData(EventData):
    model_config = ConfigDict(populate_by_name=True)

    camera_id: str
    camera_type: str
    from_status: str = Field(alias="from")
    to_status: str = Field(alias="to")
    actor: str


class PlacementReviewData(EventData):
    camera_id: str
    review_id: str
    reviewer: str
    reviewed_on: str
    approved: bool
    notes: str
    zip_code: str | None = None
    sector: str | None = None
    lat: float | None = None
    lon: float | None = None
    actor: str


class EquipmentProblemData(EventData):
    """344.3.1(b): routed to the Chief Security Officer and kept by audit."""

    problem_id: str
    camera_id: str | None = None
    category: str
    description: str
    reported_by: str
    reported_by_name: str
    reported_at: str
    routed_to: str


class EquipmentProblemUpdatedData(EventData):
    problem_id: str
    status: str
    resolution: str | None = None
    actor: str


class PurposeData(EventData):
    """The stated purpose of an access to ALPR data (344.4(d)), as `Purpose.as_log()` gives it."""

    purpose: str
    case_number: str | None = None
    reason: str | None = None
    criminal_nexus: str | None = None
    flags: list[str] = []


class SearchData(PurposeData):
    """344.4(d): who searched, why, for what, and how much came back."""

    kind: str
    subject: str
    name: str | None = None
    roles: list[str] = []
    criteria: dict[str, Any]
    result_count: int = Field(ge=0)
    returned: int = Field(ge=0)
    at: str


class HoldCreatedData(PurposeData):
    hold_id: str
    category: str
    retention_until: str
    read_ids: list[str]
    read_count: int = Field(ge=0)
    actor: str


class HoldViewedData(PurposeData):
    hold_id: str
    read_count: int = Field(ge=0)
    actor: str
    at: str


class HoldUpdatedData(PurposeData):
    hold_id: str
    read_ids: list[str]
    actor: str


class HoldReviewedData(EventData):
    hold_id: str
    case_number: str
    notes: str
    retention_until: str
    actor: str


class HoldReleasedData(EventData):
    hold_id: str
    case_number: str
    reason: str
    actor: str


class ExportData(PurposeData):
    """344.4(e): every export of a case file is logged."""

    export_id: str
    hold_id: str
    category: str
    read_count: int = Field(ge=0)
    image_count: int = Field(ge=0)
    bundle_sha256: str
    actor: str
    actor_name: str | None = None
    at: str


class ExportDownloadedData(PurposeData):
    export_id: str
    hold_id: str
    bundle_sha256: str
    actor: str
    at: str


class PurgedDay(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    day: str
    partition: str
    estimated_reads: int | None = None


class PurgeData(EventData):
    """344.4(f): what a purge run removed and kept."""

    ran_at: str
    retention_days: int
    cutoff: str
    method: Literal["drop_partitions", "delete_rows"]
    days: list[PurgedDay] = []
    reads_purged: int | None = None
    held_reads_copied: int
    hold_store_reads_released: int
    holds_expired: list[str]
    images_deleted: int


EVENT_TYPES: dict[str, type[BaseModel]] = {
    READS: ReadsData,
    SCAN_COUNTS: ScanCountsData,
    CAMERA_REGISTERED: CameraSnapshotData,
    CAMERA_UPDATED: CameraUpdatedData,
    CAMERA_STATUS_CHANGED: CameraStatusChangedData,
    CAMERA_RETIRED: CameraSnapshotData,
    PLACEMENT_REVIEW_RECORDED: PlacementReviewData,
    EQUIPMENT_PROBLEM: EquipmentProblemData,
    EQUIPMENT_PROBLEM_UPDATED: EquipmentProblemUpdatedData,
    SEARCH: SearchData,
    HOLD_CREATED: HoldCreatedData,
    HOLD_VIEWED: HoldViewedData,
    HOLD_UPDATED: HoldUpdatedData,
    HOLD_REVIEWED: HoldReviewedData,
    HOLD_RELEASED: HoldReleasedData,
    EXPORT: ExportData,
    EXPORT_DOWNLOADED: ExportDownloadedData,
    PURGE: PurgeData,
}
