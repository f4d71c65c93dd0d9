"""Request and response models of the audit API, separate from the tables.

Lists are paged with `limit` and an opaque `cursor` (alpr_common.pagination), newest first unless
`order=asc`; the log and the transactions page by sequence number and are not counted."""

from __future__ import annotations

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

from alpr_common.pagination import Page as Page  # the one page shape, re-exported
from alpr_common.pagination import PageQuery

T = TypeVar("T")

# Strings that end up as SQL parameters: no NUL, which PostgreSQL text cannot hold.
_NO_NUL = r"^[^\x00]*$"
FLAG_PATTERN = r"^[a-z0-9_]{1,50}$"


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range once converted to UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_NO_NUL)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_NO_NUL)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]


class _ListQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")

    subject: Text200 | None = Field(None, description="Principal, e.g. user:42")
    request_id: Text64 | None = Field(None, description="Gateway request id")
    since: UtcDatetime | None = Field(None, description="Occurred at or after (inclusive)")
    until: UtcDatetime | None = Field(None, description="Occurred before (exclusive)")
    flag: Annotated[str, StringConstraints(pattern=FLAG_PATTERN)] | None = Field(
        None, description="A review flag of the request, e.g. first_amendment (344.4(a)4)"
    )
    status_class: Literal["1xx", "2xx", "3xx", "4xx", "5xx"] | None = Field(
        None, description="Class of the gateway's answer status"
    )
    order: Literal["desc", "asc"] = Field("desc", description="By sequence number")


class LogEntryQuery(_ListQuery):
    type: Text100 | None = Field(
        None, description="Event type; a trailing `.*` matches a family, e.g. access.*"
    )
    source: Text64 | None = Field(None, description="Emitting service")


class TransactionQuery(_ListQuery):
    pass


class LogEntryRead(BaseModel):
    seq: int
    event_id: str
    source: str
    type: str
    subject: str | None
    occurred_at: datetime
    recorded_at: datetime
    request_id: str | None
    status: int | None
    flags: list[str]
    problem: str | None = Field(description="Why the event did not have its type's shape")
    data: dict[str, Any]
    prev_hash: str
    hash: str


class TransactionRead(BaseModel):
    """One request through the gateway with its outcome (gateway.request + gateway.response)."""

    request_id: str
    request_seq: int
    response_seq: int | None = Field(description="None while the outcome is not yet logged")
    requested_at: datetime
    subject: str | None
    roles: list[str]
    source_address: str | None
    method: str | None
    path: str | None
    query: str | None
    purpose: str | None
    case_number: str | None
    reason: str | None
    criminal_nexus: str | None
    flags: list[str]
    status: int | None
    bytes: int | None
    latency_ms: float | None
    refused_reason: str | None


class BrokenEntryRead(BaseModel):
    seq: int
    event_id: str
    problem: Literal["seq_gap", "prev_hash_mismatch", "hash_mismatch"]
    detail: str
    expected_seq: int | None = Field(None, description="For seq_gap: the seq that was due")


class HeadRead(BaseModel):
    seq: int
    hash: str


class CheckpointRead(BaseModel):
    file: str
    seq: int | None
    hash: str | None
    at: str | None
    key_id: str | None
    signature_valid: bool


class CheckpointProblemRead(BaseModel):
    file: str
    seq: int | None
    problem: Literal[
        "unreadable",
        "unknown_key",
        "bad_signature",
        "hash_mismatch",
        "entry_missing",
        "beyond_end",
    ]
    detail: str


class LogVerificationRead(BaseModel):
    """The result of recomputing the whole chain and checking it against the signed
    checkpoints and the chain head."""

    ok: bool
    verified_at: datetime
    entries_checked: int
    last_seq: int | None
    last_hash: str | None
    broken_entries: int
    first_broken: BrokenEntryRead | None
    head: HeadRead | None
    head_problem: str | None
    checkpoints_checked: int
    checkpoint_problems: list[CheckpointProblemRead]
    latest_checkpoint: CheckpointRead | None
    requests_without_outcome: int = Field(
        0,
        description="gateway.request entries made over 5 minutes ago with no "
        "gateway.response: outcomes the gateway could not record, or streams still open",
    )


