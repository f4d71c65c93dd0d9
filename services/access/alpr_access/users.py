"""People: who may hold which role (344.2(b), 344.4(c)), their enrolment and passwords."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.attempts import (
    LoginOutcome,
    lock_if_too_many_failures,
    record_attempt,
    release_lapsed_lockouts,
)
from alpr_access.auditing import emit
from alpr_access.errors import (
    CredentialsRefused,
    InvalidCredentials,
    LastChiefSecurityOfficer,
    NotAPerson,
    RoleConflict,
    UsernameTaken,
    WeakPassword,
)
from alpr_access.models import EnrolmentCode, RoleGrant, User
from alpr_access.schemas import (
    Enrolled,
    EnrolmentCodeRead,
    RoleGrantRead,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from alpr_access.security import (
    Passwords,
    check_password_rules,
    match_totp,
    new_enrolment_code,
    new_id,
    new_totp_secret,
    normalize_enrolment_code,
    sha256_hex,
    totp_uri,
)
from alpr_access.settings import AccessSettings
from alpr_access.training import training_valid_until
from alpr_common.auth import Principal
from alpr_common.db import utcnow
from alpr_common.pagination import Page, PageParams
from alpr_common.roles import Role


async def _user_reads(session: AsyncSession, users: Sequence[User]) -> list[UserRead]:
    ids = [u.id for u in users]
    roles = await repo.roles_of(session, ids)
    trained = await repo.latest_training(session, ids)
    return [
        UserRead(
            id=u.id,
            username=u.username,
            full_name=u.full_name,
            badge=u.badge,
            unit=u.unit,
            active=u.active,
            roles=roles.get(u.id, []),
            enrolled=u.password_hash is not None,
            training_valid_until=training_valid_until(trained.get(u.id)),
            created_at=u.created_at,
            enrolled_at=u.enrolled_at,
            deactivated_at=u.deactivated_at,
        )
        for u in users
    ]


async def get_user(session: AsyncSession, *, user_id: str) -> UserRead:
    return (await _user_reads(session, [await repo.load_user(session, user_id)]))[0]


async def get_me(session: AsyncSession, *, principal: Principal) -> UserRead:
    return (await _user_reads(session, [await _own_user(session, principal)]))[0]


async def _own_user(
    session: AsyncSession, principal: Principal, *, for_update: bool = False
) -> User:
    if principal.kind != "person" or not principal.subject.startswith("user:"):
        raise NotAPerson("this route is for people; machine clients have no user record")
    return await repo.load_user(session, principal.user_id, for_update=for_update)


async def list_users(
    session: AsyncSession, *, active: bool | None, role: Role | None, page: PageParams
) -> Page[UserRead]:
    users, more, total = await repo.list_users(
        session, active=active, role=role.value if role else None, page=page
    )
    return page.answer(await _user_reads(session, users), more, total)


async def _new_enrolment_code(
    session: AsyncSession, *, settings: AccessSettings, user: User, actor: str, now: datetime
) -> EnrolmentCodeRead:
    await repo.cancel_open_codes(session, user.id, now=now)
    code = new_enrolment_code()
    row = await repo.add(
        session,
        EnrolmentCode(
            id=new_id(),
            user_id=user.id,
            code_hash=sha256_hex(normalize_enrolment_code(code)),
            created_at=now,
            created_by=actor,
            expires_at=now + timedelta(hours=settings.enrolment_code_ttl_hours),
        ),
    )
    await emit(
        session,
        "enrolment_code_issued",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        expires_at=row.expires_at.isoformat(),
    )
    return EnrolmentCodeRead(
        user_id=user.id, username=user.username, enrolment_code=code, expires_at=row.expires_at
    )


async def create_user(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    actor: str,
    data: UserCreate,
    now: datetime | None = None,
) -> UserCreated:
    """The CSO adds a person (344.4(c)) and gets a one-time enrolment code for them."""
    now = now or utcnow()
    if await repo.get_user_by_username(session, data.username) is not None:
        raise UsernameTaken(f"username {data.username!r} is already in use")
    user = await repo.add(
        session,
        User(
            id=new_id(),
            username=data.username,
            full_name=data.full_name,
            badge=data.badge,
            unit=data.unit,
            active=True,
            created_at=now,
            created_by=actor,
        ),
    )
    await emit(
        session,
        "user_created",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        badge=user.badge,
        unit=user.unit,
    )
    for role in dict.fromkeys(data.roles):
        await _grant(session, user=user, role=role, actor=actor, now=now)
    enrolment = await _new_enrolment_code(
        session, settings=settings, user=user, actor=actor, now=now
    )
    return UserCreated(user=(await _user_reads(session, [user]))[0], enrolment=enrolment)


async def issue_enrolment_code(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    actor: str,
    user_id: str,
    now: datetime | None = None,
) -> EnrolmentCodeRead:
    """A new one-time code (first enrolment, or a reset after a lost password or phone)."""
    now = now or utcnow()
    user = await repo.load_user(session, user_id, for_update=True)
    if user.enrolled_at is not None:
        # A reset: whoever holds the lost phone or password loses the sessions it opened.
        user.tokens_valid_after = now
    return await _new_enrolment_code(session, settings=settings, user=user, actor=actor, now=now)


async def enrol(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    passwords: Passwords,
    username: str,
    code: str,
    new_password: str,
    source_address: str | None,
    now: datetime | None = None,
) -> Enrolled:
    """Redeem a one-time enrolment code: set the password and receive a new TOTP seed."""
    now = now or utcnow()
    user = await repo.get_user_by_username(session, username, for_update=True)
    row = await repo.get_code_by_hash(session, sha256_hex(normalize_enrolment_code(code)))

    async def refuse(reason: str) -> InvalidCredentials:
        await record_attempt(
            session,
            now=now,
            username=username,
            kind="person",
            method="enrolment",
            outcome="failure",
            reason=reason,
            source_address=source_address,
            user_id=user.id if user else None,
            subject=f"user:{user.id}" if user else None,
        )
        return InvalidCredentials("invalid username or enrolment code, or the code has expired")

    if user is None:
        raise await refuse("unknown_user")
    if row is None or row.user_id != user.id:
        raise await refuse("bad_code")
    if row.used_at is not None or row.cancelled_at is not None or row.expires_at <= now:
        raise await refuse("code_spent")
    if not user.active:
        raise await refuse("inactive")
    check_password_rules(new_password, username=user.username, full_name=user.full_name)
    row.used_at = now
    first = user.enrolled_at is None
    secret = new_totp_secret()
    user.password_hash = await passwords.ahash(new_password)
    user.totp_secret = secret
    user.totp_last_step = None
    user.enrolled_at = user.enrolled_at or now
    user.password_changed_at = now
    # New credentials end every session the old ones opened.
    user.tokens_valid_after = now
    await record_attempt(
        session,
        now=now,
        username=user.username,
        kind="person",
        method="enrolment",
        outcome="success",
        reason="ok",
        source_address=source_address,
        user_id=user.id,
        subject=f"user:{user.id}",
    )
    await emit(
        session,
        "user_enrolled" if first else "user_reenrolled",
        actor=f"user:{user.id}",
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
    )
    return Enrolled(
        user_id=user.id,
        username=user.username,
        totp_secret=secret,
        otpauth_uri=totp_uri(secret, username=user.username, issuer=settings.totp_issuer),
    )


async def change_password(
    session: AsyncSession,
    *,
    passwords: Passwords,
    principal: Principal,
    current_password: str,
    totp: str,
    new_password: str,
    source_address: str | None,
    now: datetime | None = None,
) -> None:
    """A person changes their own password, proving it with the current one and a TOTP code."""
    now = now or utcnow()
    user = await _own_user(session, principal, for_update=True)
    check_password_rules(new_password, username=user.username, full_name=user.full_name)
    if new_password == current_password:
        raise WeakPassword("the new password must differ from the current one")

    async def refuse(
        outcome: LoginOutcome, reason: str, *, counted: bool = False
    ) -> CredentialsRefused:
        await record_attempt(
            session,
            now=now,
            username=user.username,
            kind="person",
            method="password_change",
            outcome=outcome,
            reason=reason,
            source_address=source_address,
            user_id=user.id,
            subject=principal.subject,
        )
        if counted:
            await lock_if_too_many_failures(session, user, now=now)
        return CredentialsRefused(
            "current password or one-time code refused, or the account is locked"
        )

    await release_lapsed_lockouts(session, user, now=now)
    if await repo.active_lockout(session, user.id, now=now) is not None:
        raise await refuse("locked", "account_locked")
    if not user.active:
        raise await refuse("failure", "inactive")
    if user.password_hash is None or user.totp_secret is None:
        raise await refuse("failure", "not_enrolled")
    if not await passwords.averify(user.password_hash, current_password):
        raise await refuse("failure", "bad_password", counted=True)
    step = match_totp(user.totp_secret, totp, now=now, last_step=user.totp_last_step)
    if step is None:
        raise await refuse("failure", "bad_totp", counted=True)
    user.totp_last_step = step
    user.password_hash = await passwords.ahash(new_password)
    user.password_changed_at = now
    # A password change ends every session, the one in hand included (by its id as well, as
    # `iat` has whole seconds).
    user.tokens_valid_after = now
    if principal.token_id:
        await repo.revoke_token(
            session,
            jti=principal.token_id,
            subject=principal.subject,
            expires_at=principal.expires_at or now,
            now=now,
        )
    await record_attempt(
        session,
        now=now,
        username=user.username,
        kind="person",
        method="password_change",
        outcome="success",
        reason="ok",
        source_address=source_address,
        user_id=user.id,
        subject=principal.subject,
    )
    await emit(
        session,
        "password_changed",
        actor=principal.subject,
        now=now,
        subject=principal.subject,
        user_id=user.id,
    )


async def _ensure_another_cso(session: AsyncSession, user: User) -> None:
    holds = await repo.get_grant(session, user.id, Role.CHIEF_SECURITY_OFFICER) is not None
    if holds and user.active:
        if await repo.count_active_holders(session, Role.CHIEF_SECURITY_OFFICER) <= 1:
            raise LastChiefSecurityOfficer(
                "this is the last active Chief Security Officer; grant the role to someone "
                "else first (344.2(b))"
            )


async def update_user(
    session: AsyncSession,
    *,
    actor: str,
    user_id: str,
    data: UserUpdate,
    now: datetime | None = None,
) -> UserRead:
    """Edit a person's details; `active: false` deactivates them, `true` reactivates."""
    now = now or utcnow()
    user = await repo.load_user(session, user_id, for_update=True)
    changes: dict[str, str] = {}
    for name in ("full_name", "badge", "unit"):
        value = getattr(data, name)
        if value is not None and value != getattr(user, name):
            setattr(user, name, value)
            changes[name] = value
    if changes:
        await emit(
            session,
            "user_updated",
            actor=actor,
            now=now,
            subject=f"user:{user.id}",
            user_id=user.id,
            changes=changes,
        )
    if data.active is not None and data.active != user.active:
        if not data.active:
            await _ensure_another_cso(session, user)
            user.active = False
            user.deactivated_at = now
            user.tokens_valid_after = now
        else:
            user.active = True
            user.deactivated_at = None
        await emit(
            session,
            "user_activated" if data.active else "user_deactivated",
            actor=actor,
            now=now,
            subject=f"user:{user.id}",
            user_id=user.id,
            username=user.username,
        )
    await session.flush()
    return (await _user_reads(session, [user]))[0]


