"""Every change to a list, an entry or an alert is attributed and sent to audit (344.4(d),
344.6): `hotlist.*` events through the outbox, in the transaction that makes the change, their
data checked against its contract (`alpr_common.contracts.hotlist`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.auditing import actor_fields, emit_audit, system_actor
from alpr_common.auth import Principal
from alpr_common.contracts.hotlist import EVENT_TYPES
from alpr_hotlist.models import OUTBOX

SOURCE = "hotlist"
SYSTEM_ACTOR = system_actor(SOURCE)


async def emit(
    session: AsyncSession,
    kind: str,
    *,
    actor: Principal | None,
    data: Mapping[str, Any],
) -> None:
    """Queue `hotlist.<kind>` for audit, attributed to `actor` (None: the service itself)."""
    type_ = f"{SOURCE}.{kind}"
    # Built from the contract, as audit reads it: a field of the wrong type fails here, in tests.
    checked = EVENT_TYPES[type_].model_validate({**data, **actor_fields(actor, source=SOURCE)})
    await emit_audit(session, OUTBOX, source=SOURCE, type=type_, actor=actor, data=checked)
