"""Request dependencies of the access service, as `Annotated` aliases."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_access.errors import RecordedFailure
from alpr_access.security import KeyStore, Passwords
from alpr_access.settings import AccessSettings
from alpr_common.db import Database


def get_settings(request: Request) -> AccessSettings:
    settings: AccessSettings = request.app.state.settings
    return settings


def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def get_source_address(request: Request) -> str | None:
    """The caller's address: the first X-Forwarded-For entry (set by the gateway), else the peer.
    Access is reachable only through the gateway, which overwrites the header."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        first = _ip(forwarded.split(",", 1)[0])
        if first is not None:
            return first
    return _ip(request.client.host) if request.client else None


async def get_recording_session(request: Request) -> AsyncIterator[AsyncSession]:
    """Like the kernel's session, but a refused credential still commits: the login attempt and
    any lockout it caused are kept (344.4(d)) while the caller gets the refusal."""
    db: Database = request.app.state.db
    async with db.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except RecordedFailure:
            await session.commit()
            raise
        except BaseException:
            await session.rollback()
            raise


SettingsDep = Annotated[AccessSettings, Depends(get_settings)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SourceAddressDep = Annotated[str | None, Depends(get_source_address)]
RecordingSessionDep = Annotated[AsyncSession, Depends(get_recording_session, scope="function")]
