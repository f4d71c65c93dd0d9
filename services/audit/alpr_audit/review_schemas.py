"""Request and response models of audit's reviews (344.6(a)): the random-sample review, misuse
allegations (344.4(a)7), the "beyond the 13" findings and the equity report (344.3.2(c)).

The log's, the verification's and the quarterly report's are in `alpr_audit.schemas`, with the
types both use."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from alpr_audit.schemas import _NO_NUL, QUARTER_PATTERN, CheckpointRead, UtcDatetime
from alpr_common.pagination import PageQuery

Subject = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
ReviewKind = Literal["query", "export", "share"]
ReviewFinding = Literal["compliant", "non_compliant"]


class PeriodQuery(BaseModel):
    """A period: a calendar quarter (`2026Q4`, UTC) or `start` and `end`."""

    model_config = ConfigDict(extra="forbid")

    quarter: Annotated[str, StringConstraints(pattern=QUARTER_PATTERN)] | None = Field(
        None, description="Calendar quarter in UTC, e.g. 2026Q4; or give start and end"
    )
    start: UtcDatetime | None = Field(None, description="Period start (inclusive)")
    end: UtcDatetime | None = Field(None, description="Period end (exclusive)")

    def bounds(self) -> tuple[datetime, datetime]:
        if self.quarter is not None:
            return quarter_bounds(self.quarter)
        assert self.start is not None and self.end is not None  # the validator checked
        return self.start, self.end

    @model_validator(mode="after")
    def _one_period(self) -> PeriodQuery:
        if self.quarter is not None:
            if self.start is not None or self.end is not None:
                raise ValueError("give either quarter or start and end, not both")
            quarter_bounds(self.quarter)
            return self
        if self.start is None or self.end is None:
            raise ValueError("give quarter, or both start and end")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def quarter_bounds(quarter: str) -> tuple[datetime, datetime]:
    year, q = int(quarter[:4]), int(quarter[5])
    if not 1900 <= year <= 9998:
        raise ValueError("quarter year out of range")
    start = datetime(year, 3 * q - 2, 1, tzinfo=UTC)
    end = (
        datetime(year + 1, 1, 1, tzinfo=UTC) if q == 4 else datetime(year, 3 * q + 1, 1, tzinfo=UTC)
    )
    return start, end


class ReviewSampleCreate(PeriodQuery):
    sample_size: int = Field(ge=1, le=1000, description="How many items to draw")
    seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Seed of the draw; chosen at random if absent"
    )
    reviewers: list[Subject] = Field(
        default_factory=list,
        max_length=100,
        description="Risk Management reviewers (subjects) to assign the items to, in turn; "
        "an item is never assigned to the person who made it (344.6(a))",
    )


class ReviewSampleRead(BaseModel):
    id: str
    period_start: datetime
    period_end: datetime
    seed: int
    population_size: int
    sample_size: int
    population_digest: str = Field(
        description="SHA-256 over the population's keys (kind:seq, one per line, in seq order)"
    )
    algorithm: str
    created_at: datetime
    created_by: str


class ReviewItemRead(BaseModel):
    id: str
    sample_id: str
    position: int = Field(description="Draw order, from 0")
    kind: ReviewKind
    log_seq: int = Field(description="The transaction log entry under review")
    actor: str | None = Field(description="Who made the query, export or share")
    occurred_at: datetime
    purpose: str | None
    case_number: str | None
    reason: str | None
    path: str | None
    reviewer: str | None
    assigned_at: datetime | None
    assigned_by: str | None
    finding: ReviewFinding | None
    finding_reason: str | None
    criminal_predicate: bool | None
    notes: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    allegation_id: str | None


class ReviewSampleRedrawRead(BaseModel):
    """The sample drawn again now from the log, from its recorded seed (344.6(a))."""

    sample_id: str
    seed: int
    population_size: int
    population_digest: str
    same_population: bool = Field(description="Size and digest equal those recorded at the draw")
    same_items: bool = Field(description="The redraw picks the same log entries, in order")
    log_seqs: list[int] = Field(description="The log entries the redraw picks, in draw order")


class ReviewSampleDetail(ReviewSampleRead):
    items: list[ReviewItemRead]


class ReviewSampleQuery(PageQuery):
    model_config = ConfigDict(extra="forbid")


class ReviewItemQuery(ReviewSampleQuery):
    reviewer: Subject | None = Field(None, description="Assigned reviewer")
    status: Literal["unassigned", "assigned", "reviewed"] | None = None


class ReviewAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer: Subject


class ReviewFindingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: ReviewFinding
    reason: Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)] | None = Field(
        None, description="Required when non-compliant: what rule the use broke"
    )
    criminal_predicate: bool = Field(description="Was a criminal predicate present (344.4(d))")
    notes: Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)] | None = None
    refer_for_investigation: bool = Field(
        False, description="Open a misuse allegation (344.4(a)7) from this non-compliant finding"
    )

    @model_validator(mode="after")
    def _reason_when_non_compliant(self) -> ReviewFindingCreate:
        if self.finding == "non_compliant" and not (self.reason or "").strip():
            raise ValueError("a non-compliant finding needs a reason")
        if self.refer_for_investigation and self.finding != "non_compliant":
            raise ValueError("only a non-compliant finding can be referred for investigation")
        return self


class CountRead(BaseModel):
    key: str
    count: int


class KindSummaryRead(BaseModel):
    kind: ReviewKind
    sampled: int
    reviewed: int
    compliant: int
    non_compliant: int


class NonCompliantRead(BaseModel):
    item_id: str
    log_seq: int
    kind: ReviewKind
    actor: str | None
    reason: str | None
    criminal_predicate: bool | None
    allegation_id: str | None


class ReviewQuarterSummary(BaseModel):
    """344.6(a): the period's random samples and what the reviewers found."""

    start: datetime
    end: datetime
    samples: list[ReviewSampleRead]
    sampled: int
    assigned: int
    reviewed: int
    compliant: int
    non_compliant: int
    criminal_predicate_present: int
    criminal_predicate_absent: int
    by_kind: list[KindSummaryRead]
    non_compliant_items: list[NonCompliantRead]


