"""Live principal status from access, cached for a couple of seconds: a deactivated user, a removed
role or lapsed training is refused within seconds even while the token is unexpired (344.7(b))."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import httpx

from alpr_common.errors import Unauthorized, Unavailable
from alpr_common.http import ServiceTokens


@dataclass(frozen=True)
class PrincipalStatus:
    subject: str
    kind: str
    active: bool
    roles: frozenset[str]
    training_valid_until: datetime | None


class StatusSource(Protocol):
    async def fetch(self, subject: str) -> PrincipalStatus | None: ...


class AccessStatusSource:
    def __init__(self, client: httpx.AsyncClient, access_url: str, token: ServiceTokens) -> None:
        self.client = client
        self.url = access_url.rstrip("/")
        self.token = token

    async def fetch(self, subject: str) -> PrincipalStatus | None:
        token = await self.token.get()
        try:
            resp = await self.client.get(
                f"{self.url}/v1/principals/{subject}/status",
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise Unavailable(
                "access is unreachable, so principal status cannot be checked; retry shortly"
            ) from exc
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise Unavailable(f"access answered {resp.status_code} to a status check; retry")
        body = resp.json()
        trn = body.get("training_valid_until")
        return PrincipalStatus(
            subject=body["subject"],
            kind=body["kind"],
            active=bool(body["active"]),
            roles=frozenset(body.get("roles", [])),
            training_valid_until=datetime.fromisoformat(trn) if trn else None,
        )


class StatusCache:
    def __init__(self, source: StatusSource, ttl_seconds: float) -> None:
        self.source = source
        self.ttl = ttl_seconds
        self._cache: dict[str, tuple[float, PrincipalStatus | None]] = {}

    async def get(self, subject: str) -> PrincipalStatus:
        now = time.monotonic()
        hit = self._cache.get(subject)
        if hit is None or now - hit[0] > self.ttl:
            status = await self.source.fetch(subject)
            self._cache[subject] = (now, status)
            if len(self._cache) > 100_000:
                self._cache.clear()
        else:
            status = hit[1]
        if status is None:
            raise Unauthorized("the token's principal is unknown to access")
        return status
