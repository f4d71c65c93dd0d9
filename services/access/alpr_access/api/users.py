"""People: enrolment, your own profile and password, and the CSO's personnel routes."""

from __future__ import annotations

from fastapi import APIRouter, Response

from alpr_access import users
from alpr_access.api.params import UserId
from alpr_access.auth import ChiefSecurityOfficer, Person, PersonnelReader
from alpr_access.deps import PasswordsDep, SettingsDep, SourceAddressDep
from alpr_access.errors import (
    CredentialsRefused,
    InvalidCredentials,
    LastChiefSecurityOfficer,
    MalformedBody,
    NotAPerson,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from alpr_access.schemas import (
    Enrolled,
    EnrolmentCodeRead,
    EnrolmentRequest,
    PasswordChange,
    PersonRole,
    RoleGrantCreate,
    RoleGrantRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from alpr_common.db import SessionDep
from alpr_common.errors import responses
from alpr_common.pagination import Page, PageDep
from alpr_common.roles import Role

router = APIRouter(prefix="/v1")


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
    return await users.enrol(
        session,
        settings=settings,
        passwords=passwords,
        username=body.username,
        code=body.code,
        new_password=body.new_password,
        source_address=source_address,
    )


@router.get(
    "/users/me",
    response_model=UserRead,
    tags=["users"],
    responses=responses(NotAPerson, UserNotFound),
)
async def read_me(principal: Person, session: SessionDep) -> UserRead:
    """Your own profile, roles and training expiry."""
    return await users.get_me(session, principal=principal)


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
    await users.change_password(
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
    return await users.create_user(session, settings=settings, actor=principal.subject, data=body)


@router.get("/users", response_model=Page[UserRead], tags=["users"])
async def list_users(
    _reader: PersonnelReader,
    session: SessionDep,
    page: PageDep,
    active: bool | None = None,
    role: Role | None = None,
) -> Page[UserRead]:
    """People, by username, optionally only active ones or holders of a role."""
    return await users.list_users(session, active=active, role=role, page=page)


@router.get(
    "/users/{user_id}", response_model=UserRead, tags=["users"], responses=responses(UserNotFound)
)
async def read_user(user_id: UserId, _reader: PersonnelReader, session: SessionDep) -> UserRead:
    """One person, with roles and training expiry."""
    return await users.get_user(session, user_id=user_id)


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
    return await users.update_user(session, actor=principal.subject, user_id=user_id, data=body)


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
    return await users.grant_role(session, actor=principal.subject, user_id=user_id, role=body.role)


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
    await users.remove_role(session, actor=principal.subject, user_id=user_id, role=role)


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
    return await users.issue_enrolment_code(
        session, settings=settings, actor=principal.subject, user_id=user_id
    )
