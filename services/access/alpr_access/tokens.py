"""How people and machines prove who they are, and the tokens they get for it (344.7(b))."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.attempts import (
    LoginOutcome,
    lock_if_too_many_failures,
    record_attempt,
    release_lapsed_lockouts,
)
from alpr_access.errors import ClientRefused, GrantRefused, InvalidCredentials
from alpr_access.models import Client, User
from alpr_access.schemas import TokenResponse
from alpr_access.security import KeyStore, Passwords, match_totp, sha256_hex
from alpr_access.settings import AccessSettings
from alpr_access.training import training_valid_until
from alpr_common.auth import principal_claims
from alpr_common.db import utcnow
from alpr_common.roles import Role


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
    trained = False
    if valid_until is not None and valid_until > now:
        trained = True
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

    async def refuse(outcome: LoginOutcome, reason: str, *, counted: bool = False) -> GrantRefused:
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
            await lock_if_too_many_failures(session, user, now=now)
        return GrantRefused()

    if user is None:
        # Spend the same argon2 work as for a real account: timing must not reveal names.
        await passwords.averify(None, password)
        raise await refuse("failure", "unknown_user")
    await release_lapsed_lockouts(session, user, now=now)
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

    async def refuse(reason: str) -> ClientRefused:
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
        return ClientRefused("invalid client credentials")

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