async def _grant(
    session: AsyncSession, *, user: User, role: Role, actor: str, now: datetime
) -> RoleGrant:
    grant = await repo.add(
        session, RoleGrant(user_id=user.id, role=role.value, granted_at=now, granted_by=actor)
    )
    await emit(
        session,
        "role_granted",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        username=user.username,
        role=role.value,
    )
    return grant


async def grant_role(
    session: AsyncSession, *, actor: str, user_id: str, role: Role, now: datetime | None = None
) -> RoleGrantRead:
    """344.2(b), 344.4(c): the Chief Security Officer grants a role."""
    now = now or utcnow()
    user = await repo.load_user(session, user_id, for_update=True)
    if await repo.get_grant(session, user.id, role.value) is not None:
        raise RoleConflict(f"{user.username} already holds {role.value}")
    grant = await _grant(session, user=user, role=role, actor=actor, now=now)
    # A role change ends the person's sessions: the next token carries the roles as they are.
    user.tokens_valid_after = now
    return RoleGrantRead(
        user_id=grant.user_id,
        role=grant.role,
        granted_at=grant.granted_at,
        granted_by=grant.granted_by,
    )


async def remove_role(
    session: AsyncSession, *, actor: str, user_id: str, role: Role, now: datetime | None = None
) -> None:
    """344.2(b), 344.4(c): the Chief Security Officer removes a role."""
    now = now or utcnow()
    user = await repo.load_user(session, user_id, for_update=True)
    if await repo.get_grant(session, user.id, role.value) is None:
        raise RoleConflict(f"{user.username} does not hold {role.value}")
    if role == Role.CHIEF_SECURITY_OFFICER:
        await _ensure_another_cso(session, user)
    await repo.delete_grant(session, user.id, role.value)
    user.tokens_valid_after = now
    await emit(
        session,
        "role_removed",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        username=user.username,
        role=role.value,
    )


