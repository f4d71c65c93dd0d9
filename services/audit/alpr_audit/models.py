"""Audit tables. `log_entry` is the append-only, hash-chained transaction log (see chain.py for
the envelope and the hashing); `chain_head` is its one-row head, locked by every append so that
entries get consecutive sequence numbers under concurrency.

Audit metrics (344.6) get their own tables beside these, fed by the same event intake."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata
OUTBOX = outbox_tables(metadata)


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


SeqType = BigInteger().with_variant(Integer(), "sqlite")


class LogEntry(Base, table=True):
    __tablename__ = "log_entry"
    __table_args__ = (
        Index("ix_log_entry_type_seq", "type", "seq"),
        Index("ix_log_entry_subject_seq", "subject", "seq"),
        Index("ix_log_entry_occurred_at", "occurred_at"),
        Index("ix_log_entry_request_id", "request_id"),
        Index("ix_log_entry_source", "source"),
    )

    # Assigned from chain_head, never by the database, so the chain has no gaps.
    seq: int = Field(sa_column=Column(SeqType, primary_key=True, autoincrement=False))
    event_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    source: str = Field(sa_column=Column(String(64), nullable=False))
    type: str = Field(sa_column=Column(String(100), nullable=False))
    subject: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    request_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    status: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    flags: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    problem: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class ChainHead(Base, table=True):
    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(SeqType, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# --- 344.6(b) report facts and the policy-change log (quarterly report) ---------------------------
# Fed by the intake (facts.py) from the events every service sends; the quarterly report reads
# only these, so purging raw reads in ingest never changes a past quarter. Unknown zip codes and
# sectors are stored as "" so that they can take part in unique keys.


class ScanCount(Base, table=True):
    """Plates scanned per UTC day, camera, camera type, zip code and sector (items 1 and 9)."""

    __tablename__ = "scan_count"
    __table_args__ = (UniqueConstraint("day", "camera_id", "camera_type", "zip_code", "sector"),)

    id: int | None = Field(default=None, sa_column=Column(SeqType, primary_key=True))
    day: date = Field(sa_column=Column(Date, nullable=False))
    camera_id: str = Field(sa_column=Column(String(128), nullable=False))
    camera_type: str = Field(sa_column=Column(String(32), nullable=False))
    zip_code: str = Field(default="", sa_column=Column(String(16), nullable=False))
    sector: str = Field(default="", sa_column=Column(String(64), nullable=False))
    reads: int = Field(sa_column=Column(BigInteger, nullable=False))


class AlertFact(Base, table=True):
    """One hot-list match (an alert) and what came of it (items 2, 3, 7, 9, 11-13)."""

    __tablename__ = "alert_fact"
    __table_args__ = (
        Index("ix_alert_fact_matched_at", "matched_at"),
        Index("ix_alert_fact_outcome_at", "outcome_at"),
    )

    alert_id: str = Field(sa_column=Column(String(64), primary_key=True))
    hotlist_id: str = Field(sa_column=Column(String(64), nullable=False))
    hotlist_name: str = Field(sa_column=Column(String(200), nullable=False))
    entry_type: str = Field(sa_column=Column(String(32), nullable=False))
    entry_origin: str = Field(sa_column=Column(String(16), nullable=False))
    manual_reason: str | None = Field(default=None, sa_column=Column(String(64)))
    entered_by_role: str = Field(sa_column=Column(String(64), nullable=False))
    missing_endangered: bool = Field(sa_column=Column(Boolean, nullable=False))
    camera_id: str = Field(sa_column=Column(String(128), nullable=False))
    camera_type: str = Field(default="", sa_column=Column(String(32), nullable=False))
    zip_code: str = Field(default="", sa_column=Column(String(16), nullable=False))
    sector: str = Field(default="", sa_column=Column(String(64), nullable=False))
    matched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    visual_matches: bool | None = Field(default=None, sa_column=Column(Boolean))
    ncic_valid: bool | None = Field(default=None, sa_column=Column(Boolean))
    confirmed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    not_correlated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    not_correlated_why: str | None = Field(default=None, sa_column=Column(String(64)))
    enforcement_action: str | None = Field(default=None, sa_column=Column(String(32)))
    detention: bool | None = Field(default=None, sa_column=Column(Boolean))
    outcome: str | None = Field(default=None, sa_column=Column(String(32)))
    outcome_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    offense: str | None = Field(default=None, sa_column=Column(String(200)))
    driver_race: str | None = Field(default=None, sa_column=Column(String(64)))
    driver_gender: str | None = Field(default=None, sa_column=Column(String(32)))
    victim_race: str | None = Field(default=None, sa_column=Column(String(64)))
    victim_gender: str | None = Field(default=None, sa_column=Column(String(32)))


class ManualEntryFact(Base, table=True):
    """A manually entered hot-list plate (item 7), without the plate."""

    __tablename__ = "manual_entry_fact"
    __table_args__ = (Index("ix_manual_entry_fact_entered_at", "entered_at"),)

    entry_id: int = Field(sa_column=Column(SeqType, primary_key=True, autoincrement=False))
    hotlist_id: str = Field(sa_column=Column(String(64), nullable=False))
    entry_type: str | None = Field(default=None, sa_column=Column(String(32)))
    manual_reason: str = Field(sa_column=Column(String(64), nullable=False))
    entered_by_role: str = Field(sa_column=Column(String(64), nullable=False))
    entered_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class IncidentFact(Base, table=True):
    """A wrong-vehicle incident report (344.4(g); item 10)."""

    __tablename__ = "incident_fact"
    __table_args__ = (Index("ix_incident_fact_reported_at", "reported_at"),)

    incident_id: str = Field(sa_column=Column(String(64), primary_key=True))
    alert_id: str = Field(sa_column=Column(String(64), nullable=False))
    hotlist_name: str = Field(sa_column=Column(String(200), nullable=False))
    cause: str = Field(sa_column=Column(String(32), nullable=False))
    resulted_in_investigation: bool = Field(sa_column=Column(Boolean, nullable=False))
    late: bool = Field(sa_column=Column(Boolean, nullable=False))
    enforcement_action: str | None = Field(default=None, sa_column=Column(String(32)))
    data_gathered: str = Field(sa_column=Column(Text, nullable=False))
    camera_type: str = Field(default="", sa_column=Column(String(32), nullable=False))
    zip_code: str = Field(default="", sa_column=Column(String(16), nullable=False))
    sector: str = Field(default="", sa_column=Column(String(64), nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SharingFact(Base, table=True):
    """One step of a request for data from outside the department (items 4-6)."""

    __tablename__ = "sharing_fact"
    __table_args__ = (Index("ix_sharing_fact_step_at", "step", "at"),)

    event_id: str = Field(sa_column=Column(String(64), primary_key=True))
    step: str = Field(sa_column=Column(String(32), nullable=False))
    request_id: str = Field(sa_column=Column(String(64), nullable=False))
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    requester_type: str = Field(sa_column=Column(String(32), nullable=False))
    agency: str = Field(default="", sa_column=Column(String(200), nullable=False))
    decision: str | None = Field(default=None, sa_column=Column(String(32)))
    outcome: str | None = Field(default=None, sa_column=Column(String(32)))
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class HoldFact(Base, table=True):
    """A hold made inside the department: preservation of reads past the purge (344.4(f))."""

    __tablename__ = "hold_fact"
    __table_args__ = (Index("ix_hold_fact_created_at", "created_at"),)

    hold_id: str = Field(sa_column=Column(String(64), primary_key=True))
    category: str = Field(sa_column=Column(String(64), nullable=False))
    read_count: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class DailyCount(Base, table=True):
    """Other counters by UTC day: queries of ALPR data, exports, shares (transparency page)."""

    __tablename__ = "daily_count"

    day: date = Field(sa_column=Column(Date, primary_key=True))
    metric: str = Field(sa_column=Column(String(32), primary_key=True))
    n: int = Field(sa_column=Column(BigInteger, nullable=False))


class CameraFact(Base, table=True):
    """A camera as ingest last reported it (type, status, place), without vendor keys."""

    __tablename__ = "camera_fact"

    camera_id: str = Field(sa_column=Column(String(128), primary_key=True))
    camera_type: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    zip_code: str = Field(default="", sa_column=Column(String(16), nullable=False))
    sector: str = Field(default="", sa_column=Column(String(64), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class HotlistFact(Base, table=True):
    """A hot list as hotlist last reported it (the lists in use, on the transparency page)."""

    __tablename__ = "hotlist_fact"

    hotlist_id: str = Field(sa_column=Column(String(64), primary_key=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    source: str = Field(sa_column=Column(String(32), nullable=False))
    status: str = Field(sa_column=Column(String(32), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ConfigSetting(Base, table=True):
    """The last value a service reported of a privacy-relevant setting (item 8)."""

    __tablename__ = "config_setting"

    key: str = Field(sa_column=Column(String(100), primary_key=True))
    value: str = Field(sa_column=Column(String(200), nullable=False))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PolicyChange(Base, table=True):
    """A change that affects privacy (item 8): recorded by a person, or detected automatically
    from a setting a service reported (`origin` = automatic)."""

    __tablename__ = "policy_change"
    __table_args__ = (Index("ix_policy_change_recorded_at", "recorded_at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    origin: str = Field(sa_column=Column(String(16), nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    recorded_by: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_by_name: str | None = Field(default=None, sa_column=Column(String(200)))
    effective_on: date = Field(sa_column=Column(Date, nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    summary: str = Field(sa_column=Column(Text, nullable=False))
    reference: str | None = Field(default=None, sa_column=Column(String(200)))
    setting: str | None = Field(default=None, sa_column=Column(String(100)))
    old_value: str | None = Field(default=None, sa_column=Column(String(200)))
    new_value: str | None = Field(default=None, sa_column=Column(String(200)))


# ----------------------------------------------------------------------------- reviews (344.6(a))
# The quarterly random audit, misuse allegations (344.4(a)7) and the equity report's population
# table (344.3.2(c)).


class ReviewSample(Base, table=True):
    """One seeded random draw of a period's queries, exports and shares (344.6(a)); the seed,
    the population size and a digest of the population let anyone redraw it."""

    __tablename__ = "review_sample"
    __table_args__ = (UniqueConstraint("period_start", "period_end"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    period_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    period_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    seed: int = Field(sa_column=Column(BigInteger, nullable=False))
    population_size: int = Field(sa_column=Column(Integer, nullable=False))
    sample_size: int = Field(sa_column=Column(Integer, nullable=False))
    population_digest: str = Field(sa_column=Column(String(64), nullable=False))
    algorithm: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(200), nullable=False))


class ReviewItem(Base, table=True):
    __tablename__ = "review_item"
    __table_args__ = (
        UniqueConstraint("sample_id", "position"),
        Index("ix_review_item_reviewer", "reviewer"),
    )

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    sample_id: str = Field(
        sa_column=Column(String(32), ForeignKey("review_sample.id"), nullable=False)
    )
    position: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    log_seq: int = Field(sa_column=Column(SeqType, nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    purpose: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    case_number: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    path: str | None = Field(default=None, sa_column=Column(String(1000), nullable=True))
    reviewer: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    assigned_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    finding: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    finding_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    criminal_predicate: bool | None = Field(default=None, sa_column=Column(Boolean))
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reviewed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reviewed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    allegation_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))


class MisuseAllegation(Base, table=True):
    """An alleged misuse of ALPR data or systems, tracked to a GO 902 finding (344.4(a)7)."""

    __tablename__ = "misuse_allegation"
    __table_args__ = (Index("ix_misuse_allegation_reported_at", "reported_at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    source: str = Field(sa_column=Column(String(16), nullable=False))
    review_item_id: str | None = Field(
        default=None,
        sa_column=Column(String(32), ForeignKey("review_item.id"), nullable=True, unique=True),
    )
    summary: str = Field(sa_column=Column(Text, nullable=False))
    alleged_subject: str | None = Field(default=None, sa_column=Column(String(200)))
    log_seq: int | None = Field(default=None, sa_column=Column(SeqType, nullable=True))
    reported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reported_by: str = Field(sa_column=Column(String(200), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    assignee: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    assigned_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    go902_case: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    finding: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    finding_notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    access_consequence: str | None = Field(default=None, sa_column=Column(String(32)))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    closed_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PopulationImport(Base, table=True):
    """One upload of the department's population table; the newest one is current."""

    __tablename__ = "population_import"

    id: str = Field(sa_column=Column(String(32), primary_key=True))
    sha256: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    row_count: int = Field(sa_column=Column(Integer, nullable=False))
    columns: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    imported_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    imported_by: str = Field(sa_column=Column(String(200), nullable=False))


class PopulationArea(Base, table=True):
    __tablename__ = "population_area"
    __table_args__ = (UniqueConstraint("import_id", "area_type", "area"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    import_id: str = Field(
        sa_column=Column(String(32), ForeignKey("population_import.id"), nullable=False)
    )
    area_type: str = Field(sa_column=Column(String(16), nullable=False))
    area: str = Field(sa_column=Column(String(64), nullable=False))
    population: int = Field(sa_column=Column(BigInteger, nullable=False))
    demographics: dict[str, float] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
