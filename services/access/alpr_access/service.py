"""The rules of access: who may hold which role (344.2(b), 344.4(c)), who is trained (344.7), how
people and machines prove who they are, and the record of every attempt (344.4(d))."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
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
    NotAPerson,
    PrincipalNotFound,
    RoleConflict,
    SelfRecordingRefused,
    UsernameTaken,
    UserNotFound,
    WeakPassword,
)
from alpr_access.models import (
    OUTBOX,
    Client,
    EnrolmentCode,
    IngestKey,
    Lockout,
    LoginAttempt,
    RoleGrant,
    TrainingRecord,
    User,
)
from alpr_access.schemas import (
    ClientCreate,
    ClientRead,
    ClientSecret,
    ClientUpdate,
    DigestEntry,
    DigestTotals,
    Enrolled,
    EnrolmentCodeRead,
    IngestKeyCreate,
    IngestKeyCreated,
    IngestKeyRead,
    LockoutRead,
    LoginAttemptRead,
    LoginDigest,
    OffHoursLogin,
    Page,
    PrincipalStatus,
    RoleGrantRead,
    TokenResponse,
    TrainingRecordCreate,
    TrainingRecordRead,
    TrainingTopic,
    UserCreate,
    UserCreated,
    UserRead,
    UserUpdate,
)
from alpr_access.security import (
    KeyStore,
    Passwords,
    check_password_rules,
    match_totp,
    new_client_secret,
    new_enrolment_code,
    new_id,
    new_ingest_key,
    new_totp_secret,
    normalize_enrolment_code,
    sha256_hex,
    totp_uri,
)
from alpr_access.settings import AccessSettings
from alpr_common.auth import Principal, principal_claims
from alpr_common.db import utcnow
from alpr_common.errors import Unprocessable
from alpr_common.events import Event
from alpr_common.outbox import enqueue, insert_ignore
from alpr_common.roles import Role

log = logging.getLogger("alpr.access")

# 344.7: the annual training is valid for a year from its completion.
TRAINING_VALIDITY = timedelta(days=365)
# DESIGN.md section 4: lockout after 5 failures within 15 minutes, for 15 minutes.
LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
# Failures that count towards a lockout: a wrong secret, not an unknown or inactive account.
COUNTED_FAILURES = ("bad_password", "bad_totp")
# Training completion may sit a little ahead of the server clock, never further.
CLOCK_SKEW = timedelta(minutes=5)

SYSTEM_ACTOR = "system"
MIN_DIGEST_YEAR = 2000
MAX_DIGEST_YEAR = 2999


def training_valid_until(completed_at: datetime | None) -> datetime | None:
    return completed_at + TRAINING_VALIDITY if completed_at is not None else None


async def _emit(
    session: AsyncSession,
    what: str,
    *,
    actor: str,
    now: datetime,
    subject: str | None = None,
    **data: Any,
) -> None:
    """Send a change to audit (344.4(d)) in the transaction that makes it."""
    await enqueue(
        session,
        OUTBOX,
        destination="audit",
        event=Event(
            source="access",
            type=f"access.{what}",
            time=now,
            subject=subject,
            data={"actor": actor, **data},
        ),
    )


# ---------------------------------------------------------------------------- login attempts


async def record_attempt(
    session: AsyncSession,
    *,
    now: datetime,
    username: str,
    kind: str,
    method: str,
    outcome: str,
    reason: str,
    source_address: str | None,
    user_id: str | None = None,
    subject: str | None = None,
) -> LoginAttempt:
    """Record one login attempt and queue it for audit (344.4(d): every login is logged)."""
    attempt = await repo.add(
        session,
        LoginAttempt(
            id=new_id(),
            at=now,
            username=username[:256],
            user_id=user_id,
            subject=subject,
            kind=kind,
            method=method,
            outcome=outcome,
            reason=reason,
            source_address=source_address,
        ),
    )
    await enqueue(
        session,
        OUTBOX,
        destination="audit",
        event=Event(
            source="access",
            type="access.login_attempt",
            time=now,
            subject=subject,
            data={
                "username": attempt.username,
                "subject": subject,
                "outcome": outcome,
                "reason": reason,
                "source_address": source_address,
            },
        ),
    )
    if outcome != "success":
        log.info(
            "login refused",
            extra={
                "attempt_id": attempt.id,
                "method": method,
                "outcome": outcome,
                "reason": reason,
            },
        )
    return attempt


async def _release_lapsed_lockouts(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Write down that lockouts whose time ran out were released by time."""
    for lock in await repo.lapsed_unreleased_lockouts(session, user.id, now=now):
        lock.released_at = lock.locked_until
        lock.released_how = "time"
        await _emit(
            session,
            "lockout_released",
            actor=SYSTEM_ACTOR,
            now=now,
            subject=f"user:{user.id}",
            user_id=user.id,
            lockout_id=lock.id,
            how="time",
        )


