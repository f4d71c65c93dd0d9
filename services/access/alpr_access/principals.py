"""What the gateway re-checks about a token's holder (344.7(b))."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access import repository as repo
from alpr_access.errors import PrincipalNotFound
from alpr_access.schemas import PrincipalStatus
from alpr_access.training import training_valid_until


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
