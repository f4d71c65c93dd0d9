"""Request and response models of the hotlist API, separate from the tables. Input models forbid
unknown fields; lists are paged with `limit` and `cursor` (alpr_common.pagination), newest first."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from alpr_common.pagination import Page as Page  # the one page shape, re-exported
from alpr_common.pagination import PageQuery
from alpr_hotlist.alerts.index import normalise_plate
from alpr_hotlist.importers import FORMATS
from alpr_hotlist.importers._common import region_of
from alpr_hotlist.policy import EntryType, ManualEntryReason, OffenseClass

T = TypeVar("T")

# Strings end up as SQL parameters: no NUL, which PostgreSQL text cannot hold.
_NO_NUL = r"^[^\x00]*$"
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text64 = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=_PRINTABLE)]
Text100 = Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=_PRINTABLE)]
Text200 = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_PRINTABLE)]
LongText = Annotated[str, StringConstraints(max_length=4000, pattern=_NO_NUL)]
Note = Annotated[str, StringConstraints(max_length=2000, pattern=_NO_NUL)]
AlertId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]

PLATE_MAX = 10
_PLATE_OK = re.compile(r"^[A-Z0-9]{1,10}$")
_ISO_REGION = re.compile(r"^[A-Z]{2}-[A-Z0-9]{1,3}$")


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("time out of range once converted to UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def plate_value(text: str) -> str:
    plate = normalise_plate(text.strip())
    if not _PLATE_OK.match(plate):
        raise ValueError(
            f"a plate is 1 to {PLATE_MAX} letters A-Z and digits 0-9 (separators are dropped)"
        )
    return plate


def region_value(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    code = text.strip().upper()
    if _ISO_REGION.match(code):
        return code
    iso = region_of(code) if len(code) == 2 else None
    if iso is None:
        raise ValueError("region is ISO 3166-2 (`US-TX`) or a US/Canadian state code (`TX`)")
    return iso


Plate = Annotated[str, StringConstraints(min_length=1, max_length=20), AfterValidator(plate_value)]
Region = Annotated[str, StringConstraints(max_length=16), AfterValidator(region_value)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _PageQuery(PageQuery, _In):
    """`limit` and `cursor` (alpr_common.pagination), and no unknown parameter."""


# ---------------------------------------------------------------------------- lists


ListSource = Literal["ncic", "tcic", "agency", "manual", "genetec", "rekor", "clew"]
ImportFormat = Literal[
    "canonical", "tx_ncic", "tx_tcic", "ncic_fixed", "genetec", "rekor", "ca_clew"
]
assert set(get_args(ImportFormat)) == set(FORMATS)


class HotlistCreate(_In):
    name: Text200
    description: LongText = ""
    source: ListSource
    import_format: ImportFormat | None = Field(None, description="Default format for imports")


class HotlistUpdate(_In):
    name: Text200 | None = None
    description: LongText | None = None
    import_format: ImportFormat | None = None


class HotlistQuery(_PageQuery):
    status: Literal["active", "retired"] | None = None
    source: ListSource | None = None


class HotlistRead(BaseModel):
    id: str
    name: str
    description: str
    source: str
    import_format: str | None
    status: str
    version: int = Field(description="Bumped by each import")
    active_entries: int
    held_entries: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    retired_at: datetime | None


# ---------------------------------------------------------------------------- entries


EntrySource = Literal["ncic", "tcic", "agency", "manual"]
EntryStatus = Literal["active", "held", "rejected", "removed", "superseded"]


class EntryCreate(_In):
    """A manually entered plate (344.6(b)7): a reason code and text, and an expiry."""

    hotlist_id: Text64
    plate: Plate
    region: Region | None = Field(None, description="ISO 3166-2 (US-TX); none matches any region")
    entry_type: EntryType
    offense_class: OffenseClass | None = Field(
        None, description="Required for warrants: Class A misdemeanor or greater (344.2(c))"
    )
    missing_endangered: bool = False
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)]
    notes: Note = ""
    source: EntrySource = Field("manual", description="Where the information came from")
    record_id: Text64 | None = Field(None, description="NCIC or TCIC number")
    ori: Text64 | None = None
    manual_reason: ManualEntryReason | None = Field(
        None, description="Why the plate is entered by hand (344.6(b)7); required"
    )
    manual_reason_text: Note | None = Field(None, description="The justification, in words")
    expires_at: UtcDatetime | None = Field(
        None, description="Required: manual entries expire (BOLOs within 14 days, others 30)"
    )


class EntryUpdate(_In):
    region: Region | None = None
    offense_class: OffenseClass | None = None
    missing_endangered: bool | None = None
    reason: (
        Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)] | None
    ) = None
    notes: Note | None = None
    record_id: Text64 | None = None
    manual_reason: ManualEntryReason | None = None
    manual_reason_text: Note | None = None
    expires_at: UtcDatetime | None = None


class EntryQuery(_PageQuery):
    hotlist_id: Text64 | None = None
    plate: Annotated[str, StringConstraints(max_length=20, pattern=_PRINTABLE)] | None = None
    status: EntryStatus | None = None
    entry_type: EntryType | None = None
    origin: Literal["manual", "import"] | None = None
    import_id: Text64 | None = None


class HeldQuery(_PageQuery):
    hotlist_id: Text64 | None = None
    import_id: Text64 | None = None


class EntryRead(BaseModel):
    id: int
    hotlist_id: str
    plate: str
    region: str | None
    entry_type: str | None
    category: str
    offense_class: str | None
    missing_endangered: bool
    reason: str
    notes: str
    source: str
    record_id: str | None
    ori: str | None
    origin: str
    manual_reason: str | None
    manual_reason_text: str | None
    status: str
    matching: bool = Field(description="Active, on an active list and not expired")
    held_clause: str | None
    held_reason: str | None
    import_id: str | None
    import_row: int | None
    entered_at: datetime
    expires_at: datetime | None
    entered_by: str
    entered_by_name: str
    entered_by_role: str
    created_at: datetime
    updated_at: datetime
    updated_by: str
    removed_at: datetime | None
    removed_by: str | None
    removal_reason: str | None
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None


class HeldApproval(_In):
    """Approve a held record: the policy is checked again on the record as corrected here."""

    note: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)]
    entry_type: EntryType | None = Field(None, description="Re-classify into a 344.2(c) type")
    offense_class: OffenseClass | None = None
    manual_reason: ManualEntryReason | None = None
    reason: (
        Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)] | None
    ) = None
    expires_at: UtcDatetime | None = None


class HeldRejection(_In):
    note: Annotated[str, StringConstraints(min_length=1, max_length=2000, pattern=_NO_NUL)]


# ---------------------------------------------------------------------------- imports


class RowErrorRead(BaseModel):
    row: int
    message: str


class ImportRead(BaseModel):
    id: str
    hotlist_id: str
    format: str
    version: int
    file_sha256: str
    file_bytes: int
    timezone: str | None
    added: int
    removed: int
    unchanged: int
    held: int
    error_count: int
    errors: list[RowErrorRead]
    created_at: datetime
    created_by: str


class ImportQuery(_PageQuery):
    hotlist_id: Text64 | None = None


# ---------------------------------------------------------------------------- alerts


class RtccAction(StrEnum):
    """344.3.2(a)1: dispatch, general broadcast (GB) or patrol notification."""

    DISPATCHED = "dispatched"
    BROADCAST = "broadcast"
    PATROL_NOTIFIED = "patrol_notified"


class DismissalReason(StrEnum):
    MISREAD = "misread"
    NOT_CORRELATED = "not_correlated"
    DUPLICATE = "duplicate"
    EXPIRED_ENTRY = "expired_entry"


class EnforcementKind(StrEnum):
    TRAFFIC_STOP = "traffic_stop"
    DETENTION = "detention"
    ARREST = "arrest"
    VEHICLE_RECOVERY = "vehicle_recovery"  # an unoccupied vehicle: nobody detained


# Actions that detain a driver: the outcome must then record the driver's race and gender.
DETAINING_ACTIONS = frozenset(
    {EnforcementKind.TRAFFIC_STOP, EnforcementKind.DETENTION, EnforcementKind.ARREST}
)


class OutcomeKind(StrEnum):
    ARREST = "arrest"
    PROSECUTION = "prosecution"
    MISSING_PERSON_LOCATED = "missing_person_located"
    RELEASED_WITHOUT_ACTION = "released_without_action"
    WRONG_VEHICLE = "wrong_vehicle"


class Race(StrEnum):
    """The categories of Texas racial-profiling reports (Code of Criminal Procedure 2.132)."""

    AMERICAN_INDIAN_ALASKA_NATIVE = "american_indian_alaska_native"
    ASIAN_PACIFIC_ISLANDER = "asian_pacific_islander"
    BLACK = "black"
    HISPANIC_LATINO = "hispanic_latino"
    WHITE = "white"
    OTHER = "other"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"
    NOT_APPLICABLE = "not_applicable"


class StepBase(_In):
    note: Note = ""


class FieldStepBase(StepBase):
    investigator_follow_up: bool = Field(
        False,
        description="An investigator's follow-up: a second officer must always verify "
        "(344.3.2(b)3(a)); sticks to the alert once set",
    )


class Acknowledgement(StepBase):
    pass


class RtccActionCreate(StepBase):
    action: RtccAction


class Dismissal(StepBase):
    reason: DismissalReason


class VisualConfirmation(FieldStepBase):
    matches: bool = Field(description="The plate seen matches the read and the alert")


class NcicConfirmation(FieldStepBase):
    system: Literal["ncic", "tcic", "ncic_tcic"]
    still_valid: bool = Field(description="The record is still active in NCIC/TCIC")
    reference: Text100 = Field(description="Query reference or message key of the confirmation")


class SecondVerification(FieldStepBase):
    matches: bool = Field(description="The second officer confirms the plate matches the hit")


class ExigencyWaiver(FieldStepBase):
    justification: Annotated[
        str, StringConstraints(min_length=20, max_length=2000, pattern=_NO_NUL)
    ] = Field(description="The exigent circumstances that rule out a second officer")


class EnforcementActionCreate(FieldStepBase):
    action: EnforcementKind
    risk_assessment: Note = Field(
        "", description="The risk considered for the offense (344.3.2(b)4)"
    )


class OutcomeCreate(StepBase):
    outcome: OutcomeKind
    offense: Text200 = Field(description="Offense under investigation (344.6(b)13)")
    driver_race: Race | None = Field(None, description="344.6(b)11; required for detentions")
    driver_gender: Gender | None = Field(None, description="344.6(b)11; required for detentions")
    victim_race: Race = Field(description="344.6(b)12; not_applicable when there is no victim")
    victim_gender: Gender = Field(description="344.6(b)12")


class AlertQuery(_PageQuery):
    status: Literal["new", "acknowledged", "actioned", "dismissed", "closed"] | None = None
    hotlist_id: Text64 | None = None
    entry_id: int | None = Field(None, ge=1, le=2**63 - 1)
    camera_id: Text100 | None = None
    plate: Annotated[str, StringConstraints(max_length=20, pattern=_PRINTABLE)] | None = None
    match_type: Literal["exact", "confusable"] | None = None
    origin: Literal["live", "back_match"] | None = None
    since: UtcDatetime | None = Field(None, description="Created at or after")
    until: UtcDatetime | None = Field(None, description="Created before")
    after_seq: int | None = Field(None, ge=0, le=2**63 - 1, description="Stream position")


class ConfusionRead(BaseModel):
    position: int
    read_char: str
    entry_char: str


class AlertRead(BaseModel):
    id: str
    seq: int = Field(description="Position on the live stream (the SSE event id)")
    status: str
    entry_id: int
    hotlist_id: str
    hotlist_name: str
    entry_plate: str
    entry_region: str | None
    entry_type: str
    entry_source: str
    entry_origin: str
    entry_record_id: str | None
    entry_reason: str
    offense_class: str | None
    missing_endangered: bool
    manual_reason: str | None
    plate: str
    region: str | None
    match_type: str
    confusions: list[ConfusionRead]
    camera_id: str
    camera_type: str | None
    zip_code: str | None
    sector: str | None
    lat: float | None
    lon: float | None
    confidence: float | None
    first_read_id: str
    first_read_at: datetime
    last_read_at: datetime
    read_count: int
    origin: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    rtcc_actions: list[str]
    dismissed_at: datetime | None
    dismissal_reason: str | None
    investigator_follow_up: bool
    visual_confirmed_at: datetime | None
    visual_confirmed_by: str | None
    visual_matches: bool | None
    ncic_confirmed_at: datetime | None
    ncic_still_valid: bool | None
    ncic_reference: str | None
    second_verified_at: datetime | None
    second_verified_by: str | None
    second_matches: bool | None
    exigency_waived_at: datetime | None
    enforcement_at: datetime | None
    enforcement_action: str | None
    outcome: str | None
    outcome_at: datetime | None
    offense: str | None
    driver_race: str | None
    driver_gender: str | None
    victim_race: str | None
    victim_gender: str | None
    updated_at: datetime


class HitRead(BaseModel):
    read_id: str
    entry_id: int
    plate: str
    region: str | None
    captured_at: datetime
    camera_id: str
    match_type: str
    confusions: list[ConfusionRead]
    origin: str
    matched_at: datetime


class StepRead(BaseModel):
    id: str
    step: str
    at: datetime
    actor: str
    actor_name: str
    actor_roles: list[str]
    data: dict[str, Any]


class AlertDetail(AlertRead):
    hits: list[HitRead]
    steps: list[StepRead]
    missing_steps: list[str] = Field(
        description="344.3.2(b) steps still needed before an enforcement action"
    )


# ---------------------------------------------------------------------------- incidents


class IncidentCause(StrEnum):
    """344.4(g): why the action fell on the wrong vehicle."""

    DATA_ENTRY = "data_entry"
    FICTITIOUS_PLATE = "fictitious_plate"
    SWAPPED_PLATE = "swapped_plate"
    MISREAD = "misread"


class IncidentCreate(_In):
    alert_id: AlertId
    cause: IncidentCause
    description: Annotated[str, StringConstraints(min_length=10, max_length=4000, pattern=_NO_NUL)]
    data_gathered: Annotated[
        str, StringConstraints(min_length=1, max_length=8000, pattern=_NO_NUL)
    ] = Field(description="What was gathered during the detention (344.6(b)10)")
    resulted_in_investigation: bool = False
    shift_ends_at: UtcDatetime | None = Field(
        None, description="End of the reporting officer's shift; else the configured shift end"
    )
    supervisor: Text200 | None = Field(
        None, description="The supervisor to notify (user:<id>); else every supervisor"
    )

    @field_validator("supervisor")
    @classmethod
    def _subject(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("user:"):
            raise ValueError("a supervisor is named by subject, `user:<id>`")
        return value


class IncidentQuery(_PageQuery):
    late: bool | None = None
    cause: IncidentCause | None = None
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None


class IncidentRead(BaseModel):
    id: str
    alert_id: str
    cause: str
    description: str
    data_gathered: str
    resulted_in_investigation: bool
    action_at: datetime
    shift_ends_at: datetime
    shift_end_source: str
    due_at: datetime = Field(description="Before the end of the reporting officer's shift")
    reported_at: datetime
    reported_by: str
    reported_by_name: str
    late: bool
    supervisor: str | None


class InboxQuery(_PageQuery):
    unacknowledged: bool | None = None


class InboxMessageRead(BaseModel):
    id: str
    recipient_role: str
    recipient_subject: str | None
    kind: str
    title: str
    body: str
    incident_id: str | None
    alert_id: str | None
    late: bool
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


class StepResultRead(BaseModel):
    """What a workflow step answers: the alert's state, without its plate."""

    alert_id: str
    step: str
    step_id: str
    at: datetime
    status: str
    missing_steps: list[str] = Field(
        description="344.3.2(b) steps still needed before an enforcement action"
    )
    incident_due_at: datetime | None = Field(
        None, description="For a wrong-vehicle outcome: when the 344.4(g) report is due"
    )
