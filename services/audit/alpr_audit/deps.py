"""Dependencies shared by the audit routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alpr_audit.checkpoints import CheckpointStore
from alpr_audit.settings import AuditSettings


async def get_settings(request: Request) -> AuditSettings:
    settings: AuditSettings = request.app.state.settings
    return settings


async def get_checkpoints(request: Request) -> CheckpointStore:
    store: CheckpointStore = request.app.state.checkpoints
    return store


SettingsDep = Annotated[AuditSettings, Depends(get_settings)]
CheckpointsDep = Annotated[CheckpointStore, Depends(get_checkpoints)]
