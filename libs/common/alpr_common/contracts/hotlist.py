"""Events hotlist sends to audit: every change to a list, an entry or an alert, attributed
(344.4(d), 344.6): list and entry changes and imports (344.2(c)), alerts and each step of their
verification (344.3.2, 344.6(b) items 2, 3, 7, 9, 11-13), wrong-vehicle incidents (344.4(g)).

Every event's data carries the actor fields of `alpr_common.auditing` (`actor`, `actor_name`,
`actor_roles`; `service:hotlist` for alerts the matching raises). Times are ISO 8601 strings.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from alpr_common.contracts.base import AuditedData, EventData

LIST_CREATED = "hotlist.list_created"
LIST_UPDATED = "hotlist.list_updated"
LIST_RETIRED = "hotlist.list_retired"
ENTRY_CREATED = "hotlist.entry_created"
ENTRY_UPDATED = "hotlist.entry_updated"
ENTRY_REMOVED = "hotlist.entry_removed"
HELD_ENTRY_APPROVED = "hotlist.held_entry_approved"
HELD_ENTRY_REJECTED = "hotlist.held_entry_rejected"
IMPORT_APPLIED = "hotlist.import_applied"
ALERT_CREATED = "hotlist.alert_created"
ALERT_READ_ADDED = "hotlist.alert_read_added"
ALERT_ACKNOWLEDGED = "hotlist.alert_acknowledged"
ALERT_ACTIONED = "hotlist.alert_actioned"
ALERT_DISMISSED = "hotlist.alert_dismissed"
ALERT_VISUAL_CONFIRMATION = "hotlist.alert_visual_confirmation"
ALERT_NCIC_TCIC_CONFIRMATION = "hotlist.alert_ncic_tcic_confirmation"
ALERT_SECOND_OFFICER_VERIFICATION = "hotlist.alert_second_officer_verification"
ALERT_EXIGENCY_WAIVER = "hotlist.alert_exigency_waiver"
ALERT_ENFORCEMENT_ACTION = "hotlist.alert_enforcement_action"
ALERT_OUTCOME = "hotlist.alert_outcome"
WRONG_VEHICLE_INCIDENT = "hotlist.wrong_vehicle_incident"
INBOX_MESSAGE_ACKNOWLEDGED = "hotlist.inbox_message_acknowledged"
# The workflow steps (344.3.2), each an `AlertStepData` (the outcome an `AlertOutcomeData`).
ALERT_STEP_TYPES = (
    ALERT_ACKNOWLEDGED,
    ALERT_ACTIONED,
    ALERT_DISMISSED,
    ALERT_VISUAL_CONFIRMATION,
    ALERT_NCIC_TCIC_CONFIRMATION,
    ALERT_SECOND_OFFICER_VERIFICATION,
    ALERT_EXIGENCY_WAIVER,
    ALERT_ENFORCEMENT_ACTION,
    ALERT_OUTCOME,
)


class ListData(AuditedData):
    hotlist_id: str
    name: str
    source: str
    status: str
    version: int


class ListUpdatedData(ListData):
    before: dict[str, Any]
    after: dict[str, Any]


class ListRetiredData(ListData):
    entries_removed: int = Field(ge=0)
    reason: str | None = None


class EntryData(AuditedData):
    """An entry's audit facts (344.2(c): who entered it, why, from which source)."""

    entry_id: int
    hotlist_id: str
    plate: str
    region: str | None = None
    entry_type: str | None = None
    category: str
    offense_class: str | None = None
    missing_endangered: bool = False
    source: str
    record_id: str | None = None
    origin: str
    manual_reason: str | None = None
    manual_reason_text: str | None = None
    reason: str | None = None
    status: str
    expires_at: str | None = None
    entered_by: str
    entered_by_role: str


class EntryUpdatedData(EntryData):
    before: dict[str, Any]
    after: dict[str, Any]


class EntryRemovedData(EntryData):
    """`reason` here is why the entry was removed (None: not given)."""


class HeldEntryApprovedData(EntryData):
    before: dict[str, Any]
    note: str | None = None


class HeldEntryRejectedData(EntryData):
    held_clause: str | None = None
    note: str | None = None


