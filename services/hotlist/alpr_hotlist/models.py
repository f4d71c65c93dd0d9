"""Hotlist tables: lists and their entries (active, held for review, removed), imports, the
alerts reads raise and every step of their verification (344.3.2), wrong-vehicle incidents
(344.4(g)) with the inbox that notifies supervisors and Risk Management, back-match jobs, and
the counters that order index changes and the alert stream across replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
OUTBOX = outbox_tables(metadata)


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


BigId = BigInteger().with_variant(Integer(), "sqlite")


class Counter(Base, table=True):
    """Serialised counters. `index` versions entry changes; `alert` numbers the alert stream.

    A writer bumps its counter with `UPDATE ... RETURNING`, which row-locks it until commit, so
    numbers become visible in order: a replica that sees version N has seen every change <= N,
    and a stream that sent alert N has missed none below it."""

    __tablename__ = "hotlist_counter"

    name: str = Field(primary_key=True, max_length=16)
    value: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Hotlist(Base, table=True):
    __tablename__ = "hotlist"

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False))
    # Where the list comes from: ncic, tcic, agency, manual, genetec, rekor.
    source: str = Field(max_length=32)
    import_format: str | None = Field(default=None, max_length=32)
    status: str = Field(default="active", max_length=16)  # active | retired
    version: int = Field(default=0)  # bumped by each import
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    created_by_name: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HotlistImport(Base, table=True):
    __tablename__ = "hotlist_import"
    __table_args__ = (Index("ix_hotlist_import_hotlist_id_created_at", "hotlist_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=32)
    hotlist_id: str = Field(sa_column=Column(String(32), ForeignKey("hotlist.id"), nullable=False))
    format: str = Field(max_length=32)
    version: int
    file_sha256: str = Field(max_length=64)
    file_bytes: int
    timezone: str | None = Field(default=None, max_length=64)
    added: int = 0
    removed: int = 0
    unchanged: int = 0
    held: int = 0
    error_count: int = 0
    errors: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    created_by_name: str = Field(max_length=200)


class HotlistEntry(Base, table=True):
    """One plate on a list. `status`: active (matches until `expires_at`), held (awaiting a
    hotlist manager's review, never matching), rejected, removed, superseded (held, then left
    out of a newer import). Every change sets `index_version` from the `index` counter."""

    __tablename__ = "hotlist_entry"
    __table_args__ = (
        Index("ix_hotlist_entry_hotlist_id_status", "hotlist_id", "status"),
        Index("ix_hotlist_entry_status_index_version", "status", "index_version"),
        Index("ix_hotlist_entry_index_version", "index_version"),
        Index("ix_hotlist_entry_plate", "plate"),
        Index("ix_hotlist_entry_import_id", "import_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(BigId, primary_key=True))
    hotlist_id: str = Field(sa_column=Column(String(32), ForeignKey("hotlist.id"), nullable=False))
    plate: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)
    entry_type: str | None = Field(default=None, max_length=32)
    category: str = Field(max_length=64)
    offense_class: str | None = Field(default=None, max_length=32)
    missing_endangered: bool = False
    reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    notes: str = Field(default="", sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=32)
    record_id: str | None = Field(default=None, max_length=64)  # NCIC / TCIC number
    ori: str | None = Field(default=None, max_length=32)
    origin: str = Field(max_length=8)  # manual | import
    manual_reason: str | None = Field(default=None, max_length=64)
    manual_reason_text: str | None = Field(default=None, sa_type=Text)
    status: str = Field(max_length=16)
    held_clause: str | None = Field(default=None, max_length=16)
    held_reason: str | None = Field(default=None, sa_type=Text)
    import_id: str | None = Field(
        default=None, sa_column=Column(String(32), ForeignKey("hotlist_import.id"), nullable=True)
    )
    import_row: int | None = None
    list_version: int = 0
    entered_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    entered_by: str = Field(max_length=200)
    entered_by_name: str = Field(max_length=200)
    entered_by_role: str = Field(max_length=32)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    removed_by: str | None = Field(default=None, max_length=200)
    removal_reason: str | None = Field(default=None, sa_type=Text)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reviewed_by: str | None = Field(default=None, max_length=200)
    review_note: str | None = Field(default=None, sa_type=Text)
    # sha256 of the fields that matter, so an import tells unchanged records from changed ones.
    fingerprint: str = Field(max_length=64)
    raw: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    index_version: int = Field(sa_column=Column(BigInteger, nullable=False))


class Alert(Base, table=True):
    """One alert per (entry, camera, short window); later reads in the window are its hits.

    The entry's audit facts are copied in (type, list, manual reason, the enterer's role) so the
    quarterly counts (344.6(b)2, 7, 9) survive the entry's removal."""

    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_entry_id_camera_id_last_read_at", "entry_id", "camera_id", "last_read_at"),
        Index("ix_alert_status_created_at", "status", "created_at"),
        Index("ix_alert_created_at", "created_at"),
        Index("ix_alert_plate", "plate"),
    )

    id: str = Field(primary_key=True, max_length=32)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    entry_id: int = Field(sa_column=Column(BigId, ForeignKey("hotlist_entry.id"), nullable=False))
    hotlist_id: str = Field(max_length=32)
    hotlist_name: str = Field(max_length=200)
    entry_plate: str = Field(max_length=16)
    entry_region: str | None = Field(default=None, max_length=16)
    entry_type: str = Field(max_length=32)
    entry_source: str = Field(max_length=32)
    entry_origin: str = Field(max_length=8)
    entry_record_id: str | None = Field(default=None, max_length=64)
    offense_class: str | None = Field(default=None, max_length=32)
    missing_endangered: bool = False
    manual_reason: str | None = Field(default=None, max_length=64)
    entered_by_role: str = Field(max_length=32)
    entry_reason: str = Field(default="", sa_column=Column(Text, nullable=False))
    plate: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)
    match_type: str = Field(max_length=16)  # exact | confusable
    confusions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    camera_id: str = Field(max_length=128)
    camera_type: str | None = Field(default=None, max_length=16)
    zip_code: str | None = Field(default=None, max_length=16)
    sector: str | None = Field(default=None, max_length=64)
    lat: float | None = None
    lon: float | None = None
    confidence: float | None = None
    first_read_id: str = Field(max_length=64)
    first_read_at: datetime = Field(sa_type=UTCDateTime)
    last_read_at: datetime = Field(sa_type=UTCDateTime)
    read_count: int = 1
    origin: str = Field(default="live", max_length=16)  # live | back_match
    created_at: datetime = Field(sa_type=UTCDateTime)
    # Workflow (344.3.2): new -> acknowledged -> actioned | dismissed; field steps; closed.
    status: str = Field(default="new", max_length=16)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    rtcc_actions: list[str] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    dismissed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    dismissed_by: str | None = Field(default=None, max_length=200)
    dismissal_reason: str | None = Field(default=None, max_length=32)
    investigator_follow_up: bool = False
    visual_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    visual_confirmed_by: str | None = Field(default=None, max_length=200)
    visual_matches: bool | None = None
    ncic_confirmed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ncic_confirmed_by: str | None = Field(default=None, max_length=200)
    ncic_still_valid: bool | None = None
    ncic_reference: str | None = Field(default=None, max_length=100)
    second_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    second_verified_by: str | None = Field(default=None, max_length=200)
    second_matches: bool | None = None
    exigency_waived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exigency_waived_by: str | None = Field(default=None, max_length=200)
    enforcement_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enforcement_by: str | None = Field(default=None, max_length=200)
    enforcement_action: str | None = Field(default=None, max_length=32)
    outcome: str | None = Field(default=None, max_length=32)
    outcome_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome_by: str | None = Field(default=None, max_length=200)
    # 344.6(b)11-13: the driver detained, the victim of the crime reported, the offense.
    driver_race: str | None = Field(default=None, max_length=32)
    driver_gender: str | None = Field(default=None, max_length=16)
    victim_race: str | None = Field(default=None, max_length=32)
    victim_gender: str | None = Field(default=None, max_length=16)
    offense: str | None = Field(default=None, max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class AlertHit(Base, table=True):
    """A read that matched an entry: at most one per (read, entry), whatever the redelivery."""

    __tablename__ = "alert_hit"
    __table_args__ = (Index("ix_alert_hit_alert_id", "alert_id"),)

    read_id: str = Field(primary_key=True, max_length=64)
    entry_id: int = Field(sa_column=Column(BigId, primary_key=True))
    alert_id: str = Field(sa_column=Column(String(32), ForeignKey("alert.id"), nullable=False))
    plate: str = Field(max_length=16)
    region: str | None = Field(default=None, max_length=16)
    captured_at: datetime = Field(sa_type=UTCDateTime)
    camera_id: str = Field(max_length=128)
    match_type: str = Field(max_length=16)
    confusions: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    origin: str = Field(max_length=16)
    matched_at: datetime = Field(sa_type=UTCDateTime)


class AlertStep(Base, table=True):
    """Every transition of an alert, attributed and timestamped (344.3.2)."""

    __tablename__ = "alert_step"
    __table_args__ = (Index("ix_alert_step_alert_id_at", "alert_id", "at"),)

    id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(sa_column=Column(String(32), ForeignKey("alert.id"), nullable=False))
    step: str = Field(max_length=32)
    at: datetime = Field(sa_type=UTCDateTime)
    actor: str = Field(max_length=200)
    actor_name: str = Field(max_length=200)
    actor_roles: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


class BackMatchJob(Base, table=True):
    """New or changed entries to match against recent reads through ingest. Written in the
    entry's transaction and retried until ingest answers: a back-match is delayed, never lost."""

    __tablename__ = "back_match_job"
    __table_args__ = (
        Index("ix_back_match_job_done_at_next_attempt_at", "done_at", "next_attempt_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    entry_ids: list[int] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    plates: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    since: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_type=Text)
    done_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reads_checked: int = 0
    hits: int = 0


class WrongVehicleIncident(Base, table=True):
    """344.4(g): action taken against the wrong vehicle, reported before the end of the shift."""

    __tablename__ = "wrong_vehicle_incident"

    id: str = Field(primary_key=True, max_length=32)
    alert_id: str = Field(
        sa_column=Column(String(32), ForeignKey("alert.id"), nullable=False, unique=True)
    )
    cause: str = Field(max_length=32)
    description: str = Field(sa_column=Column(Text, nullable=False))
    data_gathered: str = Field(sa_column=Column(Text, nullable=False))
    resulted_in_investigation: bool = False
    action_at: datetime = Field(sa_type=UTCDateTime)
    shift_ends_at: datetime = Field(sa_type=UTCDateTime)
    shift_end_source: str = Field(max_length=16)  # supplied | configured
    reported_at: datetime = Field(sa_type=UTCDateTime)
    reported_by: str = Field(max_length=200)
    reported_by_name: str = Field(max_length=200)
    late: bool = False
    supervisor: str | None = Field(default=None, max_length=200)


class InboxMessage(Base, table=True):
    """A notification for a role (every holder) or one person of that role."""

    __tablename__ = "inbox_message"
    __table_args__ = (
        Index("ix_inbox_message_recipient_role_created_at", "recipient_role", "created_at"),
    )

    id: str = Field(primary_key=True, max_length=32)
    recipient_role: str = Field(max_length=32)
    recipient_subject: str | None = Field(default=None, max_length=200)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    body: str = Field(sa_column=Column(Text, nullable=False))
    incident_id: str | None = Field(default=None, max_length=32)
    alert_id: str | None = Field(default=None, max_length=32)
    late: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)
