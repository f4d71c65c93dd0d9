"""Events sharing sends: every step of a request for ALPR data from outside the department, and
every decision about an outside agency (344.4(b), 344.5), carrying what the quarterly report
counts (344.6(b)4-6) so audit never reads sharing's tables.

Every event's `data` names the request (or agency) it is about; `subject` is the acting person or
client. Types and the fields audit reads:

- `sharing.request_received`: a request of any kind entered the workflow.
- `sharing.request_escalated`: a request broader than a specific case went to the Chief (344.5(d)).
- `sharing.notice_recorded`: one of the three notices of 344.5(d) was recorded.
- `sharing.request_decided`: approved or denied (with the reason), or withdrawn / expired.
- `sharing.package_released`: a release package was built for an approved request.
- `sharing.package_downloaded`: the requester downloaded a package.
- `sharing.grant_revoked`: a package's download grant was revoked.
- `sharing.outcome_recorded`: what the shared data led to (344.6(b)6).
- `sharing.misuse_reported`: suspected misuse by an outside agency was reported (344.4(b)).
- `sharing.agency_status_changed`: the ATIU Lieutenant continued, suspended or reinstated an agency.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from alpr_common.contracts.base import EventData

REQUEST_RECEIVED = "sharing.request_received"
REQUEST_ESCALATED = "sharing.request_escalated"
NOTICE_RECORDED = "sharing.notice_recorded"
REQUEST_DECIDED = "sharing.request_decided"
PACKAGE_RELEASED = "sharing.package_released"
PACKAGE_DOWNLOADED = "sharing.package_downloaded"
GRANT_REVOKED = "sharing.grant_revoked"
OUTCOME_RECORDED = "sharing.outcome_recorded"
MISUSE_REPORTED = "sharing.misuse_reported"
AGENCY_STATUS_CHANGED = "sharing.agency_status_changed"

RequestKind = Literal["agency_data", "public_information", "legal_disclosure", "preservation"]
# 344.6(b)4 counts preservation requests from governmental entities and from defendants apart.
RequesterType = Literal["law_enforcement", "governmental", "defendant", "court", "public", "other"]
AgencyKind = Literal["law_enforcement", "court", "prosecutor", "public", "other"]
Decision = Literal["approved", "denied", "withdrawn", "expired"]
Outcome = Literal["arrest", "prosecution", "located_missing_person", "none"]
Notified = Literal["police_oversight", "mayor", "council"]
AgencyStatus = Literal["active", "suspended"]


class RequestStepData(EventData):
    """The fields every request step carries, so each event can be counted on its own."""

    request_id: str = Field(min_length=1, max_length=64)
    kind: RequestKind
    requester_type: RequesterType
    agency_id: str | None = None
    agency_name: str | None = None
    agency_kind: AgencyKind | None = None


class RequestReceivedData(RequestStepData):
    grounds: str | None = None  # missing_person | criminal_investigation | court_order | ...
    plate_count: int = Field(0, ge=0)
    window_days: float | None = Field(None, ge=0)
    escalation_needed: bool = False


class RequestEscalatedData(RequestStepData):
    reasons: list[str] = []


class NoticeRecordedData(RequestStepData):
    notified: Notified
    notified_at: str
    method: str | None = None


class RequestDecidedData(RequestStepData):
    decision: Decision
    reason: str | None = None
    escalated: bool = False


class PackageReleasedData(RequestStepData):
    package_id: str = Field(min_length=1, max_length=64)
    read_count: int = Field(ge=0)
    sha256: str | None = None


class PackageDownloadedData(RequestStepData):
    package_id: str = Field(min_length=1, max_length=64)


class GrantRevokedData(RequestStepData):
    package_id: str = Field(min_length=1, max_length=64)
    reason: str | None = None


class OutcomeRecordedData(RequestStepData):
    outcome: Outcome


class MisuseReportedData(EventData):
    report_id: str = Field(min_length=1, max_length=64)
    agency_id: str = Field(min_length=1, max_length=64)
    agency_name: str | None = None


class AgencyStatusChangedData(EventData):
    agency_id: str = Field(min_length=1, max_length=64)
    agency_name: str | None = None
    decision: Literal["continue", "suspend", "reinstate"]
    status: AgencyStatus
    reason: str | None = None


EVENT_TYPES: dict[str, type[BaseModel]] = {
    REQUEST_RECEIVED: RequestReceivedData,
    REQUEST_ESCALATED: RequestEscalatedData,
    NOTICE_RECORDED: NoticeRecordedData,
    REQUEST_DECIDED: RequestDecidedData,
    PACKAGE_RELEASED: PackageReleasedData,
    PACKAGE_DOWNLOADED: PackageDownloadedData,
    GRANT_REVOKED: GrantRevokedData,
    OUTCOME_RECORDED: OutcomeRecordedData,
    MISUSE_REPORTED: MisuseReportedData,
    AGENCY_STATUS_CHANGED: AgencyStatusChangedData,
}
