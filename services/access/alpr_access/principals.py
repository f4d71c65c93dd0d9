"""What the gateway and every service re-check about a token's holder (344.7(b)), and sign-out."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.errors import PrincipalNotFound
from alpr_access.schemas import PrincipalStatus
from alpr_access.training import training_valid_until
from alpr_common.auth import Principal
from alpr_common.db import Database, utcnow
from alpr_common.status import PrincipalStatus as LiveStatus


async def principal_status(session: AsyncSession, *, subject: str) -> PrincipalStatus:
    """What the gateway re-checks every few seconds: active, roles, training (344.7(b)), and
    which of the principal's tokens are revoked."""
    kind, _, ident = subject.partition(":")
    now = utcnow()
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
                tokens_valid_after=user.tokens_valid_after,
                revoked_token_ids=await repo.revoked_token_ids(session, subject, now=now),
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
                revoked_token_ids=await repo.revoked_token_ids(session, subject, now=now),
            )
    raise PrincipalNotFound(f"no principal {subject}")


async def sign_out(session: AsyncSession, *, principal: Principal) -> None:
    """Revoke the token in hand: refused by the gateway and every service within seconds. There
    are no refresh tokens or server-side sessions to end besides it."""
    now = utcnow()
    await repo.revoke_token(
        session,
        jti=principal.token_id,
        subject=principal.subject,
        expires_at=principal.expires_at or now,
        now=now,
    )


class OwnTables:
    """Access checks its own principals in its own tables (no HTTP call to itself)."""

    def __init__(self, db: Callable[[], Database]) -> None:
        self.db = db

    async def fetch(self, subject: str) -> LiveStatus | None:
        async with self.db().sessionmaker() as session:
            try:
                status = await principal_status(session, subject=subject)
            except PrincipalNotFound:
                return None
        return LiveStatus.from_json(status.model_dump(mode="json"))