async def create_first_cso(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    passwords: Passwords,
    username: str,
    full_name: str,
    badge: str,
    unit: str,
    password: str,
    allow_additional: bool = False,
    now: datetime | None = None,
) -> Enrolled:
    """The admin bootstrap: a Chief Security Officer with a password and a TOTP seed."""
    now = now or utcnow()
    actor = "cli:create-cso"
    data = UserCreate(username=username, full_name=full_name, badge=badge, unit=unit)
    if not allow_additional and await repo.count_active_holders(
        session, Role.CHIEF_SECURITY_OFFICER
    ):
        raise RoleConflict(
            "an active Chief Security Officer exists; they create further users "
            "(use --allow-additional only to recover a lost CSO account)"
        )
    check_password_rules(password, username=data.username, full_name=data.full_name)
    created = await create_user(session, settings=settings, actor=actor, data=data, now=now)
    user = await repo.load_user(session, created.user.id, for_update=True)
    await _grant(session, user=user, role=Role.CHIEF_SECURITY_OFFICER, actor=actor, now=now)
    await repo.cancel_open_codes(session, user.id, now=now)
    secret = new_totp_secret()
    user.password_hash = await passwords.ahash(password)
    user.totp_secret = secret
    user.enrolled_at = now
    user.password_changed_at = now
    await emit(
        session,
        "user_enrolled",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
    )
    await session.flush()
    return Enrolled(
        user_id=user.id,
        username=user.username,
        totp_secret=secret,
        otpauth_uri=totp_uri(secret, username=user.username, issuer=settings.totp_issuer),
    )