class CheckpointKeyRead(BaseModel):
    key_id: str
    algorithm: Literal["Ed25519"]
    current: bool = Field(description="Signs new checkpoints; the others verify older ones")
    public_key_pem: str


# ----------------------------------------------------------------------------- 344.6(b) report

QUARTER_PATTERN = r"^[0-9]{4}Q[1-4]$"


class Count(BaseModel):
    key: str = Field(description="The category counted; `unknown` where it was not recorded")
    count: int


class RaceGenderCount(BaseModel):
    race: str
    gender: str
    count: int


class WeekCount(BaseModel):
    week_start: str = Field(description="Monday of the ISO week (UTC), YYYY-MM-DD")
    scans: int
    hits: int


class ReportPeriod(BaseModel):
    start: datetime = Field(description="First instant of the period (UTC)")
    end: datetime = Field(description="First instant after the period (UTC)")
    quarter: str | None = Field(None, description="The quarter, when the period is one")
    label: str


class ReportItem(BaseModel):
    item: int = Field(description="The item number of General Order 344.6(b)")
    clause: str = Field(description="The clause id, as in policy/clauses.toml")
    title: str


class PlatesScanned(ReportItem):
    plates_scanned: int
    by_camera_type: list[Count]
    by_zip_code: list[Count]
    by_sector: list[Count]
    by_week: list[WeekCount]


class ListMatches(BaseModel):
    hotlist_id: str
    hotlist_name: str
    matches: int
    confirmed: int
    not_correlated: int


class MatchesPerList(ReportItem):
    lists_checked: list[str] = Field(description="Names of the lists reads were checked against")
    matches: int
    confirmed: int
    not_correlated: int
    not_correlated_by_reason: list[Count]
    lists: list[ListMatches]


class ListOutcomes(BaseModel):
    hotlist_id: str
    hotlist_name: str
    arrest: int
    prosecution: int
    missing_person_located: int
    released_without_action: int
    wrong_vehicle: int


class MatchOutcomes(ReportItem):
    arrests: int
    prosecutions: int
    missing_persons_located: int
    total: int = Field(description="Matches that led to any of the three")
    lists: list[ListOutcomes]


class PreservationRequests(ReportItem):
    received: int
    governmental: int = Field(description="From governmental entities (courts included)")
    defendant: int
    other: int
    by_requester_type: list[Count]
    department_holds: int = Field(description="Holds made inside the department (344.4(f))")
    department_holds_by_category: list[Count]


class AgencySharing(BaseModel):
    agency: str
    received: int
    granted: int
    denied: int
    withdrawn_or_expired: int


class SharingRequests(ReportItem):
    received: int
    granted: int
    denied: int
    withdrawn_or_expired: int
    agencies: list[AgencySharing]


class AgencyOutcomes(BaseModel):
    agency: str
    arrest: int
    prosecution: int
    located_missing_person: int


class SharingOutcomes(ReportItem):
    requests_with_outcome: int = Field(
        description="Requests that led to an arrest, a prosecution or a location"
    )
    arrests: int
    prosecutions: int
    missing_persons_located: int
    agencies: list[AgencyOutcomes]


class RoleMatches(BaseModel):
    role: str = Field(description="The entering user's role")
    entries: int
    matches: int
    confirmed: int
    not_correlated: int


class ManualEntries(ReportItem):
    manual_entries: int
    by_reason: list[Count]
    by_role: list[RoleMatches]


class PolicyChangeRead(BaseModel):
    id: str
    origin: Literal["recorded", "automatic"]
    recorded_at: datetime
    recorded_by: str
    recorded_by_name: str | None
    effective_on: date
    title: str
    summary: str
    reference: str | None
    setting: str | None
    old_value: str | None
    new_value: str | None


class PolicyChanges(ReportItem):
    changes_logged: int
    changes: list[PolicyChangeRead]


class Hits(ReportItem):
    hits: int
    by_zip_code: list[Count]
    by_sector: list[Count]
    by_camera_type: list[Count]


