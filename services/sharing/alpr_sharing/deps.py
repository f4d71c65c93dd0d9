"""The sharing service's request dependencies: settings and the calls it makes to ingest and
hotlist (the kernel's pooled client and this service's own client-credentials token)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import httpx
from fastapi import Depends, Path, Request

from alpr_sharing.settings import SharingSettings


@dataclass(frozen=True)
class Upstream:
    settings: SharingSettings
    http: httpx.AsyncClient
    token: Callable[[], Awaitable[str]]


async def get_settings(request: Request) -> SharingSettings:
    settings: SharingSettings = request.app.state.settings
    return settings


async def get_upstream(request: Request) -> Upstream:
    state = request.app.state
    return Upstream(settings=state.settings, http=state.http, token=state.tokens.get)


SettingsDep = Annotated[SharingSettings, Depends(get_settings)]
UpstreamDep = Annotated[Upstream, Depends(get_upstream)]

_ID = r"^[0-9a-f]{32}$"
AgencyIdPath = Annotated[str, Path(pattern=_ID, description="The agency's id (32 hex)")]
RequestIdPath = Annotated[str, Path(pattern=_ID, description="The request's id (32 hex)")]
PackageIdPath = Annotated[str, Path(pattern=_ID, description="The package's id (32 hex)")]
ReportIdPath = Annotated[str, Path(pattern=_ID, description="The misuse report's id (32 hex)")]
