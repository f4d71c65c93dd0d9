from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Query, Response
from pydantic import BaseModel

from alpr_access import service
from alpr_access.auth import (
    ChiefSecurityOfficer,
    LoginAuditReader,
    Person,
    PersonnelReader,
    Service,
    TrainingReader,
    TrainingRecorder,
)
from alpr_access.deps import (
    KeysDep,
    PasswordsDep,
    SettingsDep,
    SourceAddressDep,
)
from alpr_access.errors import (
    ClientConflict,
    ClientNotFound,
    CredentialsRefused,
    IncompleteTraining,
    IngestKeyNotFound,
    InvalidBinding,
    InvalidCredentials,
    LastChiefSecurityOfficer,
    LockoutNotFound,
    MalformedBody,
    NotAPerson,
    PrincipalNotFound,
    SelfRecordingRefused,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from alpr_access.schemas import (
    ID_PATTERN,
    SUBJECT_PATTERN,
    ClientCreate,
    ClientKind,
    ClientRead,
    ClientSecret,
    ClientUpdate,
    Enrolled,
    EnrolmentCodeRead,
    EnrolmentRequest,
    IngestKeyCreate,
    IngestKeyCreated,
    IngestKeyExchange,
    IngestKeyRead,
    Instant,
    LockoutRead,
    LockoutReleaseCreate,
    LoginAttemptRead,
    LoginDigest,
    Outcome,
    Page,
    PasswordChange,
    PersonRole,
    PrincipalStatus,
    RoleGrantCreate,
    RoleGrantRead,
    TokenRequest,
    TokenResponse,
    TrainingRecordCreate,
    TrainingRecordRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from alpr_common.db import SessionDep
from alpr_common.errors import Unprocessable, responses
from alpr_common.roles import Role

router = APIRouter(prefix="/v1")
jwks_router = APIRouter(tags=["tokens"])

Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip")]
UserId = Annotated[str, Path(pattern=ID_PATTERN)]
ClientIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
KeyId = Annotated[str, Path(pattern=ID_PATTERN)]
FilterText = Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]


class JWKSet(BaseModel):
    keys: list[dict[str, Any]]


# ---------------------------------------------------------------------------- public


@router.post(
    "/token",
    response_model=TokenResponse,
    tags=["tokens"],
    responses=responses(MalformedBody, InvalidCredentials),
)
async def issue_token(
    form: Annotated[TokenRequest, Form()],
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    keys: KeysDep,
    source_address: SourceAddressDep,
    response: Response,
) -> TokenResponse:
    """OAuth2 token: `password` (username, password, totp) for people, `client_credentials`."""
    response.headers["Cache-Control"] = "no-store"
    if form.grant_type == "password":
        if form.username is None or form.password is None:
            raise Unprocessable("grant_type=password needs username, password and totp")
        return await service.login_person(
            session,
            settings=settings,
            passwords=passwords,
            keys=keys,
            username=form.username,
            password=form.password,
            totp=form.totp,
            source_address=source_address,
        )
    if form.client_id is None or form.client_secret is None:
        raise Unprocessable("grant_type=client_credentials needs client_id and client_secret")
    return await service.login_client(
        session,
        settings=settings,
        passwords=passwords,
        keys=keys,
        client_id=form.client_id,
        client_secret=form.client_secret,
        source_address=source_address,
    )


@router.post(
    "/enrolments",
    response_model=Enrolled,
    status_code=201,
    tags=["users"],
    responses=responses(MalformedBody, InvalidCredentials, WeakPassword),
)
async def enrol(
    body: EnrolmentRequest,
    session: SessionDep,
    settings: SettingsDep,
    passwords: PasswordsDep,
    source_address: SourceAddressDep,
    response: Response,
) -> Enrolled:
    """Redeem a one-time enrolment code: set a password, receive the TOTP seed (shown once)."""
    response.headers["Cache-Control"] = "no-store"
    return await service.enrol(
        session,
        settings=settings,
        passwords=passwords,
        username=body.username,
        code=body.code,
        new_password=body.new_password,
        source_address=source_address,
    )


@jwks_router.get("/.well-known/jwks.json", response_model=JWKSet)
async def jwks(keys: KeysDep, response: Response) -> JWKSet:
    """The public keys that verify access tokens, old ones included until their tokens expire."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return JWKSet(keys=keys.jwks()["keys"])


# ---------------------------------------------------------------------------- machines


@router.post(
    "/ingest-keys/exchange",
    response_model=TokenResponse,
    tags=["ingest keys"],
    responses=responses(MalformedBody, InvalidCredentials),
)
async def exchange_ingest_key(
    body: IngestKeyExchange,
    _caller: Service,
    session: SessionDep,
    settings: SettingsDep,
    keys: KeysDep,
    source_address: SourceAddressDep,
) -> TokenResponse:
    """Internal (gateway): trade a camera's ingest key for a short camera token."""
    return await service.exchange_ingest_key(
        session, settings=settings, keys=keys, key=body.key, source_address=source_address
    )


@router.get(
    "/principals/{subject}/status",
    response_model=PrincipalStatus,
    tags=["principals"],
    responses=responses(PrincipalNotFound),
)
async def principal_status(
    subject: Annotated[str, Path(pattern=SUBJECT_PATTERN)], _caller: Service, session: SessionDep
) -> PrincipalStatus:
    """Internal (gateway): is this user or client active, with which roles and training."""
    return await service.principal_status(session, subject=subject)


# ---------------------------------------------------------------------------- people


@router.get(
    "/users/me",
    response_model=UserRead,
    tags=["users"],
    responses=responses(NotAPerson, UserNotFound),
)
async def read_me(principal: Person, session: SessionDep) -> UserRead:
    """Your own profile, roles and training expiry."""
    return await service.get_me(session, principal=principal)


@router.put(
    "/users/me/password",
    status_code=204,
    tags=["users"],
    responses=responses(MalformedBody, CredentialsRefused, UserNotFound, WeakPassword),
)
async def change_password(
    body: PasswordChange,
    principal: Person,
    session: SessionDep,
    passwords: PasswordsDep,
    source_address: SourceAddressDep,
) -> None:
    """Change your password, proving it with the current password and a TOTP code."""
    await service.change_password(
        session,
        passwords=passwords,
        principal=principal,
        current_password=body.current_password,
        totp=body.totp,
        new_password=body.new_password,
        source_address=source_address,
    )


@router.post(
    "/users",
    response_model=UserCreated,
    status_code=201,
    tags=["users"],
    responses=responses(MalformedBody, UsernameTaken),
)
async def create_user(
    body: UserCreate, principal: ChiefSecurityOfficer, session: SessionDep, settings: SettingsDep
) -> UserCreated:
    """Add a person (CSO); the answer carries their one-time enrolment code."""
    return await service.create_user(session, settings=settings, actor=principal.subject, data=body)


@router.get("/users", response_model=Page[UserRead], tags=["users"])
async def list_users(
    _reader: PersonnelReader,
    session: SessionDep,
    active: bool | None = None,
    role: Role | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[UserRead]:
    """People, by username, optionally only active ones or holders of a role."""
    return await service.list_users(session, active=active, role=role, limit=limit, offset=offset)


@router.get(
    "/users/{user_id}", response_model=UserRead, tags=["users"], responses=responses(UserNotFound)
)
async def read_user(user_id: UserId, _reader: PersonnelReader, session: SessionDep) -> UserRead:
    """One person, with roles and training expiry."""
    return await service.get_user(session, user_id=user_id)


@router.patch(
    "/users/{user_id}",
    response_model=UserRead,
    tags=["users"],
    responses=responses(MalformedBody, UserNotFound, LastChiefSecurityOfficer),
)
async def update_user(
    user_id: UserId, body: UserUpdate, principal: ChiefSecurityOfficer, session: SessionDep
) -> UserRead:
    """Edit a person (CSO); `active: false` deactivates them at the gateway within seconds."""
    return await service.update_user(session, actor=principal.subject, user_id=user_id, data=body)


@router.post(
    "/users/{user_id}/roles",
    response_model=RoleGrantRead,
    status_code=201,
    tags=["users"],
    responses=responses(MalformedBody, UserNotFound, LastChiefSecurityOfficer),
)
async def grant_role(
    user_id: UserId, body: RoleGrantCreate, principal: ChiefSecurityOfficer, session: SessionDep
) -> RoleGrantRead:
    """Grant a role (Chief Security Officer only, 344.2(b))."""
    return await service.grant_role(
        session, actor=principal.subject, user_id=user_id, role=body.role
    )


@router.delete(
    "/users/{user_id}/roles/{role}",
    status_code=204,
    tags=["users"],
    responses=responses(UserNotFound, LastChiefSecurityOfficer),
)
async def remove_role(
    user_id: UserId, role: PersonRole, principal: ChiefSecurityOfficer, session: SessionDep
) -> None:
    """Remove a role (Chief Security Officer only, 344.2(b))."""
    await service.remove_role(session, actor=principal.subject, user_id=user_id, role=role)


@router.post(
    "/users/{user_id}/enrolment-codes",
    response_model=EnrolmentCodeRead,
    status_code=201,
    tags=["users"],
    responses=responses(UserNotFound),
)
async def issue_enrolment_code(
    user_id: UserId, principal: ChiefSecurityOfficer, session: SessionDep, settings: SettingsDep
) -> EnrolmentCodeRead:
    """A new one-time enrolment code (CSO); earlier unused codes stop working."""
    return await service.issue_enrolment_code(
        session, settings=settings, actor=principal.subject, user_id=user_id
    )


# ---------------------------------------------------------------------------- training


@router.post(
    "/training-records",
    response_model=TrainingRecordRead,
    status_code=201,
    tags=["training"],
    responses=responses(MalformedBody, UserNotFound, SelfRecordingRefused, IncompleteTraining),
)
async def record_training(
    body: TrainingRecordCreate, principal: TrainingRecorder, session: SessionDep
) -> TrainingRecordRead:
    """Record a completed annual training covering all four 344.7(a) topics."""
    return await service.record_training(session, actor=principal, data=body)


@router.get("/training-records", response_model=Page[TrainingRecordRead], tags=["training"])
async def list_training(
    _reader: TrainingReader,
    session: SessionDep,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TrainingRecordRead]:
    """Training records, newest completion first."""
    return await service.list_training(session, user_id=user_id, limit=limit, offset=offset)


# ---------------------------------------------------------------------------- lockouts


@router.get("/lockouts", response_model=Page[LockoutRead], tags=["lockouts"])
async def list_lockouts(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LockoutRead]:
    """Lockouts, newest first, with how each ended (by time or by the CSO)."""
    return await service.list_lockouts(
        session, user_id=user_id, active=active, limit=limit, offset=offset
    )


@router.post(
    "/lockout-releases",
    response_model=LockoutRead,
    status_code=201,
    tags=["lockouts"],
    responses=responses(MalformedBody, UserNotFound, LockoutNotFound),
)
async def release_lockout(
    body: LockoutReleaseCreate, principal: ChiefSecurityOfficer, session: SessionDep
) -> LockoutRead:
    """End a person's active lockout early (CSO), with a reason."""
    return await service.release_lockout(
        session, actor=principal.subject, user_id=body.user_id, reason=body.reason
    )


# ---------------------------------------------------------------------------- clients


@router.post(
    "/clients",
    response_model=ClientSecret,
    status_code=201,
    tags=["clients"],
    responses=responses(MalformedBody, InvalidBinding),
)
async def create_client(
    body: ClientCreate,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ClientSecret:
    """Register a camera or agency client (CSO); the secret is shown once."""
    return await service.create_client(
        session, passwords=passwords, actor=principal.subject, data=body
    )


@router.get("/clients", response_model=Page[ClientRead], tags=["clients"])
async def list_clients(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    kind: ClientKind | None = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ClientRead]:
    """Machine clients, oldest first."""
    return await service.list_clients(
        session, kind=kind.value if kind else None, active=active, limit=limit, offset=offset
    )


@router.get(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(ClientNotFound),
)
async def read_client(
    client_id: ClientIdPath, _cso: ChiefSecurityOfficer, session: SessionDep
) -> ClientRead:
    """One machine client."""
    return await service.get_client(session, client_id=client_id)


@router.patch(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(MalformedBody, ClientNotFound, ClientConflict, InvalidBinding),
)
async def update_client(
    client_id: ClientIdPath,
    body: ClientUpdate,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
) -> ClientRead:
    """Rename a client or change its camera or agency bindings (CSO)."""
    return await service.update_client(
        session, actor=principal.subject, client_id=client_id, data=body
    )


@router.delete(
    "/clients/{client_id}",
    response_model=ClientRead,
    tags=["clients"],
    responses=responses(ClientNotFound, ClientConflict),
)
async def revoke_client(
    client_id: ClientIdPath, principal: ChiefSecurityOfficer, session: SessionDep
) -> ClientRead:
    """Revoke a client and its ingest keys (CSO); the record stays for the audit trail."""
    return await service.revoke_client(session, actor=principal.subject, client_id=client_id)


@router.post(
    "/clients/{client_id}/secrets",
    response_model=ClientSecret,
    status_code=201,
    tags=["clients"],
    responses=responses(ClientNotFound, ClientConflict),
)
async def rotate_client_secret(
    client_id: ClientIdPath,
    principal: ChiefSecurityOfficer,
    session: SessionDep,
    passwords: PasswordsDep,
) -> ClientSecret:
    """Replace a client's secret (CSO); the new one is shown once, the old one stops working."""
    return await service.rotate_client_secret(
        session, passwords=passwords, actor=principal.subject, client_id=client_id
    )


@router.post(
    "/ingest-keys",
    response_model=IngestKeyCreated,
    status_code=201,
    tags=["ingest keys"],
    responses=responses(MalformedBody, ClientNotFound, ClientConflict, InvalidBinding),
)
async def create_ingest_key(
    body: IngestKeyCreate, principal: ChiefSecurityOfficer, session: SessionDep
) -> IngestKeyCreated:
    """Issue a static ingest key for a camera client (CSO); the key is shown once."""
    return await service.create_ingest_key(session, actor=principal.subject, data=body)


@router.get("/ingest-keys", response_model=Page[IngestKeyRead], tags=["ingest keys"])
async def list_ingest_keys(
    _cso: ChiefSecurityOfficer,
    session: SessionDep,
    client_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    active: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[IngestKeyRead]:
    """Ingest keys (never the keys themselves), oldest first."""
    return await service.list_ingest_keys(
        session, client_id=client_id, active=active, limit=limit, offset=offset
    )


@router.delete(
    "/ingest-keys/{key_id}",
    response_model=IngestKeyRead,
    tags=["ingest keys"],
    responses=responses(IngestKeyNotFound, ClientConflict),
)
async def revoke_ingest_key(
    key_id: KeyId, principal: ChiefSecurityOfficer, session: SessionDep
) -> IngestKeyRead:
    """Revoke an ingest key (CSO)."""
    return await service.revoke_ingest_key(session, actor=principal.subject, key_id=key_id)


# ---------------------------------------------------------------------------- login record


@router.get("/login-attempts", response_model=Page[LoginAttemptRead], tags=["login attempts"])
async def list_login_attempts(
    _reader: LoginAuditReader,
    session: SessionDep,
    username: FilterText = None,
    user_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    outcome: Outcome | None = None,
    method: FilterText = None,
    source_address: FilterText = None,
    since: Annotated[Instant | None, Query(description="From (inclusive), with offset")] = None,
    until: Annotated[Instant | None, Query(description="To (exclusive), with offset")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[LoginAttemptRead]:
    """Every login attempt (344.4(d)), newest first, filtered."""
    filters = {
        "username": username.strip() if username else None,
        "user_id": user_id,
        "outcome": outcome.value if outcome else None,
        "method": method,
        "source_address": source_address,
        "since": since,
        "until": until,
    }
    return await service.list_login_attempts(session, filters=filters, limit=limit, offset=offset)


@router.get(
    "/login-digests/{date}",
    response_model=LoginDigest,
    tags=["login attempts"],
)
async def login_digest(
    date: dt.date, _cso: ChiefSecurityOfficer, session: SessionDep, settings: SettingsDep
) -> LoginDigest:
    """The CSO's daily login digest (344.2(b)) for one local day."""
    return await service.login_digest(session, settings=settings, day=date)
