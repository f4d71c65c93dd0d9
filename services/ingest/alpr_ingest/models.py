"""Ingest tables: cameras (with vendor keys, placement reviews, health), plate reads (partitioned
by capture day on PostgreSQL), equipment-problem reports, investigation holds and the hold store,
case-file exports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Text, Uuid, text
from sqlmodel import Field, SQLModel

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
# SQLite's partial-plate index: an FTS5 table and its shadow tables (search_index migration).
TRIGRAM_TABLE = "plate_read_trigram"
metadata.info["unmodelled_tables"] = {
    "sqlite": frozenset(
        {TRIGRAM_TABLE}
        | {f"{TRIGRAM_TABLE}_{s}" for s in ("config", "content", "data", "docsize", "idx")}
    )
}
OUTBOX = outbox_tables(metadata)


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


READ_TABLE = "plate_read"


class Camera(Base, table=True):
    __tablename__ = "camera"

    id: str = Field(primary_key=True, max_length=128)
    name: str = Field(max_length=200)
    vendor: str = Field(max_length=32)
    camera_type: str = Field(max_length=8)  # fixed | trailer | vehicle (344.2(a))
    status: str = Field(max_length=16)  # pending | active | inactive | retired
    lat: float | None = Field(default=None)
    lon: float | None = Field(default=None)
    address: str | None = Field(default=None, max_length=300)
    zip_code: str | None = Field(default=None, max_length=16)
    sector: str | None = Field(default=None, max_length=64)
    notes: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
    activated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Health (344.3.1(b)): the last heartbeat; the last read comes from the reads themselves.
    last_heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    streaming: bool | None = Field(default=None)
    heartbeat: dict[str, Any] | None = Field(default=None, sa_type=JSONType)


class CameraKey(Base, table=True):
    """A vendor's own camera identity (OpenALPR `<agent>-<camera_id>`, Axis serial...)."""

    __tablename__ = "camera_key"
    __table_args__ = (Index("ix_camera_key_camera_id", "camera_id"),)

    key: str = Field(primary_key=True, max_length=128)
    camera_id: str = Field(sa_column=Column(String(128), ForeignKey("camera.id"), nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class PlacementReview(Base, table=True):
    """344.3.2(c): the review that a permanent camera's site does not target any community."""

    __tablename__ = "placement_review"
    __table_args__ = (Index("ix_placement_review_camera_id", "camera_id"),)

    id: str = Field(primary_key=True, max_length=32)
    camera_id: str = Field(sa_column=Column(String(128), ForeignKey("camera.id"), nullable=False))
    reviewer: str = Field(max_length=200)
    reviewed_on: date
    approved: bool
    notes: str = Field(sa_type=Text)
    # Where the camera was when reviewed: moving a fixed camera needs a new review.
    lat: float | None = Field(default=None)
    lon: float | None = Field(default=None)
    zip_code: str | None = Field(default=None, max_length=16)
    sector: str | None = Field(default=None, max_length=64)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)


class EquipmentProblem(Base, table=True):
    """344.3.1(b): a problem with ALPR equipment or programs, routed to the CSO."""

    __tablename__ = "equipment_problem"
    __table_args__ = (Index("ix_equipment_problem_status_reported_at", "status", "reported_at"),)

    id: str = Field(primary_key=True, max_length=32)
    camera_id: str | None = Field(
        default=None, sa_column=Column(String(128), ForeignKey("camera.id"), nullable=True)
    )
    category: str = Field(max_length=32)
    description: str = Field(sa_type=Text)
    status: str = Field(max_length=16)  # open | acknowledged | resolved
    reported_at: datetime = Field(sa_type=UTCDateTime)
    reported_by: str = Field(max_length=200)
    reported_by_name: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str | None = Field(default=None, max_length=200)
    resolution: str | None = Field(default=None, sa_type=Text)


class ReadColumns(SQLModel):
    """The columns of a stored read, shared by the live table and the hold store."""

    read_id: uuid.UUID = Field(sa_type=Uuid, primary_key=True)
    captured_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    received_at: datetime = Field(sa_type=UTCDateTime)
    plate: str = Field(max_length=15)
    # The plate with OCR-confusable characters folded (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G).
    plate_key: str = Field(max_length=15)
    plate_raw: str | None = Field(default=None, max_length=64)
    region: str | None = Field(default=None, max_length=16)
    confidence: float | None = Field(default=None)
    candidates: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
    camera_id: str = Field(max_length=128)
    camera_type: str = Field(max_length=8)
    zip_code: str | None = Field(default=None, max_length=16)
    sector: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None)
    lon: float | None = Field(default=None)
    vehicle: dict[str, Any] | None = Field(default=None, sa_type=JSONType)
    # The vendor's vehicle words in one vocabulary (alpr_ingest.vehicles): what a search compares.
    vehicle_make: str | None = Field(default=None, max_length=64)
    vehicle_model: str | None = Field(default=None, max_length=64)
    vehicle_color: str | None = Field(default=None, max_length=16)
    vehicle_type: str | None = Field(default=None, max_length=16)
    image_sha256: str | None = Field(default=None, max_length=64)
    source: str = Field(max_length=32)
    vendor_read_id: str | None = Field(default=None, max_length=200)
    group_state: str | None = Field(default=None, max_length=8)
    related_count: int = Field(default=0)
    dedup_key: str = Field(max_length=64)
    device_time: str | None = Field(default=None, max_length=64)
    clock_skew_seconds: float = Field(default=0.0)
    clock_flagged: bool = Field(default=False)
    posted_by: str = Field(max_length=200)


