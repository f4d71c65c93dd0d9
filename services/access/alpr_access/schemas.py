from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
)

from alpr_access.security import MAX_PASSWORD_CHARS
from alpr_access.settings import CLIENT_ID_PATTERN
from alpr_common.roles import PERSON_ROLES, Role

# One line of text: no control characters (PostgreSQL refuses NUL, logs dislike the rest).
LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
AGENCY_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
SUBJECT_PATTERN = r"^(user|client):[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("time out of range") from None


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=LINE_PATTERN),
    AfterValidator(_encodable),
]
ShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=64, pattern=LINE_PATTERN),
    AfterValidator(_encodable),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500, pattern=LINE_PATTERN),
    AfterValidator(_encodable),
]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=USERNAME_PATTERN)
]
Secret = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_PASSWORD_CHARS, pattern=r"^[^\x00]*$"),
    AfterValidator(_encodable),
]
TotpCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
CameraId = Annotated[str, StringConstraints(pattern=CAMERA_ID_PATTERN)]
AgencyId = Annotated[str, StringConstraints(pattern=AGENCY_ID_PATTERN)]
ClientId = Annotated[str, StringConstraints(pattern=CLIENT_ID_PATTERN)]
Instant = Annotated[AwareDatetime, AfterValidator(_utc)]

T = TypeVar("T")


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------------------- tokens


class TokenRequest(Input):
    """OAuth2 token request (RFC 6749 sections 4.3 and 4.4), form-encoded."""

    grant_type: Literal["password", "client_credentials"]
    username: Annotated[str, StringConstraints(max_length=256, pattern=LINE_PATTERN)] | None = None
    password: Secret | None = None
    totp: Annotated[str, StringConstraints(max_length=16, pattern=LINE_PATTERN)] | None = Field(
        default=None, description="The six-digit code of the person's authenticator app"
    )
    client_id: Annotated[str, StringConstraints(max_length=256, pattern=LINE_PATTERN)] | None = None
    client_secret: Secret | None = None
    scope: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="Ignored: a token carries every role its holder has"
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the OAuth2 token type, no secret
    expires_in: int = Field(description="Seconds until the token expires")


class IngestKeyExchange(Input):
    key: Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=LINE_PATTERN)]


# ---------------------------------------------------------------------------- users


def _person_role(value: Role) -> Role:
    if value not in PERSON_ROLES:
        raise ValueError(f"{value.value} is a machine role; people hold only person roles")
    return value


PersonRole = Annotated[Role, AfterValidator(_person_role)]


class UserCreate(Input):
    username: Username
    full_name: Name
    badge: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=LINE_PATTERN),
        AfterValidator(_encodable),
    ]
    unit: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=200, pattern=LINE_PATTERN),
        AfterValidator(_encodable),
    ] = ""
    roles: list[PersonRole] = Field(default_factory=list, max_length=len(PERSON_ROLES))


class UserUpdate(Input):
    full_name: Name | None = None
    badge: (
        Annotated[
            str,
            StringConstraints(
                strip_whitespace=True, min_length=1, max_length=64, pattern=LINE_PATTERN
            ),
            AfterValidator(_encodable),
        ]
        | None
    ) = None
    unit: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=200, pattern=LINE_PATTERN),
            AfterValidator(_encodable),
        ]
        | None
    ) = None
    active: bool | None = Field(
        default=None, description="false deactivates (effective at the gateway within seconds)"
    )


class UserRead(BaseModel):
    id: str
    username: str
    full_name: str
    badge: str
    unit: str
    active: bool
    roles: list[str]
    enrolled: bool
    training_valid_until: datetime | None = Field(
        description="Expiry of the latest training record (344.7); null if none"
    )
    created_at: datetime
    enrolled_at: datetime | None
    deactivated_at: datetime | None


class EnrolmentCodeRead(BaseModel):
    user_id: str
    username: str
    enrolment_code: str = Field(description="Shown once; give it to the person in person")
    expires_at: datetime


class UserCreated(BaseModel):
    user: UserRead
    enrolment: EnrolmentCodeRead


class EnrolmentRequest(Input):
    username: Username
    code: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=LINE_PATTERN)]
    new_password: Secret


class Enrolled(BaseModel):
    user_id: str
    username: str
    totp_secret: str = Field(description="Base32 seed for the authenticator app; shown once")
    otpauth_uri: str = Field(description="otpauth:// URI (scan as a QR code); shown once")


class PasswordChange(Input):
    current_password: Secret
    totp: TotpCode
    new_password: Secret


class RoleGrantCreate(Input):
    role: PersonRole


class RoleGrantRead(BaseModel):
    user_id: str
    role: str
    granted_at: datetime
    granted_by: str


# ---------------------------------------------------------------------------- training


class TrainingTopic(StrEnum):
    """The four topics 344.7(a) requires every course to cover."""

    APPROPRIATE_USE = "appropriate_use"  # (a)1 use, collection, documenting the reason
    SAFEGUARDS = "safeguards"  # (a)2 Policy 344.4
    MISUSE_CONSEQUENCES = "misuse_consequences"  # (a)3
    DRIVER_NOT_WANTED_PERSON = "driver_not_wanted_person"  # (a)4


