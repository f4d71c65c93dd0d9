"""Dependencies shared by the hotlist routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses
from alpr_hotlist.settings import HotlistSettings


async def get_settings(request: Request) -> HotlistSettings:
    settings: HotlistSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[HotlistSettings, Depends(get_settings)]

_PRINTABLE = r"^[^\x00-\x1f\x7f/]+$"
HotlistIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=_PRINTABLE)]
ImportIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=_PRINTABLE)]
EntryIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
AlertIdPath = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Alert id (32 hex)")]
MessageIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=_PRINTABLE)]

# Every authenticated route may answer these.
AUTH_ERRORS = (Unauthorized, Forbidden, Unprocessable)


def errors(*extra: type) -> dict[int | str, dict[str, object]]:
    return responses(*AUTH_ERRORS, *extra)