class HeldRecord(BaseModel):
    row: int | None = None
    plate: str
    clause: str


class ImportAppliedData(ListData):
    import_id: str
    format: str
    file_sha256: str
    added: int = Field(ge=0)
    removed: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    held: int = Field(ge=0)
    errors: int = Field(ge=0)
    superseded_held: int = Field(ge=0)
    held_records: list[HeldRecord] = []


class AlertData(AuditedData):
    """What audit counts alerts by (344.6(b) items 2, 3, 7, 9, 11-13)."""

    alert_id: str
    seq: int
    entry_id: int
    hotlist_id: str
    hotlist_name: str
    entry_type: str
    entry_source: str
    entry_origin: str
    manual_reason: str | None = None
    entered_by_role: str
    missing_endangered: bool
    read_id: str
    plate: str
    match_type: str
    confusions: list[Any] = []
    camera_id: str
    camera_type: str | None = None
    zip_code: str | None = None
    sector: str | None = None
    origin: str
    status: str


class AlertReadAddedData(AlertData):
    captured_at: str
    hit_match_type: str


class AlertStepData(AlertData):
    """A step of an alert's verification workflow (344.3.2(b)), with the step's own fields."""

    step: str
    step_id: str
    at: str
    note: str | None = None
    # What audit's report reads of the steps (344.6(b)2): a visual check or a second officer's
    # verification (`matches`), NCIC/TCIC (`still_valid`), a dismissal (`reason`), an RTCC or
    # enforcement action (`action`).
    matches: bool | None = None
    still_valid: bool | None = None
    reason: str | None = None
    action: str | None = None


class AlertOutcomeData(AlertStepData):
    """`hotlist.alert_outcome`: what the action led to (344.6(b)3) and 344.6(b)11-13."""

    outcome: str
    enforcement_action: str | None = None
    detention: bool = False
    offense: str
    driver_race: str | None = None
    driver_gender: str | None = None
    victim_race: str | None = None
    victim_gender: str | None = None


class WrongVehicleIncidentData(AuditedData):
    """344.4(g): a wrong-vehicle stop, reported by the end of the shift."""

    incident_id: str
    alert_id: str
    hotlist_id: str
    hotlist_name: str
    entry_type: str
    camera_id: str
    camera_type: str | None = None
    zip_code: str | None = None
    sector: str | None = None
    cause: str
    data_gathered: str  # 344.6(b)10
    resulted_in_investigation: bool
    enforcement_action: str | None = None
    action_at: str
    due_at: str
    reported_at: str
    late: bool
    notified: list[str]


class InboxMessageAcknowledgedData(AuditedData):
    message_id: str
    kind: str
    incident_id: str | None = None
    recipient_role: str


EVENT_TYPES: dict[str, type[EventData]] = {
    LIST_CREATED: ListData,
    LIST_UPDATED: ListUpdatedData,
    LIST_RETIRED: ListRetiredData,
    ENTRY_CREATED: EntryData,
    ENTRY_UPDATED: EntryUpdatedData,
    ENTRY_REMOVED: EntryRemovedData,
    HELD_ENTRY_APPROVED: HeldEntryApprovedData,
    HELD_ENTRY_REJECTED: HeldEntryRejectedData,
    IMPORT_APPLIED: ImportAppliedData,
    ALERT_CREATED: AlertData,
    ALERT_READ_ADDED: AlertReadAddedData,
    ALERT_ACKNOWLEDGED: AlertStepData,
    ALERT_ACTIONED: AlertStepData,
    ALERT_DISMISSED: AlertStepData,
    ALERT_VISUAL_CONFIRMATION: AlertStepData,
    ALERT_NCIC_TCIC_CONFIRMATION: AlertStepData,
    ALERT_SECOND_OFFICER_VERIFICATION: AlertStepData,
    ALERT_EXIGENCY_WAIVER: AlertStepData,
    ALERT_ENFORCEMENT_ACTION: AlertStepData,
    ALERT_OUTCOME: AlertOutcomeData,
    WRONG_VEHICLE_INCIDENT: WrongVehicleIncidentData,
    INBOX_MESSAGE_ACKNOWLEDGED: InboxMessageAcknowledgedData,
}