class IncidentRow(BaseModel):
    incident_id: str
    alert_id: str
    hotlist_name: str
    cause: str
    enforcement_action: str | None
    late: bool
    reported_at: datetime
    data_gathered: str


class DetentionsWithoutInvestigation(ReportItem):
    wrong_vehicle_incidents: int = Field(description="All 344.4(g) reports in the period")
    without_investigation: int = Field(
        description="Reports whose detention led to no investigation"
    )
    late_reports: int
    by_cause: list[Count]
    released_without_action: int = Field(
        description="Detentions after an alert closed as released without action"
    )
    incidents: list[IncidentRow]


class RaceGender(ReportItem):
    people: int
    by_race: list[Count]
    by_gender: list[Count]
    by_race_and_gender: list[RaceGenderCount]


class Offenses(ReportItem):
    actions: int
    by_offense: list[Count]


class BeyondSection(BaseModel):
    """A finding beyond the 13 items (344.6(a)), from the review side of audit."""

    name: str
    title: str
    data: dict[str, Any]


class QuarterlyReport(BaseModel):
    """The 344.6(b) audit report: every item labelled with its number and clause."""

    period: ReportPeriod
    generated_at: datetime
    plates_scanned: PlatesScanned
    matches_per_list: MatchesPerList
    match_outcomes: MatchOutcomes
    preservation_requests: PreservationRequests
    sharing_requests: SharingRequests
    sharing_outcomes: SharingOutcomes
    manual_entries: ManualEntries
    policy_changes: PolicyChanges
    hits: Hits
    detentions_without_investigation: DetentionsWithoutInvestigation
    drivers_detained: RaceGender
    victims: RaceGender
    offenses: Offenses
    beyond: list[BeyondSection] = Field(
        default_factory=list, description="Findings beyond the 13 items (flagged queries, ...)"
    )

    def items(self) -> list[ReportItem]:
        return [
            self.plates_scanned,
            self.matches_per_list,
            self.match_outcomes,
            self.preservation_requests,
            self.sharing_requests,
            self.sharing_outcomes,
            self.manual_entries,
            self.policy_changes,
            self.hits,
            self.detentions_without_investigation,
            self.drivers_detained,
            self.victims,
            self.offenses,
        ]


class ReportQuery(BaseModel):
    """A quarter (`2026Q3`) or a range of UTC days (`start` to `end`, both included)."""

    model_config = ConfigDict(extra="forbid")

    quarter: str | None = Field(None, pattern=QUARTER_PATTERN, description="e.g. 2026Q3")
    start: date | None = Field(None, description="First day (UTC), with `end`")
    end: date | None = Field(None, description="Last day (UTC), included")


class PolicyChangeCreate(BaseModel):
    """A change of department policy that affects privacy (344.6(b)8)."""

    model_config = ConfigDict(extra="forbid")

    effective_on: date
    title: Text200
    summary: Annotated[str, StringConstraints(min_length=1, max_length=8000, pattern=_NO_NUL)]
    reference: Text200 | None = Field(
        None, description="Where the change is published: a general order and its revision"
    )


class PolicyChangeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quarter: str | None = Field(None, pattern=QUARTER_PATTERN)
    start: date | None = None
    end: date | None = None


# ----------------------------------------------------------------------------- transparency


class WindowCounts(BaseModel):
    start: datetime
    end: datetime
    label: str
    reads: int = Field(description="License plates scanned")
    queries: int = Field(description="Searches of ALPR data, each with a recorded purpose")
    shares: int = Field(description="Data packages released to other agencies")
    hits: int = Field(description="Reads that matched a hot list")


class HotlistInUse(BaseModel):
    name: str
    source: str


class TransparencyRead(BaseModel):
    """What the public may know of the ALPR system: no plate, no person."""

    generated_at: datetime
    policy: str
    policy_revision: str
    retention_days: int | None = Field(
        description="How long reads are kept before the purge, as the purge last reported it"
    )
    cameras_by_type: list[Count] = Field(description="Cameras in service (not retired), by type")
    hotlists_in_use: list[HotlistInUse]
    last_30_days: WindowCounts
    last_quarter: WindowCounts
