"""The httpx client every service uses to call another: pooled, timed out, carrying the request id,
the W3C trace context and a service token."""

from __future__ import annotations

import asyncio
import time

import httpx

from alpr_common.errors import Unavailable
from alpr_common.telemetry import outgoing_headers
from alpr_common.upstream import UpstreamTransport


async def _propagate(request: httpx.Request) -> None:
    for key, value in outgoing_headers().items():
        request.headers.setdefault(key, value)


def make_client(
    *,
    timeout: float = 10.0,
    max_connections: int = 100,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Plain-HTTP calls (the services inside the cluster) go through the lean HTTP/1.1
    transport (`alpr_common.upstream`); https through httpx's own. Tests inject `transport`."""
    mounts: dict[str, httpx.AsyncBaseTransport | None] | None = None
    if transport is None:
        mounts = {
            "http://": UpstreamTransport(max_connections=max_connections),
            "https://": httpx.AsyncHTTPTransport(
                limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=50)
            ),
        }
    return httpx.AsyncClient(
        transport=transport,
        mounts=mounts,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
        event_hooks={"request": [_propagate]},
    )


class ServiceTokens:
    """Client-credentials tokens from access for this service, cached until just before expiry."""

    def __init__(
        self, client: httpx.AsyncClient, *, access_url: str, client_id: str, client_secret: str
    ) -> None:
        self.client = client
        self.url = f"{access_url.rstrip('/')}/v1/token"
        self.client_id = client_id
        self.client_secret = client_secret
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        async with self._lock:
            if self._token and time.monotonic() < self._expires:
                return self._token
            if not self.client_id:
                raise Unavailable("no client credentials configured for service tokens")
            try:
                resp = await self.client.post(
                    self.url,
                    data={
                        "grant_type": "client_credentials",
                        "client_id": self.client_id,
                        "client_secret": self.client_secret,
                    },
                )
            except httpx.HTTPError as exc:
                raise Unavailable(f"access unreachable for a service token: {exc}") from exc
            if resp.status_code != 200:
                raise Unavailable(f"access refused a service token: HTTP {resp.status_code}")
            body = resp.json()
            self._token = str(body["access_token"])
            # Renew a minute early so a token never expires in flight.
            self._expires = time.monotonic() + max(5.0, float(body.get("expires_in", 60)) - 60)
            return self._token