class PlateRead(ReadColumns, Base, table=True):
    """344.2(a): one plate read. PostgreSQL: RANGE-partitioned by capture day (see migrations);
    every unique key includes `captured_at`, the partition key."""

    __tablename__ = READ_TABLE
    __table_args__ = (
        Index("uq_plate_read_dedup_key_captured_at", "dedup_key", "captured_at", unique=True),
        Index("ix_plate_read_plate_captured_at", "plate", "captured_at"),
        # Look-alike plates (`plate_key = ...`) and, on PostgreSQL, partial plates with a known
        # start (`PXK7*`, `PX?7342`: pattern ops, whatever the database's collation).
        Index(
            "ix_plate_read_plate_key_captured_at",
            "plate_key",
            "captured_at",
            postgresql_ops={"plate_key": "text_pattern_ops"},
        ),
        # Partial plates with a known end (`*7342`) on PostgreSQL. A closed day also gets a
        # trigram GIN index of its own, built once, and the current day one up to a mark
        # (`partitions.index_for_search`); SQLite has the FTS5 table `plate_read_trigram`
        # (search_index migration).
        Index(
            "ix_plate_read_plate_key_reversed",
            text("reverse(plate_key) text_pattern_ops"),
        ).ddl_if(dialect="postgresql"),
        Index("ix_plate_read_camera_id_captured_at", "camera_id", "captured_at"),
        # No btree on captured_at alone: partitions already prune by day, and such an index
        # lures the planner away from the (dedup_key, captured_at) key on a fresh partition.
        # A BRIN index (a summary per 32 pages, next to nothing to keep: reads arrive in
        # capture order) finds the current day's reads after its trigram index's mark.
        Index(
            "ix_plate_read_captured_at_brin",
            "captured_at",
            postgresql_using="brin",
            postgresql_with={"pages_per_range": 32, "autosummarize": "on"},
        ).ddl_if(dialect="postgresql"),
        # The purge finds a dropped day's images through this (most reads carry none).
        Index(
            "ix_plate_read_image_sha256",
            "image_sha256",
            postgresql_where=text("image_sha256 IS NOT NULL"),
            sqlite_where=text("image_sha256 IS NOT NULL"),
        ),
        {"postgresql_partition_by": "RANGE (captured_at)"},
    )


class ReadAlias(Base, table=True):
    """Another identity of a stored read: the dedup key of a vendor message it merged.

    An OpenALPR group supersedes the per-frame reads it lists; a frame result that arrives
    after its group finds the group's read here, so a vehicle pass stays one read whichever
    message came first. Purged with the reads (by `captured_at`, the read's capture time)."""

    __tablename__ = "read_alias"
    __table_args__ = (
        Index("ix_read_alias_read_id", "read_id"),
        Index("ix_read_alias_captured_at", "captured_at"),
    )

    alias_key: str = Field(primary_key=True, max_length=64)
    read_id: uuid.UUID = Field(sa_type=Uuid)
    captured_at: datetime = Field(sa_type=UTCDateTime)


class ReadHold(Base, table=True):
    """344.4(e), (f): reads kept past the purge for a case, until `retention_until`."""

    __tablename__ = "read_hold"
    __table_args__ = (
        Index("ix_read_hold_case_number", "case_number"),
        Index("ix_read_hold_status_retention_until", "status", "retention_until"),
    )

    id: str = Field(primary_key=True, max_length=32)
    case_number: str = Field(max_length=64)
    category: str = Field(max_length=32)
    reason: str = Field(sa_type=Text)
    retention_until: date
    status: str = Field(max_length=16)  # active | released | expired
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    created_by_name: str = Field(max_length=200)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_notes: str | None = Field(default=None, sa_type=Text)
    released_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    released_by: str | None = Field(default=None, max_length=200)
    release_reason: str | None = Field(default=None, sa_type=Text)


class HoldItem(Base, table=True):
    """Which reads a hold keeps."""

    __tablename__ = "hold_item"
    __table_args__ = (Index("ix_hold_item_read_id", "read_id"),)

    hold_id: str = Field(sa_column=Column(String(32), ForeignKey("read_hold.id"), primary_key=True))
    read_id: uuid.UUID = Field(sa_type=Uuid, primary_key=True)
    added_at: datetime = Field(sa_type=UTCDateTime)


class HeldRead(ReadColumns, Base, table=True):
    """The hold store (344.4(c), (f)): copies of held reads, which the purge never drops."""

    __tablename__ = "held_read"
    __table_args__ = (
        Index("ix_held_read_captured_at", "captured_at"),
        Index("ix_held_read_image_sha256", "image_sha256"),
    )

    read_id: uuid.UUID = Field(sa_type=Uuid, primary_key=True)
    captured_at: datetime = Field(sa_type=UTCDateTime)
    copied_at: datetime = Field(sa_type=UTCDateTime)


class CaseExport(Base, table=True):
    """344.4(e): a case-file bundle and its chain-of-custody record."""

    __tablename__ = "case_export"
    __table_args__ = (Index("ix_case_export_hold_id", "hold_id"),)

    id: str = Field(primary_key=True, max_length=32)
    hold_id: str = Field(sa_column=Column(String(32), ForeignKey("read_hold.id"), nullable=False))
    case_number: str = Field(max_length=64)
    reason: str = Field(sa_type=Text)
    purpose: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    exported_at: datetime = Field(sa_type=UTCDateTime)
    exported_by: str = Field(max_length=200)
    exported_by_name: str = Field(max_length=200)
    read_count: int
    image_count: int
    file_name: str = Field(max_length=200)
    bundle_sha256: str = Field(max_length=64)
    bundle_bytes: int
    manifest: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    custody: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONType)