async def _lock_if_too_many_failures(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Lock the account after LOCKOUT_THRESHOLD failures within LOCKOUT_WINDOW. The window
    restarts after a success and after the previous lockout ended."""
    since = now - LOCKOUT_WINDOW
    latest = await repo.latest_lockout(session, user.id)
    if latest is not None:
        since = max(since, latest.released_at or latest.locked_until)
    last_ok = await repo.last_success_at(session, user.id)
    if last_ok is not None:
        since = max(since, last_ok)
    failures = await repo.count_failures(session, user.id, since=since, reasons=COUNTED_FAILURES)
    if failures < LOCKOUT_THRESHOLD:
        return
    lock = await repo.add(
        session,
        Lockout(
            id=new_id(),
            user_id=user.id,
            locked_at=now,
            locked_until=now + LOCKOUT_DURATION,
            failures=failures,
        ),
    )
    await _emit(
        session,
        "lockout_started",
        actor=SYSTEM_ACTOR,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        username=user.username,
        lockout_id=lock.id,
        failures=failures,
        locked_until=lock.locked_until.isoformat(),
    )


def _issue(
    keys: KeyStore,
    settings: AccessSettings,
    claims: dict[str, Any],
    *,
    expires_at: datetime,
    now: datetime,
) -> TokenResponse:
    token = keys.signing_ring(now).sign(
        claims,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        expires_at=expires_at,
        now=now,
    )
    expires_in = max(0, int(expires_at.timestamp()) - int(now.timestamp()))
    return TokenResponse(access_token=token, expires_in=expires_in)


async def _person_token(
    session: AsyncSession, *, settings: AccessSettings, keys: KeyStore, user: User, now: datetime
) -> TokenResponse:
    roles = (await repo.roles_of(session, [user.id]))[user.id]
    valid_until = training_valid_until(
        (await repo.latest_training(session, [user.id])).get(user.id)
    )
    expires_at = now + timedelta(seconds=settings.person_token_ttl_seconds)
    trained = valid_until is not None and valid_until > now
    if trained:
        # 344.7(b): a token never outlives its holder's training.
        expires_at = min(expires_at, valid_until)
    # Untrained people still get a token, without `trn`: the gateway lets them reach only this
    # service (personnel administration, their own password), never ALPR data (344.7(b)).
    claims = principal_claims(
        subject=f"user:{user.id}",
        kind="person",
        name=user.username,
        roles=roles,
        training_valid_until=valid_until if trained else None,
    )
    return _issue(keys, settings, claims, expires_at=expires_at, now=now)


async def login_person(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    passwords: Passwords,
    keys: KeyStore,
    username: str,
    password: str,
    totp: str | None,
    source_address: str | None,
    now: datetime | None = None,
) -> TokenResponse:
    """Password + TOTP grant. Every outcome is recorded; every refusal reads the same."""
    now = now or utcnow()
    name = username.strip().lower()
    user = await repo.get_user_by_username(session, name, for_update=True)

    async def refuse(outcome: str, reason: str, *, counted: bool = False) -> InvalidCredentials:
        await record_attempt(
            session,
            now=now,
            username=name,
            kind="person",
            method="password",
            outcome=outcome,
            reason=reason,
            source_address=source_address,
            user_id=user.id if user else None,
            subject=f"user:{user.id}" if user else None,
        )
        if counted and user is not None:
            await _lock_if_too_many_failures(session, user, now=now)
        return InvalidCredentials()

    if user is None:
        # Spend the same argon2 work as for a real account: timing must not reveal names.
        await passwords.averify(None, password)
        raise await refuse("failure", "unknown_user")
    await _release_lapsed_lockouts(session, user, now=now)
    if await repo.active_lockout(session, user.id, now=now) is not None:
        await passwords.averify(None, password)
        raise await refuse("locked", "account_locked")
    if not user.active:
        await passwords.averify(None, password)
        raise await refuse("failure", "inactive")
    if user.password_hash is None or user.totp_secret is None:
        await passwords.averify(None, password)
        raise await refuse("failure", "not_enrolled")
    if not await passwords.averify(user.password_hash, password):
        raise await refuse("failure", "bad_password", counted=True)
    step = match_totp(user.totp_secret, totp or "", now=now, last_step=user.totp_last_step)
    if step is None:
        raise await refuse("failure", "bad_totp", counted=True)
    user.totp_last_step = step
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = await passwords.ahash(password)
    await record_attempt(
        session,
        now=now,
        username=name,
        kind="person",
        method="password",
        outcome="success",
        reason="ok",
        source_address=source_address,
        user_id=user.id,
        subject=f"user:{user.id}",
    )
    return await _person_token(session, settings=settings, keys=keys, user=user, now=now)


def _client_claims(client: Client) -> dict[str, Any]:
    return principal_claims(
        subject=f"client:{client.id}",
        kind="machine",
        name=client.name,
        roles=[client.kind],
        cameras=list(client.cameras) if client.kind == Role.CAMERA else (),
        agency_id=client.agency_id if client.kind == Role.AGENCY else None,
    )


async def login_client(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    passwords: Passwords,
    keys: KeyStore,
    client_id: str,
    client_secret: str,
    source_address: str | None,
    now: datetime | None = None,
) -> TokenResponse:
    """Client-credentials grant for cameras, agencies and the services themselves."""
    now = now or utcnow()
    client = await repo.get_client(session, client_id)

    async def refuse(reason: str) -> InvalidCredentials:
        await record_attempt(
            session,
            now=now,
            username=client_id,
            kind="machine",
            method="client_credentials",
            outcome="failure",
            reason=reason,
            source_address=source_address,
            subject=f"client:{client.id}" if client else None,
        )
        return InvalidCredentials("invalid client credentials")

    if client is None:
        await passwords.averify(None, client_secret)
        raise await refuse("unknown_client")
    if not client.active:
        await passwords.averify(None, client_secret)
        raise await refuse("client_revoked")
    if not await passwords.averify(client.secret_hash, client_secret):
        raise await refuse("bad_secret")
    await record_attempt(
        session,
        now=now,
        username=client.id,
        kind="machine",
        method="client_credentials",
        outcome="success",
        reason="ok",
        source_address=source_address,
        subject=f"client:{client.id}",
    )
    expires_at = now + timedelta(seconds=settings.machine_token_ttl_seconds)
    return _issue(keys, settings, _client_claims(client), expires_at=expires_at, now=now)


async def exchange_ingest_key(
    session: AsyncSession,
    *,
    settings: AccessSettings,
    keys: KeyStore,
    key: str,
    source_address: str | None,
    now: datetime | None = None,
) -> TokenResponse:
    """Turn a camera's static ingest key into a short camera token for the gateway."""
    now = now or utcnow()
    ingest_key = await repo.get_ingest_key_by_hash(session, sha256_hex(key))
    client = await repo.get_client(session, ingest_key.client_id) if ingest_key else None

    async def refuse(reason: str) -> InvalidCredentials:
        await record_attempt(
            session,
            now=now,
            username=client.id if client else key[:12],
            kind="machine",
            method="ingest_key",
            outcome="failure",
            reason=reason,
            source_address=source_address,
            subject=f"client:{client.id}" if client else None,
        )
        return InvalidCredentials("invalid ingest key")

    if ingest_key is None or client is None:
        raise await refuse("unknown_key")
    if ingest_key.revoked_at is not None:
        raise await refuse("key_revoked")
    if not client.active or client.kind != Role.CAMERA:
        raise await refuse("client_revoked")
    cameras = [c for c in ingest_key.cameras if c in set(client.cameras)]
    if not cameras:
        raise await refuse("no_cameras")
    await record_attempt(
        session,
        now=now,
        username=client.id,
        kind="machine",
        method="ingest_key",
        outcome="success",
        reason="ok",
        source_address=source_address,
        subject=f"client:{client.id}",
    )
    claims = principal_claims(
        subject=f"client:{client.id}",
        kind="machine",
        name=client.name,
        roles=[Role.CAMERA.value],
        cameras=cameras,
    )
    expires_at = now + timedelta(seconds=settings.camera_token_ttl_seconds)
    return _issue(keys, settings, claims, expires_at=expires_at, now=now)


# ---------------------------------------------------------------------------- users


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


async def _load_user(session: AsyncSession, user_id: str, *, for_update: bool = False) -> User:
    user = await repo.get_user(session, user_id, for_update=for_update)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


async def get_user(session: AsyncSession, *, user_id: str) -> UserRead:
    return (await _user_reads(session, [await _load_user(session, user_id)]))[0]


async def get_me(session: AsyncSession, *, principal: Principal) -> UserRead:
    return (await _user_reads(session, [await _own_user(session, principal)]))[0]


async def _own_user(
    session: AsyncSession, principal: Principal, *, for_update: bool = False
) -> User:
    if principal.kind != "person" or not principal.subject.startswith("user:"):
        raise NotAPerson("this route is for people; machine clients have no user record")
    return await _load_user(session, principal.user_id, for_update=for_update)


async def list_users(
    session: AsyncSession, *, active: bool | None, role: Role | None, limit: int, offset: int
) -> Page[UserRead]:
    users, total = await repo.list_users(
        session, active=active, role=role.value if role else None, limit=limit, offset=offset
    )
    return Page(items=await _user_reads(session, users), total=total, limit=limit, offset=offset)


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
    await _emit(
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
    await _emit(
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
    user = await _load_user(session, user_id, for_update=True)
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
    await _emit(
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

    async def refuse(outcome: str, reason: str, *, counted: bool = False) -> CredentialsRefused:
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
            await _lock_if_too_many_failures(session, user, now=now)
        return CredentialsRefused(
            "current password or one-time code refused, or the account is locked"
        )

    await _release_lapsed_lockouts(session, user, now=now)
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
    await _emit(
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
    user = await _load_user(session, user_id, for_update=True)
    changes: dict[str, str] = {}
    for name in ("full_name", "badge", "unit"):
        value = getattr(data, name)
        if value is not None and value != getattr(user, name):
            setattr(user, name, value)
            changes[name] = value
    if changes:
        await _emit(
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
        else:
            user.active = True
            user.deactivated_at = None
        await _emit(
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
    await _emit(
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
    user = await _load_user(session, user_id, for_update=True)
    if await repo.get_grant(session, user.id, role.value) is not None:
        raise RoleConflict(f"{user.username} already holds {role.value}")
    grant = await _grant(session, user=user, role=role, actor=actor, now=now)
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
    user = await _load_user(session, user_id, for_update=True)
    if await repo.get_grant(session, user.id, role.value) is None:
        raise RoleConflict(f"{user.username} does not hold {role.value}")
    if role == Role.CHIEF_SECURITY_OFFICER:
        await _ensure_another_cso(session, user)
    await repo.delete_grant(session, user.id, role.value)
    await _emit(
        session,
        "role_removed",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        username=user.username,
        role=role.value,
    )


# ---------------------------------------------------------------------------- training


def _training_read(record: TrainingRecord) -> TrainingRecordRead:
    return TrainingRecordRead(
        id=record.id,
        user_id=record.user_id,
        course=record.course,
        version=record.version,
        topics=list(record.topics),
        completed_at=record.completed_at,
        valid_until=record.completed_at + TRAINING_VALIDITY,
        recorded_by=record.recorded_by,
        recorded_at=record.recorded_at,
    )


async def record_training(
    session: AsyncSession,
    *,
    actor: Principal,
    data: TrainingRecordCreate,
    now: datetime | None = None,
) -> TrainingRecordRead:
    """344.7(a): a training coordinator records a completed course covering all four topics."""
    now = now or utcnow()
    missing = [t.value for t in TrainingTopic if t not in set(data.topics)]
    if missing:
        raise IncompleteTraining(
            f"the course must cover all four topics of 344.7(a); missing: {', '.join(missing)}",
            extra={"clause": "344.7(a)", "missing_topics": missing},
        )
    if data.completed_at > now + CLOCK_SKEW:
        raise IncompleteTraining("completed_at is in the future; record training once completed")
    user = await _load_user(session, data.user_id)
    if actor.subject == f"user:{user.id}":
        raise SelfRecordingRefused(
            "you cannot record your own training; another training coordinator must"
        )
    record = await repo.add(
        session,
        TrainingRecord(
            id=new_id(),
            user_id=user.id,
            course=data.course,
            version=data.version,
            topics=sorted({t.value for t in data.topics}),
            completed_at=data.completed_at,
            recorded_by=actor.subject,
            recorded_at=now,
        ),
    )
    read = _training_read(record)
    await _emit(
        session,
        "training_recorded",
        actor=actor.subject,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        training_id=record.id,
        course=record.course,
        version=record.version,
        topics=read.topics,
        completed_at=record.completed_at.isoformat(),
        valid_until=read.valid_until.isoformat(),
    )
    return read


async def list_training(
    session: AsyncSession, *, user_id: str | None, limit: int, offset: int
) -> Page[TrainingRecordRead]:
    records, total = await repo.list_training(session, user_id=user_id, limit=limit, offset=offset)
    return Page(items=[_training_read(r) for r in records], total=total, limit=limit, offset=offset)


# ---------------------------------------------------------------------------- lockouts


def _lockout_read(lock: Lockout, username: str, now: datetime) -> LockoutRead:
    lapsed = lock.released_at is None and lock.locked_until <= now
    return LockoutRead(
        id=lock.id,
        user_id=lock.user_id,
        username=username,
        locked_at=lock.locked_at,
        locked_until=lock.locked_until,
        failures=lock.failures,
        active=lock.released_at is None and lock.locked_until > now,
        released_at=lock.locked_until if lapsed else lock.released_at,
        released_how="time" if lapsed else lock.released_how,
        released_by=lock.released_by,
        release_reason=lock.release_reason,
    )


async def list_lockouts(
    session: AsyncSession,
    *,
    user_id: str | None,
    active: bool | None,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> Page[LockoutRead]:
    now = now or utcnow()
    rows, total = await repo.list_lockouts(
        session, user_id=user_id, active=active, now=now, limit=limit, offset=offset
    )
    return Page(
        items=[_lockout_read(lock, name, now) for lock, name in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


async def release_lockout(
    session: AsyncSession, *, actor: str, user_id: str, reason: str, now: datetime | None = None
) -> LockoutRead:
    """The CSO ends a lockout early; the release records who and why."""
    now = now or utcnow()
    user = await _load_user(session, user_id, for_update=True)
    lock = await repo.active_lockout(session, user.id, now=now)
    if lock is None:
        raise LockoutNotFound(f"{user.username} is not locked out")
    lock.released_at = now
    lock.released_how = "cso"
    lock.released_by = actor
    lock.release_reason = reason
    await _emit(
        session,
        "lockout_released",
        actor=actor,
        now=now,
        subject=f"user:{user.id}",
        user_id=user.id,
        lockout_id=lock.id,
        how="cso",
        reason=reason,
    )
    await session.flush()
    return _lockout_read(lock, user.username, now)


# ---------------------------------------------------------------------------- clients


def _client_read(client: Client) -> ClientRead:
    return ClientRead(
        id=client.id,
        name=client.name,
        kind=client.kind,
        cameras=list(client.cameras),
        agency_id=client.agency_id,
        active=client.active,
        created_at=client.created_at,
        created_by=client.created_by,
        revoked_at=client.revoked_at,
    )


def _check_bindings(kind: str, cameras: list[str], agency_id: str | None) -> None:
    if kind == Role.CAMERA and (not cameras or agency_id is not None):
        raise InvalidBinding("a camera client is bound to one or more cameras and no agency")
    if kind == Role.AGENCY and (agency_id is None or cameras):
        raise InvalidBinding("an agency client is bound to one agency_id and no cameras")
    if kind == Role.SERVICE and (cameras or agency_id is not None):
        raise InvalidBinding("a service client has no camera or agency bindings")


async def _load_client(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> Client:
    client = await repo.get_client(session, client_id, for_update=for_update)
    if client is None:
        raise ClientNotFound(f"no client {client_id}")
    return client


async def create_client(
    session: AsyncSession,
    *,
    passwords: Passwords,
    actor: str,
    data: ClientCreate,
    now: datetime | None = None,
) -> ClientSecret:
    """A camera vendor's or another agency's system; its secret is shown once."""
    now = now or utcnow()
    cameras = list(dict.fromkeys(data.cameras))
    _check_bindings(data.kind, cameras, data.agency_id)
    secret = new_client_secret()
    client = await repo.add(
        session,
        Client(
            id=f"{data.kind}-{secrets.token_hex(6)}",
            name=data.name,
            kind=data.kind,
            secret_hash=await passwords.ahash(secret),
            cameras=cameras,
            agency_id=data.agency_id,
            active=True,
            created_at=now,
            created_by=actor,
        ),
    )
    await _emit(
        session,
        "client_created",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        name=client.name,
        kind=client.kind,
        cameras=cameras,
        agency_id=client.agency_id,
    )
    return ClientSecret(client=_client_read(client), client_secret=secret)


async def get_client(session: AsyncSession, *, client_id: str) -> ClientRead:
    return _client_read(await _load_client(session, client_id))


async def list_clients(
    session: AsyncSession, *, kind: str | None, active: bool | None, limit: int, offset: int
) -> Page[ClientRead]:
    clients, total = await repo.list_clients(
        session, kind=kind, active=active, limit=limit, offset=offset
    )
    return Page(items=[_client_read(c) for c in clients], total=total, limit=limit, offset=offset)


async def update_client(
    session: AsyncSession,
    *,
    actor: str,
    client_id: str,
    data: ClientUpdate,
    now: datetime | None = None,
) -> ClientRead:
    """Rename a client or change its camera or agency bindings."""
    now = now or utcnow()
    client = await _load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    cameras = list(dict.fromkeys(data.cameras)) if data.cameras is not None else client.cameras
    agency_id = data.agency_id if data.agency_id is not None else client.agency_id
    _check_bindings(client.kind, list(cameras), agency_id)
    changes: dict[str, Any] = {}
    if data.name is not None and data.name != client.name:
        client.name = changes["name"] = data.name
    if list(cameras) != list(client.cameras):
        client.cameras = changes["cameras"] = list(cameras)
    if agency_id != client.agency_id:
        client.agency_id = changes["agency_id"] = agency_id
    if changes:
        await _emit(
            session,
            "client_updated",
            actor=actor,
            now=now,
            subject=f"client:{client.id}",
            client_id=client.id,
            changes=changes,
        )
    await session.flush()
    return _client_read(client)


async def revoke_client(
    session: AsyncSession, *, actor: str, client_id: str, now: datetime | None = None
) -> ClientRead:
    """Revoke a client and all its ingest keys; its tokens stop at the gateway within seconds."""
    now = now or utcnow()
    client = await _load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is already revoked")
    client.active = False
    client.revoked_at = now
    client.revoked_by = actor
    keys = await repo.revoke_client_keys(session, client.id, now=now, by=actor)
    await _emit(
        session,
        "client_revoked",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        ingest_keys_revoked=keys,
    )
    await session.flush()
    return _client_read(client)


async def rotate_client_secret(
    session: AsyncSession,
    *,
    passwords: Passwords,
    actor: str,
    client_id: str,
    now: datetime | None = None,
) -> ClientSecret:
    """A new secret for a client (the old one stops working at once); shown once."""
    now = now or utcnow()
    client = await _load_client(session, client_id, for_update=True)
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    secret = new_client_secret()
    client.secret_hash = await passwords.ahash(secret)
    await _emit(
        session,
        "client_secret_rotated",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
    )
    await session.flush()
    return ClientSecret(client=_client_read(client), client_secret=secret)


async def seed_service_clients(
    session: AsyncSession,
    *,
    passwords: Passwords,
    clients: dict[str, str],
    now: datetime | None = None,
) -> list[str]:
    """Upsert the internal services' clients from settings; returns the ids created or changed.
    A service client the CSO revoked stays revoked."""
    now = now or utcnow()
    changed: list[str] = []
    for client_id, secret in clients.items():
        inserted = await session.execute(
            insert_ignore(session, Client.__table__)
            .values(
                id=client_id,
                name=client_id,
                kind=Role.SERVICE.value,
                secret_hash=await passwords.ahash(secret),
                cameras=[],
                agency_id=None,
                active=True,
                created_at=now,
                created_by=SYSTEM_ACTOR,
            )
            .on_conflict_do_nothing()
        )
        if inserted.rowcount:
            changed.append(client_id)
            await _emit(
                session,
                "client_created",
                actor=SYSTEM_ACTOR,
                now=now,
                subject=f"client:{client_id}",
                client_id=client_id,
                name=client_id,
                kind=Role.SERVICE.value,
                cameras=[],
                agency_id=None,
            )
            continue
        client = await _load_client(session, client_id, for_update=True)
        if client.kind != Role.SERVICE:
            log.warning("service client id %s is taken by a %s client", client_id, client.kind)
            continue
        if not await passwords.averify(client.secret_hash, secret):
            client.secret_hash = await passwords.ahash(secret)
            changed.append(client_id)
            await _emit(
                session,
                "client_secret_rotated",
                actor=SYSTEM_ACTOR,
                now=now,
                subject=f"client:{client_id}",
                client_id=client_id,
            )
    await session.flush()
    return changed


# ---------------------------------------------------------------------------- ingest keys


def _key_read(key: IngestKey) -> IngestKeyRead:
    return IngestKeyRead(
        id=key.id,
        client_id=key.client_id,
        label=key.label,
        prefix=key.prefix,
        cameras=list(key.cameras),
        created_at=key.created_at,
        created_by=key.created_by,
        revoked_at=key.revoked_at,
        revoked_by=key.revoked_by,
    )


async def create_ingest_key(
    session: AsyncSession, *, actor: str, data: IngestKeyCreate, now: datetime | None = None
) -> IngestKeyCreated:
    """A static key for a camera that cannot fetch tokens; the key is shown once."""
    now = now or utcnow()
    client = await _load_client(session, data.client_id, for_update=True)
    if client.kind != Role.CAMERA:
        raise InvalidBinding("ingest keys belong to camera clients only")
    if not client.active:
        raise ClientConflict(f"client {client.id} is revoked")
    cameras = list(dict.fromkeys(data.cameras)) if data.cameras is not None else client.cameras
    unknown = [c for c in cameras if c not in set(client.cameras)]
    if unknown or not cameras:
        raise InvalidBinding(
            "an ingest key is bound to some of its client's cameras; not the client's: "
            + (", ".join(unknown) or "(none given)")
        )
    key = new_ingest_key()
    row = await repo.add(
        session,
        IngestKey(
            id=new_id(),
            client_id=client.id,
            label=data.label,
            key_hash=sha256_hex(key),
            prefix=key[:12],
            cameras=list(cameras),
            created_at=now,
            created_by=actor,
        ),
    )
    await _emit(
        session,
        "ingest_key_created",
        actor=actor,
        now=now,
        subject=f"client:{client.id}",
        client_id=client.id,
        key_id=row.id,
        prefix=row.prefix,
        cameras=list(cameras),
        label=row.label,
    )
    return IngestKeyCreated(ingest_key=_key_read(row), key=key)


async def list_ingest_keys(
    session: AsyncSession, *, client_id: str | None, active: bool | None, limit: int, offset: int
) -> Page[IngestKeyRead]:
    keys, total = await repo.list_ingest_keys(
        session, client_id=client_id, active=active, limit=limit, offset=offset
    )
    return Page(items=[_key_read(k) for k in keys], total=total, limit=limit, offset=offset)


async def revoke_ingest_key(
    session: AsyncSession, *, actor: str, key_id: str, now: datetime | None = None
) -> IngestKeyRead:
    """Revoke an ingest key; the gateway's cached camera token lapses within minutes."""
    now = now or utcnow()
    key = await repo.get_ingest_key(session, key_id)
    if key is None:
        raise IngestKeyNotFound(f"no ingest key {key_id}")
    if key.revoked_at is not None:
        raise ClientConflict(f"ingest key {key.id} is already revoked")
    key.revoked_at = now
    key.revoked_by = actor
    await _emit(
        session,
        "ingest_key_revoked",
        actor=actor,
        now=now,
        subject=f"client:{key.client_id}",
        client_id=key.client_id,
        key_id=key.id,
        prefix=key.prefix,
    )
    await session.flush()
    return _key_read(key)


# ---------------------------------------------------------------------------- principals


async def principal_status(session: AsyncSession, *, subject: str) -> PrincipalStatus:
    """What the gateway re-checks every few seconds: active, roles, training (344.7(b))."""
    kind, _, ident = subject.partition(":")
    if kind == "user":
        user = await repo.get_user(session, ident)
        if user is not None:
            roles = (await repo.roles_of(session, [user.id]))[user.id]
            completed = (await repo.latest_training(session, [user.id])).get(user.id)
            return PrincipalStatus(
                subject=subject,
                kind="person",
                active=user.active,
                roles=roles,
                training_valid_until=training_valid_until(completed),
            )
    elif kind == "client":
        client = await repo.get_client(session, ident)
        if client is not None:
            return PrincipalStatus(
                subject=subject,
                kind="machine",
                active=client.active,
                roles=[client.kind],
                training_valid_until=None,
            )
    raise PrincipalNotFound(f"no principal {subject}")


# ---------------------------------------------------------------------------- digest


async def list_login_attempts(
    session: AsyncSession, *, filters: dict[str, Any], limit: int, offset: int
) -> Page[LoginAttemptRead]:
    attempts, total = await repo.list_attempts(session, filters=filters, limit=limit, offset=offset)
    return Page(
        items=[LoginAttemptRead.model_validate(a, from_attributes=True) for a in attempts],
        total=total,
        limit=limit,
        offset=offset,
    )


def _off_hours(local: time, start: time, end: time) -> bool:
    if start <= end:
        return start <= local < end
    return local >= start or local < end


async def login_digest(
    session: AsyncSession, *, settings: AccessSettings, day: date
) -> LoginDigest:
    """344.2(b): the CSO's daily digest of login attempts, per name, local day."""
    if not MIN_DIGEST_YEAR <= day.year <= MAX_DIGEST_YEAR:
        raise Unprocessable(
            f"the digest date must be between {MIN_DIGEST_YEAR} and {MAX_DIGEST_YEAR}"
        )
    tz = ZoneInfo(settings.digest_timezone)
    start = datetime.combine(day, time(0), tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
    attempts = await repo.attempts_between(session, start, end)
    lockouts = await repo.lockouts_between(session, start, end)
    names = {a.username for a in attempts} | {name for _, name in lockouts}
    seen_before = await repo.addresses_seen_before(session, names, start)

    entries: dict[str, dict[str, Any]] = {}

    def entry(name: str) -> dict[str, Any]:
        return entries.setdefault(
            name,
            {
                "username": name,
                "subject": None,
                "kind": "person",
                "successes": 0,
                "failures": 0,
                "locked_attempts": 0,
                "lockouts": 0,
                "source_addresses": [],
                "first_seen_addresses": [],
                "off_hours_logins": [],
            },
        )

    for a in attempts:
        e = entry(a.username)
        e["subject"] = e["subject"] or a.subject
        e["kind"] = a.kind
        key = {"success": "successes", "failure": "failures", "locked": "locked_attempts"}
        e[key.get(a.outcome, "failures")] += 1
        address = a.source_address
        if address and address not in e["source_addresses"]:
            e["source_addresses"].append(address)
            if (a.username, address) not in seen_before:
                e["first_seen_addresses"].append(address)
        local = a.at.astimezone(tz)
        if a.outcome == "success" and _off_hours(
            local.time(), settings.off_hours_start, settings.off_hours_end
        ):
            e["off_hours_logins"].append(
                OffHoursLogin(at=a.at, local_time=f"{local:%H:%M}", source_address=address)
            )
    for lock, name in lockouts:
        e = entry(name)
        e["subject"] = e["subject"] or f"user:{lock.user_id}"
        e["lockouts"] += 1
    rows = sorted(
        (DigestEntry(**e) for e in entries.values()),
        key=lambda d: (-(d.failures + d.locked_attempts + d.lockouts), d.username),
    )
    return LoginDigest(
        date=day,
        timezone=settings.digest_timezone,
        starts_at=start,
        ends_at=end,
        off_hours=f"{settings.off_hours_start:%H:%M}-{settings.off_hours_end:%H:%M}",
        totals=DigestTotals(
            attempts=len(attempts),
            successes=sum(d.successes for d in rows),
            failures=sum(d.failures for d in rows),
            locked_attempts=sum(d.locked_attempts for d in rows),
            lockouts=sum(d.lockouts for d in rows),
            off_hours_logins=sum(len(d.off_hours_logins) for d in rows),
            first_seen_addresses=sum(len(d.first_seen_addresses) for d in rows),
        ),
        entries=rows,
    )


# ---------------------------------------------------------------------------- first CSO


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
    user = await _load_user(session, created.user.id, for_update=True)
    await _grant(session, user=user, role=Role.CHIEF_SECURITY_OFFICER, actor=actor, now=now)
    await repo.cancel_open_codes(session, user.id, now=now)
    secret = new_totp_secret()
    user.password_hash = await passwords.ahash(password)
    user.totp_secret = secret
    user.enrolled_at = now
    user.password_changed_at = now
    await _emit(
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
