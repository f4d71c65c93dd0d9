"""The record of every login attempt (344.4(d)) and the lockouts that failures lead to."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Literal

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.auditing import SOURCE, SYSTEM_ACTOR, emit
from alpr_access.errors import LockoutNotFound
from alpr_access.models import OUTBOX, Lockout, LoginAttempt, User
from alpr_access.schemas import LockoutRead, LoginAttemptRead
from alpr_access.security import new_id
from alpr_common.auditing import emit_audit
from alpr_common.contracts.access import LOGIN_ATTEMPT, LoginAttemptData
from alpr_common.db import utcnow
from alpr_common.pagination import Page, PageParams

log = logging.getLogger("alpr.access")

# docs/design.md section 4: lockout after 5 failures within 15 minutes, for 15 minutes.
LOCKOUT_THRESHOLD = 5
LOCKOUT_WINDOW = timedelta(minutes=15)
LOCKOUT_DURATION = timedelta(minutes=15)
# Failures that count towards a lockout: a wrong secret, not an unknown or inactive account.
COUNTED_FAILURES = ("bad_password", "bad_totp")
# The outcomes the access.login_attempt contract knows.
LoginOutcome = Literal["success", "failure", "locked"]

TOKENS_ISSUED = Counter(
    "alpr_access_tokens_issued_total",
    "Tokens issued, by grant (password, client_credentials, ingest_key).",
    ["grant"],
)
TOKENS_REFUSED = Counter(
    "alpr_access_tokens_refused_total",
    "Token requests refused, by grant and reason (unknown_user, bad_password, bad_totp, "
    "account_locked, inactive, not_enrolled, unknown_client, bad_secret, client_revoked, "
    "unknown_key, key_revoked, no_cameras).",
    ["grant", "reason"],
)


async def record_attempt(
    session: AsyncSession,
    *,
    now: datetime,
    username: str,
    kind: str,
    method: str,
    outcome: LoginOutcome,
    reason: str,
    source_address: str | None,
    user_id: str | None = None,
    subject: str | None = None,
) -> LoginAttempt:
    """Record one login attempt and queue it for audit (344.4(d): every login is logged)."""
    if outcome == "success":
        TOKENS_ISSUED.labels(method).inc()
    else:
        TOKENS_REFUSED.labels(method, reason).inc()
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
    data = LoginAttemptData(
        username=attempt.username,
        subject=subject,
        outcome=outcome,
        reason=reason,
        source_address=source_address,
    )
    await emit_audit(
        session,
        OUTBOX,
        source=SOURCE,
        type=LOGIN_ATTEMPT,
        actor=subject,
        data=data,
        subject=subject,
        time=now,
        # The attempt names its own who (the account tried, known or not).
        attributed=False,
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


async def release_lapsed_lockouts(session: AsyncSession, user: User, *, now: datetime) -> None:
    """Write down that lockouts whose time ran out were released by time."""
    for lock in await repo.lapsed_unreleased_lockouts(session, user.id, now=now):
        lock.released_at = lock.locked_until
        lock.released_how = "time"
        await emit(
            session,
            "lockout_released",
            actor=SYSTEM_ACTOR,
            now=now,
            subject=f"user:{user.id}",
            user_id=user.id,
            lockout_id=lock.id,
            how="time",
        )


async def lock_if_too_many_failures(session: AsyncSession, user: User, *, now: datetime) -> None:
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
    await emit(
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
    page: PageParams,
    now: datetime | None = None,
) -> Page[LockoutRead]:
    now = now or utcnow()
    rows, more, total = await repo.list_lockouts(
        session, user_id=user_id, active=active, now=now, page=page
    )
    return page.answer([_lockout_read(lock, name, now) for lock, name in rows], more, total)


async def release_lockout(
    session: AsyncSession, *, actor: str, user_id: str, reason: str, now: datetime | None = None
) -> LockoutRead:
    """The CSO ends a lockout early; the release records who and why."""
    now = now or utcnow()
    user = await repo.load_user(session, user_id, for_update=True)
    lock = await repo.active_lockout(session, user.id, now=now)
    if lock is None:
        raise LockoutNotFound(f"{user.username} is not locked out")
    lock.released_at = now
    lock.released_how = "cso"
    lock.released_by = actor
    lock.release_reason = reason
    await emit(
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


async def list_login_attempts(
    session: AsyncSession, *, filters: dict[str, Any], page: PageParams
) -> Page[LoginAttemptRead]:
    attempts, more, total = await repo.list_attempts(session, filters=filters, page=page)
    items = [LoginAttemptRead.model_validate(a, from_attributes=True) for a in attempts]
    return page.answer(items, more, total)