AllegationSource = Literal["report", "random_audit"]
AllegationStatus = Literal["open", "assigned", "closed"]
AllegationFinding = Literal["sustained", "not_sustained", "unfounded", "exonerated"]
AccessConsequence = Literal["none", "retraining", "access_suspended", "access_revoked", "other"]
GO902_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9/_.-]{0,63}$"


class AllegationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    summary: Annotated[str, StringConstraints(min_length=10, max_length=4000, pattern=_NO_NUL)]
    alleged_subject: Subject | None = Field(None, description="Whose use is alleged, if known")
    log_seq: int | None = Field(
        None, ge=1, le=2**63 - 1, description="A transaction log entry the allegation concerns"
    )


class AllegationAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: Subject


class AllegationCaseLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    go902_case: Annotated[str, StringConstraints(pattern=GO902_PATTERN)] = Field(
        description="The GO 902 administrative investigation's case number"
    )


class AllegationFindingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    finding: AllegationFinding
    notes: Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)] | None = None
    access_consequence: AccessConsequence = "none"


class AllegationRead(BaseModel):
    id: str
    source: AllegationSource
    review_item_id: str | None
    summary: str
    alleged_subject: str | None
    log_seq: int | None
    reported_at: datetime
    reported_by: str
    status: AllegationStatus
    assignee: str | None
    assigned_at: datetime | None
    go902_case: str | None
    finding: AllegationFinding | None
    finding_notes: str | None
    access_consequence: AccessConsequence | None
    closed_at: datetime | None
    closed_by: str | None
    updated_at: datetime


