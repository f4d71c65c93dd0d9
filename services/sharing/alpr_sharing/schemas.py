"""Request and response models of the sharing API, apart from the tables. Input models forbid
unknown fields; lists are `Page[...]` with limit and offset."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from alpr_common.contracts.sharing import AgencyKind, Notified, Outcome, RequestKind
from alpr_common.pagination import Page as Page  # the one page shape, re-exported

T = TypeVar("T")

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _api_time(value: datetime) -> datetime:
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time is out of range") from None
    if not 1970 <= value.year <= 2999:
        raise ValueError("time must be between the years 1970 and 2999")
    return value


ApiTime = Annotated[AwareDatetime, AfterValidator(_api_time)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_control),
]
Short = Name
Explanation = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=10, max_length=4000),
    AfterValidator(_no_control),
]
Note = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4000),
    AfterValidator(_no_control),
]
ID_PATTERN = r"^[0-9a-f]{32}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
CASE_NUMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$"
CaseNumber = Annotated[str, StringConstraints(pattern=CASE_NUMBER_PATTERN)]
Ori = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}[A-Z0-9]{5,7}$")]
PlateText = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9 .-]{1,20}$")]
CameraId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
ClientReference = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,63}$")]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,128}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9+()./ -]{3,40}$")]

RequestStatus = Literal[
    "received",
    "under_review",
    "escalated",
    "approved",
    "denied",
    "fulfilled",
    "expired",
    "withdrawn",
]
AgencyStatus = Literal["active", "suspended"]
# The fields a release may carry (ingest's list); a request names the ones it needs.
ReleaseField = Literal[
    "read_id",
    "plate",
    "region",
    "captured_at",
    "camera_id",
    "camera_type",
    "zip_code",
    "sector",
    "lat",
    "lon",
    "confidence",
    "image_sha256",
]
DEFAULT_FIELDS: tuple[ReleaseField, ...] = (
    "read_id",
    "plate",
    "region",
    "captured_at",
    "camera_id",
    "lat",
    "lon",
)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- agencies -----------------------------------------------------------------------------------


class AgencyCreate(Input):
    name: Name
    ori: Ori | None = Field(default=None, description="NCIC Originating Agency Identifier")
    kind: AgencyKind
    jurisdiction: Short
    contact_name: Name
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class AgencyUpdate(Input):
    name: Name | None = None
    ori: Ori | None = None
    kind: AgencyKind | None = None
    jurisdiction: Short | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class AgencyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    name: str
    ori: str | None
    kind: AgencyKind
    jurisdiction: str
    contact_name: str
    contact_email: str | None
    contact_phone: str | None
    status: AgencyStatus
    created_at: datetime
    updated_at: datetime


class AgencyStatusDecision(Input):
    """344.4(b): the ATIU Lieutenant's decision about an agency, with the reason."""

    decision: Literal["continue", "suspend", "reinstate"]
    reason: Explanation
    misuse_report_id: Id | None = Field(
        default=None, description="The misuse report this decision answers, if any"
    )


class AgencyStatusChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agency_id: str
    decision: str
    status: AgencyStatus
    reason: str
    misuse_report_id: str | None
    decided_at: datetime
    decided_by: str
    decided_by_name: str


class AgencyDecisionResult(BaseModel):
    agency: AgencyRead
    change: AgencyStatusChangeRead
    requests_refused: list[str] = Field(description="Pending requests denied by a suspension")
    grants_revoked: list[str] = Field(description="Package grants revoked by a suspension")


# --- requests -----------------------------------------------------------------------------------


