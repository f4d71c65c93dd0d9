"""Every query of the access service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from alpr_access.errors import UserNotFound
from alpr_access.models import (
    Client,
    EnrolmentCode,
    IngestKey,
    Lockout,
    LoginAttempt,
    RevokedToken,
    RoleGrant,
    TrainingRecord,
    User,
)
from alpr_common.pagination import Paged, PageParams, keyset_page, offset_page

M = TypeVar("M")


async def add(session: AsyncSession, obj: M) -> M:
    session.add(obj)
    await session.flush()
    return obj


# ---------------------------------------------------------------------------- users


async def get_user(session: AsyncSession, user_id: str, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def load_user(session: AsyncSession, user_id: str, *, for_update: bool = False) -> User:
    user = await get_user(session, user_id, for_update=for_update)
    if user is None:
        raise UserNotFound(f"no user {user_id}")
    return user


async def get_user_by_username(
    session: AsyncSession, username: str, *, for_update: bool = False
) -> User | None:
    stmt = select(User).where(User.username == username)
    if for_update:
        # Serializes concurrent logins of one person, so the failure count cannot race past 5.
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_users(
    session: AsyncSession, *, active: bool | None, role: str | None, page: PageParams
) -> Paged[User]:
    stmt = select(User)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if role is not None:
        stmt = stmt.where(col(User.id).in_(select(RoleGrant.user_id).where(RoleGrant.role == role)))
    return await offset_page(session, stmt.order_by(User.username), page=page)


async def roles_of(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, list[str]]:
    ids = list(user_ids)
    roles: dict[str, list[str]] = {uid: [] for uid in ids}
    if not ids:
        return roles
    rows = await session.execute(
        select(RoleGrant.user_id, RoleGrant.role)
        .where(col(RoleGrant.user_id).in_(ids))
        .order_by(RoleGrant.role)
    )
    for user_id, role in rows:
        roles[user_id].append(role)
    return roles


async def get_grant(session: AsyncSession, user_id: str, role: str) -> RoleGrant | None:
    return await session.get(RoleGrant, (user_id, role))


async def delete_grant(session: AsyncSession, user_id: str, role: str) -> None:
    await session.execute(
        delete(RoleGrant).where(col(RoleGrant.user_id) == user_id, col(RoleGrant.role) == role)
    )


async def revoke_token(
    session: AsyncSession, *, jti: str, subject: str, expires_at: datetime, now: datetime
) -> None:
    """Record a signed-out token (once), and forget those that have expired anyway."""
    await session.execute(delete(RevokedToken).where(col(RevokedToken.expires_at) < now))
    if await session.get(RevokedToken, jti) is None:
        session.add(RevokedToken(jti=jti, subject=subject, expires_at=expires_at, revoked_at=now))
        await session.flush()


async def revoked_token_ids(session: AsyncSession, subject: str, *, now: datetime) -> list[str]:
    rows = await session.scalars(
        select(RevokedToken.jti).where(
            col(RevokedToken.subject) == subject, col(RevokedToken.expires_at) >= now
        )
    )
    return list(rows)


async def count_active_holders(session: AsyncSession, role: str) -> int:
    stmt = (
        select(func.count())
        .select_from(RoleGrant)
        .join(User, col(User.id) == RoleGrant.user_id)
        .where(RoleGrant.role == role, col(User.active).is_(True))
    )
    return int((await session.execute(stmt)).scalar_one())


# ---------------------------------------------------------------------------- training


async def latest_training(session: AsyncSession, user_ids: Iterable[str]) -> dict[str, datetime]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(TrainingRecord.user_id, func.max(TrainingRecord.completed_at))
        .where(col(TrainingRecord.user_id).in_(ids))
        .group_by(TrainingRecord.user_id)
    )
    return {user_id: completed for user_id, completed in rows if completed is not None}


async def list_training(
    session: AsyncSession, *, user_id: str | None, page: PageParams
) -> Paged[TrainingRecord]:
    stmt = select(TrainingRecord)
    if user_id is not None:
        stmt = stmt.where(TrainingRecord.user_id == user_id)
    stmt = stmt.order_by(col(TrainingRecord.completed_at).desc(), TrainingRecord.id)
    return await offset_page(session, stmt, page=page)


# ---------------------------------------------------------------------------- enrolment


async def cancel_open_codes(session: AsyncSession, user_id: str, *, now: datetime) -> None:
    await session.execute(
        update(EnrolmentCode)
        .where(
            col(EnrolmentCode.user_id) == user_id,
            col(EnrolmentCode.used_at).is_(None),
            col(EnrolmentCode.cancelled_at).is_(None),
        )
        .values(cancelled_at=now)
    )


async def get_code_by_hash(session: AsyncSession, code_hash: str) -> EnrolmentCode | None:
    stmt = select(EnrolmentCode).where(EnrolmentCode.code_hash == code_hash).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


# ---------------------------------------------------------------------------- login attempts


async def count_failures(
    session: AsyncSession, user_id: str, *, since: datetime, reasons: Sequence[str]
) -> int:
    stmt = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.user_id == user_id,
            LoginAttempt.outcome == "failure",
            col(LoginAttempt.reason).in_(reasons),
            LoginAttempt.at > since,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def last_success_at(session: AsyncSession, user_id: str) -> datetime | None:
    stmt = select(func.max(LoginAttempt.at)).where(
        LoginAttempt.user_id == user_id, LoginAttempt.outcome == "success"
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _attempt_filters(stmt: Select[Any], filters: dict[str, Any]) -> Select[Any]:
    for name in ("user_id", "outcome", "method", "source_address"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(LoginAttempt, name) == filters[name])
    if filters.get("username") is not None:
        # People's names are stored lower-cased, client ids as they are.
        name = filters["username"]
        stmt = stmt.where(col(LoginAttempt.username).in_({name, name.lower()}))
    if filters.get("since") is not None:
        stmt = stmt.where(LoginAttempt.at >= filters["since"])
    if filters.get("until") is not None:
        stmt = stmt.where(LoginAttempt.at < filters["until"])
    return stmt


async def list_attempts(
    session: AsyncSession, *, filters: dict[str, Any], page: PageParams
) -> Paged[LoginAttempt]:
    # The log of every attempt grows without bound: keyset pages, no count.
    stmt = _attempt_filters(select(LoginAttempt), filters)
    return await keyset_page(
        session, stmt, key=(col(LoginAttempt.at), col(LoginAttempt.id)), page=page
    )


async def attempts_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[LoginAttempt]:
    stmt = (
        select(LoginAttempt)
        .where(LoginAttempt.at >= start, LoginAttempt.at < end)
        .order_by(col(LoginAttempt.at))
    )
    return list((await session.execute(stmt)).scalars().all())


async def addresses_seen_before(
    session: AsyncSession, usernames: Iterable[str], before: datetime
) -> set[tuple[str, str]]:
    names = list(usernames)
    if not names:
        return set()
    stmt = (
        select(LoginAttempt.username, LoginAttempt.source_address)
        .where(
            col(LoginAttempt.username).in_(names),
            LoginAttempt.at < before,
            col(LoginAttempt.source_address).is_not(None),
        )
        .group_by(LoginAttempt.username, col(LoginAttempt.source_address))
    )
    return {(u, a) for u, a in await session.execute(stmt)}


# ---------------------------------------------------------------------------- lockouts


async def latest_lockout(session: AsyncSession, user_id: str) -> Lockout | None:
    stmt = (
        select(Lockout)
        .where(Lockout.user_id == user_id)
        .order_by(col(Lockout.locked_at).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def active_lockout(session: AsyncSession, user_id: str, *, now: datetime) -> Lockout | None:
    stmt = (
        select(Lockout)
        .where(
            Lockout.user_id == user_id,
            col(Lockout.released_at).is_(None),
            Lockout.locked_until > now,
        )
        .order_by(col(Lockout.locked_at).desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lapsed_unreleased_lockouts(
    session: AsyncSession, user_id: str, *, now: datetime
) -> list[Lockout]:
    stmt = select(Lockout).where(
        Lockout.user_id == user_id,
        col(Lockout.released_at).is_(None),
        Lockout.locked_until <= now,
    )
    return list((await session.execute(stmt)).scalars().all())


async def list_lockouts(
    session: AsyncSession,
    *,
    user_id: str | None,
    active: bool | None,
    now: datetime,
    page: PageParams,
) -> tuple[list[tuple[Lockout, str]], str | None, int | None]:
    stmt = select(Lockout, User.username).join(User, col(User.id) == Lockout.user_id)
    if user_id is not None:
        stmt = stmt.where(Lockout.user_id == user_id)
    if active is True:
        stmt = stmt.where(col(Lockout.released_at).is_(None), Lockout.locked_until > now)
    elif active is False:
        stmt = stmt.where((col(Lockout.released_at).is_not(None)) | (Lockout.locked_until <= now))
    rows, more, total = await offset_page(
        session, stmt.order_by(col(Lockout.locked_at).desc(), col(Lockout.id)), page=page
    )
    return [(lock, username) for lock, username in rows], more, total


async def lockouts_between(
    session: AsyncSession, start: datetime, end: datetime
) -> list[tuple[Lockout, str]]:
    stmt = (
        select(Lockout, User.username)
        .join(User, col(User.id) == Lockout.user_id)
        .where(Lockout.locked_at >= start, Lockout.locked_at < end)
    )
    return [(lock, username) for lock, username in await session.execute(stmt)]


# ---------------------------------------------------------------------------- clients


async def get_client(
    session: AsyncSession, client_id: str, *, for_update: bool = False
) -> Client | None:
    stmt = select(Client).where(Client.id == client_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_clients(
    session: AsyncSession, *, kind: str | None, active: bool | None, page: PageParams
) -> Paged[Client]:
    stmt = select(Client)
    if kind is not None:
        stmt = stmt.where(Client.kind == kind)
    if active is not None:
        stmt = stmt.where(Client.active == active)
    return await offset_page(session, stmt.order_by(col(Client.created_at), Client.id), page=page)


async def get_ingest_key(session: AsyncSession, key_id: str) -> IngestKey | None:
    return await session.get(IngestKey, key_id)


async def get_ingest_key_by_hash(session: AsyncSession, key_hash: str) -> IngestKey | None:
    stmt = select(IngestKey).where(IngestKey.key_hash == key_hash)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_ingest_keys(
    session: AsyncSession, *, client_id: str | None, active: bool | None, page: PageParams
) -> Paged[IngestKey]:
    stmt = select(IngestKey)
    if client_id is not None:
        stmt = stmt.where(IngestKey.client_id == client_id)
    if active is True:
        stmt = stmt.where(col(IngestKey.revoked_at).is_(None))
    elif active is False:
        stmt = stmt.where(col(IngestKey.revoked_at).is_not(None))
    return await offset_page(
        session, stmt.order_by(col(IngestKey.created_at), IngestKey.id), page=page
    )


async def revoke_client_keys(
    session: AsyncSession, client_id: str, *, now: datetime, by: str
) -> list[str]:
    keys = (
        (
            await session.execute(
                select(IngestKey.id).where(
                    IngestKey.client_id == client_id,
                    col(IngestKey.revoked_at).is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    if keys:
        await session.execute(
            update(IngestKey)
            .where(col(IngestKey.id).in_(keys))
            .values(revoked_at=now, revoked_by=by)
        )
    return list(keys)


async def training_of_active_people(session: AsyncSession) -> list[datetime | None]:
    """The latest training completion of every active person (None: never trained)."""
    latest = (
        select(TrainingRecord.user_id, func.max(TrainingRecord.completed_at).label("done"))
        .group_by(col(TrainingRecord.user_id))
        .subquery()
    )
    rows = await session.execute(
        select(latest.c.done)
        .select_from(User)
        .outerjoin(latest, latest.c.user_id == User.id)
        .where(col(User.active).is_(True))
    )
    return [done for (done,) in rows]