class AllegationQuery(ReviewSampleQuery):
    status: AllegationStatus | None = None
    source: AllegationSource | None = None


class AllegationQuarterSummary(BaseModel):
    """344.4(a)7: allegations reported in the period and where they stand."""

    start: datetime
    end: datetime
    reported: int
    from_random_audit: int
    open: int
    assigned: int
    closed: int
    linked_to_go902: int
    by_finding: list[CountRead]
    by_access_consequence: list[CountRead]


class FlaggedQueryRead(BaseModel):
    log_seq: int
    occurred_at: datetime
    subject: str | None
    purpose: str | None
    case_number: str | None
    criminal_nexus_recorded: bool
    path: str | None
    status: int | None


class UserVolumeRead(BaseModel):
    subject: str
    queries: int


class VolumeFindingsRead(BaseModel):
    rule: str
    users: int
    median: float
    mad: float
    threshold: float
    outliers: list[UserVolumeRead]
    top: list[UserVolumeRead] = Field(description="The ten busiest users")


class OffHoursRead(BaseModel):
    rule: str
    queries: int
    by_user: list[UserVolumeRead]


class RepeatedPlateRead(BaseModel):
    plate_hash: str = Field(description="SHA-256 of the searched plate, first 16 hex digits")
    unlinked_searches: int
    subjects: list[str]
    case_numbers: list[str]
    first_seq: int
    last_seq: int


class RepeatedPlatesRead(BaseModel):
    rule: str
    plates: list[RepeatedPlateRead]


class RefusalRead(BaseModel):
    reason: str
    status: int
    count: int


class ChainStatusRead(BaseModel):
    ok: bool
    verified_at: datetime
    entries_checked: int
    broken_entries: int
    checkpoint_problems: int
    latest_checkpoint: CheckpointRead | None


class FindingsQuarterSummary(BaseModel):
    """Beyond the 13 (DESIGN 7): what the log shows about how the system was used."""

    start: datetime
    end: datetime
    queries: int
    first_amendment: list[FlaggedQueryRead]
    volume: VolumeFindingsRead
    off_hours: OffHoursRead
    repeated_plates: RepeatedPlatesRead
    refusals: list[RefusalRead]
    chain: ChainStatusRead | None = Field(description="None when not computed for this call")


AreaType = Literal["zip", "sector"]


class PopulationImportRead(BaseModel):
    id: str
    sha256: str
    row_count: int
    columns: list[str]
    imported_at: datetime
    imported_by: str


class PopulationAreaRead(BaseModel):
    area_type: AreaType
    area: str
    population: int
    demographics: dict[str, float]


class EquityAreaRead(BaseModel):
    area_type: AreaType
    area: str
    population: int | None
    fixed_cameras: int
    pending_fixed_cameras: int
    hits: int
    camera_share: float | None
    population_share: float | None
    hit_share: float | None
    disparity_index: float | None = Field(
        description="camera_share / population_share: 1 is proportional, above 1 more cameras "
        "than the area's share of residents"
    )


class GroupExposureRead(BaseModel):
    area_type: AreaType
    column: str
    cameras_per_100k: float | None
    exposure_index: float | None = Field(
        description="The group's cameras per resident over the whole population's"
    )


class PlacementReviewRead(BaseModel):
    log_seq: int
    camera_id: str | None
    review_id: str | None
    reviewer: str | None
    reviewed_on: str | None
    approved: bool | None
    zip_code: str | None
    sector: str | None
    notes: str | None


class EquityReportRead(BaseModel):
    """344.3.2(c): fixed cameras and hits per area against the imported population table."""

    start: datetime
    end: datetime
    population_import: PopulationImportRead | None
    formula: str
    total_fixed_cameras: int
    total_hits: int
    areas: list[EquityAreaRead]
    group_exposure: list[GroupExposureRead]
    placement_reviews: list[PlacementReviewRead]
    fixed_cameras_without_approved_review: list[str]