class RequestCreate(Input):
    """One request. Which fields are required depends on `kind` (and the refusals say which):

    - `agency_data` (344.5(b)): `grounds` `missing_person` with the live `hotlist_entry_id`, or
      `criminal_investigation` with `offense` and `investigator`;
    - `public_information` (Gov. Code ch. 552, 344.5(c)): `requester_name`, scoped to a case;
    - `legal_disclosure` (344.5(c)): `document_type`, `document_ref`, `issuing_court`,
      `ordered_scope`;
    - `preservation` (344.6(b)4): `requester_type` and `deadline`.

    Every kind names its plates and a bounded window; a request broader than a specific case
    (344.5(d)) is escalated to the Chief of Police at once."""

    kind: RequestKind
    agency_id: Id | None = Field(
        default=None, description="The requesting agency (records officer entering for one)"
    )
    requester_name: Name | None = None
    requester_contact: Short | None = None
    requester_type: Literal["governmental", "defendant"] | None = Field(
        default=None, description="Preservation requests: who asks (counted apart, 344.6(b)4)"
    )
    client_reference: ClientReference | None = Field(
        default=None, description="The requester's own reference; a repeat returns the first"
    )
    purpose: Annotated[str, StringConstraints(min_length=1, max_length=64)] = Field(
        description="Purpose code (alpr_common.purpose), screened as at the gateway (344.4(a))"
    )
    case_number: CaseNumber
    reason: Explanation
    grounds: Literal["missing_person", "criminal_investigation"] | None = None
    hotlist_entry_id: int | None = Field(default=None, ge=1, le=2**63 - 1)
    offense: Short | None = None
    investigator: Name | None = None
    document_type: Literal["court_order", "subpoena", "discovery"] | None = None
    document_ref: Short | None = None
    issuing_court: Short | None = None
    ordered_scope: Note | None = None
    plates: list[PlateText] = Field(default_factory=list, max_length=1000)
    camera_ids: list[CameraId] = Field(default_factory=list, max_length=200)
    area: Short | None = Field(default=None, description="An area rather than plates (escalated)")
    standing: bool = Field(default=False, description="A bulk or standing feed (escalated)")
    since: ApiTime
    until: ApiTime
    fields: list[ReleaseField] | None = Field(
        default=None, min_length=1, description="The fields the request needs"
    )
    deadline: date | None = Field(default=None, description="Preservation: keep until")


class RequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    kind: RequestKind
    status: RequestStatus
    agency_id: str | None
    requester_type: str
    requester_name: str
    requester_contact: str | None
    client_reference: str | None
    submitted_by: str
    purpose: str
    case_number: str | None
    reason: str
    grounds: str
    hotlist_entry_id: int | None
    offense: str | None
    investigator: str | None
    document_ref: str | None
    issuing_court: str | None
    ordered_scope: str | None
    plates: list[str]
    camera_ids: list[str]
    area: str | None
    standing: bool
    since: datetime
    until: datetime
    fields: list[str]
    deadline: date | None
    escalated: bool
    escalation_reasons: list[str]
    escalated_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    hold_id: str | None
    received_at: datetime
    updated_at: datetime


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    status: str
    at: datetime
    by: str
    by_name: str
    note: str | None


class NoticeCreate(Input):
    """344.5(d): who at the Office of Police Oversight, the Mayor's office or the Council was
    told of the request, when, how, and the reference of the message."""

    notified: Notified
    recipient: Name
    notified_at: ApiTime
    method: Literal["email", "letter", "memo", "phone", "in_person", "other"]
    reference: Short


class NoticeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    notified: Notified
    recipient: str
    notified_at: datetime
    method: str
    reference: str
    recorded_at: datetime
    recorded_by: str


class OutcomeCreate(Input):
    outcome: Outcome
    details: Note | None = None


class OutcomeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    outcome: Outcome
    details: str | None
    recorded_at: datetime
    recorded_by: str


class RequestDetail(RequestRead):
    steps: list[StepRead]
    notices: list[NoticeRead]
    outcomes: list[OutcomeRead]
    notices_missing: list[Notified] = Field(
        description="Escalated requests: the notices still to record before approval (344.5(d))"
    )


class Review(Input):
    note: Note | None = None


class Decision(Input):
    decision: Literal["approved", "denied"]
    reason: Note | None = Field(default=None, description="Required to deny (10+ characters)")


class Withdrawal(Input):
    reason: Explanation


# --- packages -----------------------------------------------------------------------------------


class PackageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    request_id: str
    agency_id: str | None
    read_count: int
    sha256: str
    bytes: int
    manifest: dict[str, Any]
    file_name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    download_count: int
    state: Literal["available", "revoked", "expired"]


class Revocation(Input):
    reason: Explanation


# --- misuse -------------------------------------------------------------------------------------


class MisuseReportCreate(Input):
    agency_id: Id
    description: Explanation


class MisuseReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    agency_id: str
    description: str
    status: Literal["open", "decided"]
    reported_at: datetime
    reported_by: str
    reported_by_name: str
    decision: str | None
    decided_at: datetime | None
    decided_by: str | None
