"""Events access sends to audit: login attempts (344.2(b), 344.4(d)) and every change it makes
to accounts, roles, training, lockouts, clients and ingest keys (344.4(d)).

Every change's data carries the actor fields of `alpr_common.auditing` (`actor`, `actor_name`,
`actor_roles`; `system` for changes access makes on its own). Times are ISO 8601 strings.
"""

from __future__ import annotations

from typing import Any, Literal

from alpr_common.contracts.base import AuditedData, EventData

LOGIN_ATTEMPT = "access.login_attempt"
ENROLMENT_CODE_ISSUED = "access.enrolment_code_issued"
USER_CREATED = "access.user_created"
USER_ENROLLED = "access.user_enrolled"
USER_REENROLLED = "access.user_reenrolled"
PASSWORD_CHANGED = "access.password_changed"  # noqa: S105 (an event type, not a secret)
USER_UPDATED = "access.user_updated"
USER_ACTIVATED = "access.user_activated"
USER_DEACTIVATED = "access.user_deactivated"
ROLE_GRANTED = "access.role_granted"
ROLE_REMOVED = "access.role_removed"
TRAINING_RECORDED = "access.training_recorded"
LOCKOUT_STARTED = "access.lockout_started"
LOCKOUT_RELEASED = "access.lockout_released"
CLIENT_CREATED = "access.client_created"
CLIENT_UPDATED = "access.client_updated"
CLIENT_REVOKED = "access.client_revoked"
CLIENT_SECRET_ROTATED = "access.client_secret_rotated"  # noqa: S105 (an event type)
INGEST_KEY_CREATED = "access.ingest_key_created"
INGEST_KEY_REVOKED = "access.ingest_key_revoked"


class LoginAttemptData(EventData):
    username: str | None = None
    subject: str | None = None
    outcome: Literal["success", "failure", "locked"]
    reason: str | None = None
    source_address: str | None = None


class UserData(AuditedData):
    user_id: str


class EnrolmentCodeIssuedData(UserData):
    expires_at: str


class UserCreatedData(UserData):
    username: str
    full_name: str
    badge: str
    unit: str


class UserUpdatedData(UserData):
    changes: dict[str, Any]


class UserStatusData(UserData):
    """`access.user_activated`, `access.user_deactivated`."""

    username: str


class RoleChangedData(UserData):
    """`access.role_granted`, `access.role_removed` (344.2(b))."""

    username: str
    role: str


class TrainingRecordedData(UserData):
    """344.2(b): only trained users get access."""

    training_id: str
    course: str
    version: str
    topics: list[str]
    completed_at: str
    valid_until: str


class LockoutStartedData(UserData):
    username: str
    lockout_id: str
    failures: int
    locked_until: str


class LockoutReleasedData(UserData):
    lockout_id: str
    how: Literal["time", "cso"]
    reason: str | None = None


class ClientData(AuditedData):
    client_id: str


class ClientCreatedData(ClientData):
    name: str
    kind: str
    cameras: list[str]
    agency_id: str | None = None


class ClientUpdatedData(ClientData):
    changes: dict[str, Any]


class ClientRevokedData(ClientData):
    ingest_keys_revoked: list[str]


class IngestKeyCreatedData(ClientData):
    key_id: str
    prefix: str
    cameras: list[str]
    label: str | None = None


class IngestKeyRevokedData(ClientData):
    key_id: str
    prefix: str


EVENT_TYPES: dict[str, type[EventData]] = {
    LOGIN_ATTEMPT: LoginAttemptData,
    ENROLMENT_CODE_ISSUED: EnrolmentCodeIssuedData,
    USER_CREATED: UserCreatedData,
    USER_ENROLLED: UserData,
    USER_REENROLLED: UserData,
    PASSWORD_CHANGED: UserData,
    USER_UPDATED: UserUpdatedData,
    USER_ACTIVATED: UserStatusData,
    USER_DEACTIVATED: UserStatusData,
    ROLE_GRANTED: RoleChangedData,
    ROLE_REMOVED: RoleChangedData,
    TRAINING_RECORDED: TrainingRecordedData,
    LOCKOUT_STARTED: LockoutStartedData,
    LOCKOUT_RELEASED: LockoutReleasedData,
    CLIENT_CREATED: ClientCreatedData,
    CLIENT_UPDATED: ClientUpdatedData,
    CLIENT_REVOKED: ClientRevokedData,
    CLIENT_SECRET_ROTATED: ClientData,
    INGEST_KEY_CREATED: IngestKeyCreatedData,
    INGEST_KEY_REVOKED: IngestKeyRevokedData,
}
