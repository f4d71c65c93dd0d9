"""Sharing tables: agencies and their status history, requests (four kinds) with their steps,
the Chief's notifications and the three notices of 344.5(d), release packages with their
downloads, outcomes (344.6(b)6), and misuse reports about outside agencies (344.4(b))."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, Text, UniqueConstraint
from sqlmodel import Field

from alpr_common.db import JSONType, TableModel, UTCDateTime, service_registry
from alpr_common.outbox import outbox_tables

registry = service_registry()
metadata = registry.metadata


class Base(TableModel, registry=registry):
    """The service's tables, in its own registry and metadata (see `service_registry`)."""


OUTBOX = outbox_tables(metadata)


def _fk(target: str, *, nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(String(32), ForeignKey(target), nullable=nullable),
    )


class Agency(Base, table=True):
    """An outside body that may ask for data. Its system calls as an access client with role
    `agency` bound to this id; its people never get department accounts."""

    __tablename__ = "agency"
    __table_args__ = (UniqueConstraint("ori", name="uq_agency_ori"),)

    id: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=200)
    ori: str | None = Field(default=None, max_length=16)
    kind: str = Field(max_length=16)  # law_enforcement | court | prosecutor | public | other
    jurisdiction: str = Field(max_length=200)
    contact_name: str = Field(max_length=200)
    contact_email: str | None = Field(default=None, max_length=200)
    contact_phone: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=16)  # active | suspended
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(max_length=200)


class AgencyStatusChange(Base, table=True):
    """344.4(b): each decision about an agency (registered, continue, suspend, reinstate)."""

    __tablename__ = "agency_status_change"
    __table_args__ = (Index("ix_agency_status_change_agency_id", "agency_id"),)

    id: str = Field(primary_key=True, max_length=32)
    agency_id: str = _fk("agency.id")
    decision: str = Field(max_length=16)  # registered | continue | suspend | reinstate
    status: str = Field(max_length=16)
    reason: str = Field(sa_type=Text)
    misuse_report_id: str | None = Field(default=None, max_length=32)
    decided_at: datetime = Field(sa_type=UTCDateTime)
    decided_by: str = Field(max_length=200)
    decided_by_name: str = Field(max_length=200)


class SharingRequest(Base, table=True):
    """One request for ALPR data from outside the department (344.5), of one of four kinds."""

    __tablename__ = "sharing_request"
    __table_args__ = (
        Index("ix_sharing_request_agency_id_received_at", "agency_id", "received_at"),
        Index("ix_sharing_request_status_received_at", "status", "received_at"),
        UniqueConstraint(
            "submitted_by", "client_reference", name="uq_sharing_request_submitted_by_reference"
        ),
    )

    id: str = Field(primary_key=True, max_length=32)
    kind: str = Field(max_length=24)
    status: str = Field(max_length=16)
    agency_id: str | None = _fk("agency.id", nullable=True)
    requester_type: str = Field(max_length=16)
    requester_name: str = Field(max_length=200)
    requester_contact: str | None = Field(default=None, max_length=200)
    client_reference: str | None = Field(default=None, max_length=64)
    submitted_by: str = Field(max_length=200)
    submitted_by_name: str = Field(max_length=200)
    purpose: str = Field(max_length=32)
    case_number: str | None = Field(default=None, max_length=64)
    reason: str = Field(sa_type=Text)
    grounds: str = Field(max_length=32)
    hotlist_entry_id: int | None = Field(default=None)
    offense: str | None = Field(default=None, max_length=200)
    investigator: str | None = Field(default=None, max_length=200)
    document_ref: str | None = Field(default=None, max_length=200)
    issuing_court: str | None = Field(default=None, max_length=200)
    ordered_scope: str | None = Field(default=None, sa_type=Text)
    plates: list[str] = Field(default_factory=list, sa_type=JSONType)
    camera_ids: list[str] = Field(default_factory=list, sa_type=JSONType)
    area: str | None = Field(default=None, max_length=500)
    standing: bool = False
    since: datetime = Field(sa_type=UTCDateTime)
    until: datetime = Field(sa_type=UTCDateTime)
    fields: list[str] = Field(default_factory=list, sa_type=JSONType)
    deadline: date | None = Field(default=None)
    escalated: bool = False
    escalation_reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
    decided_by_name: str | None = Field(default=None, max_length=200)
    decision_reason: str | None = Field(default=None, sa_type=Text)
    hold_id: str | None = Field(default=None, max_length=32)
    received_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class RequestStep(Base, table=True):
    """The request's history: every state it went through, when, by whom, why."""

    __tablename__ = "request_step"
    __table_args__ = (Index("ix_request_step_request_id_at", "request_id", "at"),)

    id: str = Field(primary_key=True, max_length=32)
    request_id: str = _fk("sharing_request.id")
    status: str = Field(max_length=16)
    at: datetime = Field(sa_type=UTCDateTime)
    by: str = Field(max_length=200)
    by_name: str = Field(max_length=200)
    note: str | None = Field(default=None, sa_type=Text)


