"""Events the hot-list service sends audit (through `alpr_hotlist.auditing.emit`): every change to
a list, an entry or an alert, attributed (344.4(d)), carrying what the quarterly report counts
(344.6(b) items 2, 3, 7, 9, 10-13) so audit never reads hotlist's tables.

Every event's data carries `actor`, `actor_name` and `actor_roles` (the service itself for
matching). The types audit reads:

- `hotlist.list_created`, `list_updated`, `list_retired`: a list and its status (the lists in use,
  on the public transparency page).
- `hotlist.entry_created`: a manual entry or one imported from a list (item 7 counts manual ones).
- `hotlist.alert_created`: a read matched an entry (a "match", item 2), with the list, the entry's
  origin, manual reason and entering role (item 7), and the camera's type, zip and sector (item 9).
- `hotlist.alert_<step>`: a workflow step (344.3.2): the alert's facts again plus the step's own
  fields; `alert_outcome` carries the 344.6(b)11-13 fields.
- `hotlist.wrong_vehicle_incident`: an action against the wrong vehicle (344.4(g), item 10).
"""

from __future__ import annotations

from pydantic import BaseModel

from alpr_common.contracts.base import EventData

LIST_CREATED = "hotlist.list_created"
LIST_UPDATED = "hotlist.list_updated"
LIST_RETIRED = "hotlist.list_retired"
ENTRY_CREATED = "hotlist.entry_created"
ALERT_CREATED = "hotlist.alert_created"
ALERT_READ_ADDED = "hotlist.alert_read_added"
WRONG_VEHICLE_INCIDENT = "hotlist.wrong_vehicle_incident"

# The workflow steps of 344.3.2, each sent as `hotlist.alert_<step>`.
STEPS = (
    "acknowledged",
    "actioned",
    "dismissed",
    "visual_confirmation",
    "ncic_tcic_confirmation",
    "second_officer_verification",
    "exigency_waiver",
    "enforcement_action",
    "outcome",
)
ALERT_STEP_TYPES = tuple(f"hotlist.alert_{step}" for step in STEPS)
ALERT_OUTCOME = "hotlist.alert_outcome"


class ActorData(EventData):
    actor: str
    actor_name: str | None = None
    actor_roles: list[str] = []


class ListData(ActorData):
    """A list's facts (`hotlist.list_*`)."""

    hotlist_id: str
    name: str
    source: str
    status: str


class EntryData(ActorData):
    """An entry's facts (`hotlist.entry_*`, `hotlist.held_entry_*`)."""

    entry_id: int
    hotlist_id: str
    entry_type: str | None = None
    origin: str  # manual | import
    manual_reason: str | None = None
    status: str
    entered_by: str
    entered_by_role: str


class AlertData(ActorData):
    """An alert's facts, sent with its creation and with every step."""

    alert_id: str
    entry_id: int
    hotlist_id: str
    hotlist_name: str
    entry_type: str
    entry_origin: str  # manual | import
    manual_reason: str | None = None
    entered_by_role: str
    missing_endangered: bool = False
    camera_id: str
    camera_type: str | None = None
    zip_code: str | None = None
    sector: str | None = None
    origin: str = "live"  # live | back_match
    status: str


class AlertStepData(AlertData):
    """`hotlist.alert_<step>`: the step's own fields beside the alert's."""

    step: str
    step_id: str
    at: str
    matches: bool | None = None  # visual confirmation, second officer
    still_valid: bool | None = None  # NCIC/TCIC
    reason: str | None = None  # dismissal
    action: str | None = None  # RTCC action, enforcement action


class AlertOutcomeData(AlertStepData):
    """`hotlist.alert_outcome`: what the action led to (344.6(b)3) and 344.6(b)11-13."""

    outcome: str  # arrest | prosecution | missing_person_located | released_... | wrong_vehicle
    enforcement_action: str | None = None
    detention: bool = False
    offense: str
    driver_race: str | None = None
    driver_gender: str | None = None
    victim_race: str | None = None
    victim_gender: str | None = None


class WrongVehicleIncidentData(ActorData):
    """344.4(g): an action taken against the wrong vehicle; 344.6(b)10 counts those whose
    detention led to no investigation."""

    incident_id: str
    alert_id: str
    hotlist_id: str
    hotlist_name: str
    entry_type: str | None = None
    camera_id: str | None = None
    camera_type: str | None = None
    zip_code: str | None = None
    sector: str | None = None
    cause: str
    data_gathered: str
    resulted_in_investigation: bool
    enforcement_action: str | None = None
    action_at: str
    due_at: str
    reported_at: str
    late: bool


def _step_types() -> dict[str, type[BaseModel]]:
    types: dict[str, type[BaseModel]] = {t: AlertStepData for t in ALERT_STEP_TYPES}
    types[ALERT_OUTCOME] = AlertOutcomeData
    return types


EVENT_TYPES: dict[str, type[BaseModel]] = {
    LIST_CREATED: ListData,
    LIST_UPDATED: ListData,
    LIST_RETIRED: ListData,
    ENTRY_CREATED: EntryData,
    ALERT_CREATED: AlertData,
    ALERT_READ_ADDED: AlertData,
    WRONG_VEHICLE_INCIDENT: WrongVehicleIncidentData,
    **_step_types(),
}
