"""Request dependencies of the access service, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from alpr_access.security import KeyStore, Passwords
from alpr_access.settings import AccessSettings
from alpr_common.forwarded import source_address


async def get_settings(request: Request) -> AccessSettings:
    settings: AccessSettings = request.app.state.settings
    return settings


async def get_keys(request: Request) -> KeyStore:
    keys: KeyStore = request.app.state.keys
    return keys


async def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


async def get_source_address(request: Request) -> str | None:
    """The caller's address: the peer, or behind `ACCESS_TRUSTED_PROXIES` (the gateway) the
    client the gateway names in X-Forwarded-For; a caller outside them cannot choose it."""
    settings: AccessSettings = request.app.state.settings
    return source_address(request, settings.trusted_proxy_networks())


SettingsDep = Annotated[AccessSettings, Depends(get_settings)]
KeysDep = Annotated[KeyStore, Depends(get_keys)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
SourceAddressDep = Annotated[str | None, Depends(get_source_address)]