class ChiefNotification(Base, table=True):
    """344.5(d): the Chief of Police is told at once of a request broader than a specific case."""

    __tablename__ = "chief_notification"

    request_id: str = Field(
        sa_column=Column(String(32), ForeignKey("sharing_request.id"), primary_key=True)
    )
    reasons: list[str] = Field(default_factory=list, sa_type=JSONType)
    notified_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=200)


class EscalationNotice(Base, table=True):
    """344.5(d): the report of a broad request to the Office of Police Oversight, the Mayor or
    the Council, each recorded once before anything is shared."""

    __tablename__ = "escalation_notice"
    __table_args__ = (
        UniqueConstraint("request_id", "notified", name="uq_escalation_notice_request_notified"),
    )

    id: str = Field(primary_key=True, max_length=32)
    request_id: str = _fk("sharing_request.id")
    notified: str = Field(max_length=24)  # police_oversight | mayor | council
    recipient: str = Field(max_length=200)
    notified_at: datetime = Field(sa_type=UTCDateTime)
    method: str = Field(max_length=32)
    reference: str = Field(max_length=200)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)
    recorded_by_name: str = Field(max_length=200)


class ReleasePackage(Base, table=True):
    """What an approved request released: a bundle built by ingest, with its manifest, and the
    grant to download it until `expires_at` unless revoked first."""

    __tablename__ = "release_package"
    __table_args__ = (
        Index("ix_release_package_request_id", "request_id"),
        Index("ix_release_package_agency_id", "agency_id"),
    )

    id: str = Field(primary_key=True, max_length=32)
    request_id: str = _fk("sharing_request.id")
    agency_id: str | None = Field(default=None, max_length=32)
    read_count: int
    sha256: str = Field(max_length=64)
    bytes: int
    manifest: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)
    file_name: str = Field(max_length=200)
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(max_length=200)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: str | None = Field(default=None, max_length=200)
    revoke_reason: str | None = Field(default=None, sa_type=Text)
    download_count: int = 0


class PackageDownload(Base, table=True):
    """Every download of a package."""

    __tablename__ = "package_download"
    __table_args__ = (Index("ix_package_download_package_id", "package_id"),)

    id: str = Field(primary_key=True, max_length=32)
    package_id: str = _fk("release_package.id")
    downloaded_at: datetime = Field(sa_type=UTCDateTime)
    downloaded_by: str = Field(max_length=200)
    downloaded_by_name: str = Field(max_length=200)
    purpose: dict[str, Any] = Field(default_factory=dict, sa_type=JSONType)


class RequestOutcome(Base, table=True):
    """344.6(b)6: what the shared data led to."""

    __tablename__ = "request_outcome"
    __table_args__ = (Index("ix_request_outcome_request_id", "request_id"),)

    id: str = Field(primary_key=True, max_length=32)
    request_id: str = _fk("sharing_request.id")
    outcome: str = Field(max_length=32)
    details: str | None = Field(default=None, sa_type=Text)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=200)
    recorded_by_name: str = Field(max_length=200)


class MisuseReport(Base, table=True):
    """344.4(b): a report that an outside agency used department ALPR data in a prohibited way."""

    __tablename__ = "misuse_report"
    __table_args__ = (Index("ix_misuse_report_agency_id", "agency_id"),)

    id: str = Field(primary_key=True, max_length=32)
    agency_id: str = _fk("agency.id")
    description: str = Field(sa_type=Text)
    status: str = Field(max_length=16)  # open | decided
    reported_at: datetime = Field(sa_type=UTCDateTime)
    reported_by: str = Field(max_length=200)
    reported_by_name: str = Field(max_length=200)
    decision: str | None = Field(default=None, max_length=16)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=200)
