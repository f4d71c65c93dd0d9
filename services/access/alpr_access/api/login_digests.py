"""The CSO's daily login digest (344.2(b))."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter

from alpr_access import digest
from alpr_access.auth import ChiefSecurityOfficer
from alpr_access.deps import SettingsDep
from alpr_access.schemas import LoginDigest
from alpr_common.db import SessionDep

router = APIRouter(prefix="/v1")


@router.get(
    "/login-digests/{date}",
    response_model=LoginDigest,
    tags=["login attempts"],
)
async def login_digest(
    date: dt.date, _cso: ChiefSecurityOfficer, session: SessionDep, settings: SettingsDep
) -> LoginDigest:
    """The CSO's daily login digest (344.2(b)) for one local day."""
    return await digest.login_digest(session, settings=settings, day=date)