class TrainingRecordCreate(Input):
    user_id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    course: Name
    version: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=LINE_PATTERN),
        AfterValidator(_encodable),
    ]
    topics: list[TrainingTopic] = Field(
        min_length=1, max_length=16, description="Must include all four topics of 344.7(a)"
    )
    completed_at: Instant


class TrainingRecordRead(BaseModel):
    id: str
    user_id: str
    course: str
    version: str
    topics: list[str]
    completed_at: datetime
    valid_until: datetime
    recorded_by: str
    recorded_at: datetime


# ---------------------------------------------------------------------------- lockouts


class LockoutRead(BaseModel):
    id: str
    user_id: str
    username: str
    locked_at: datetime
    locked_until: datetime
    failures: int
    active: bool
    released_at: datetime | None
    released_how: Literal["time", "cso"] | None = Field(
        description="time: the lock ran out; cso: released early by the Chief Security Officer"
    )
    released_by: str | None
    release_reason: str | None


class LockoutReleaseCreate(Input):
    user_id: Annotated[str, StringConstraints(pattern=ID_PATTERN)]
    reason: Reason


# ---------------------------------------------------------------------------- clients


class ClientKind(StrEnum):
    CAMERA = "camera"
    AGENCY = "agency"
    SERVICE = "service"


class ClientCreate(Input):
    name: Name
    kind: Literal["camera", "agency"] = Field(
        description="Service clients come from ACCESS_SERVICE_CLIENTS, not from this API"
    )
    cameras: list[CameraId] = Field(
        default_factory=list,
        max_length=5000,
        description="Camera clients: the cameras it posts for",
    )
    agency_id: AgencyId | None = Field(default=None, description="Agency clients: the agency")


class ClientUpdate(Input):
    name: Name | None = None
    cameras: list[CameraId] | None = Field(default=None, max_length=5000)
    agency_id: AgencyId | None = None


class ClientRead(BaseModel):
    id: str
    name: str
    kind: str
    cameras: list[str]
    agency_id: str | None
    active: bool
    created_at: datetime
    created_by: str
    revoked_at: datetime | None


class ClientSecret(BaseModel):
    client: ClientRead
    client_secret: str = Field(description="Shown once; store it in the client's secret store")


class IngestKeyCreate(Input):
    client_id: ClientId
    label: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=200, pattern=LINE_PATTERN),
        AfterValidator(_encodable),
    ] = ""
    cameras: list[CameraId] | None = Field(
        default=None,
        max_length=5000,
        description="A subset of the client's cameras; all of them when omitted",
    )


class IngestKeyRead(BaseModel):
    id: str
    client_id: str
    label: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    cameras: list[str]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None


class IngestKeyCreated(BaseModel):
    ingest_key: IngestKeyRead
    key: str = Field(
        description="Shown once. Cameras send it as `X-ALPR-Ingest-Key` or as the HTTP basic "
        "password; it is valid on ingest routes only"
    )


# ---------------------------------------------------------------------------- principals


class PrincipalStatus(BaseModel):
    subject: str
    kind: Literal["person", "machine"]
    active: bool
    roles: list[str]
    training_valid_until: datetime | None
    # Tokens issued before this are refused (password or TOTP change, deactivation, role change).
    tokens_valid_after: datetime | None = None
    # This principal's signed-out tokens that have not expired yet.
    revoked_token_ids: list[str] = []


# ---------------------------------------------------------------------------- login attempts


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    LOCKED = "locked"


class LoginAttemptRead(BaseModel):
    id: str
    at: datetime
    username: str
    user_id: str | None
    subject: str | None
    kind: str
    method: str
    outcome: str
    reason: str
    source_address: str | None


class LoginAttemptFilter(BaseModel):
    username: str | None = None
    user_id: str | None = None
    outcome: Outcome | None = None
    method: str | None = None
    source_address: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class OffHoursLogin(BaseModel):
    at: datetime
    local_time: str = Field(description="Local time of day in the digest's time zone, HH:MM")
    source_address: str | None


class DigestEntry(BaseModel):
    username: str
    subject: str | None = Field(description="null: no such user or client (name as typed)")
    kind: str
    successes: int
    failures: int
    locked_attempts: int = Field(description="Attempts refused because the account was locked")
    lockouts: int = Field(description="Lockouts that started this day")
    source_addresses: list[str]
    first_seen_addresses: list[str] = Field(
        description="Addresses never seen for this name before this day"
    )
    off_hours_logins: list[OffHoursLogin]


class DigestTotals(BaseModel):
    attempts: int
    successes: int
    failures: int
    locked_attempts: int
    lockouts: int
    off_hours_logins: int
    first_seen_addresses: int


class LoginDigest(BaseModel):
    date: date
    timezone: str
    starts_at: datetime
    ends_at: datetime
    off_hours: str = Field(description="Local off-hours window, e.g. 22:00-06:00")
    totals: DigestTotals
    entries: list[DigestEntry] = Field(description="One per name, most failures first")
