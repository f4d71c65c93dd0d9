"""Request dependencies of the access service, as `Annotated` aliases."""

from __future__ import annotations

import ipaddress
from typing import Annotated

from fastapi import Depends, Request

from alpr_access.security import KeyStore, Passwords
from alpr_access.settings import AccessSettings


async def get_settings(request: Request) -> AccessSettings:
    settings: AccessSettings = request.app.state.settings
    return settings


async def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


async def get_source_address(request: Request) -> str | None:
    """The caller's address: the first X-Forwarded-For entry (set by the gateway), else the peer.
    Access is reachable only through the gateway, which overwrites the header."""
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        first = _ip(forwarded.split(",", 1)[0])
        if first is not None:
            return first
    return _ip(request.client.host) if request.client else None


SettingsDep = Annotated[AccessSettings, Depends(get_settings)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SourceAddressDep = Annotated[str | None, Depends(get_source_address)]
