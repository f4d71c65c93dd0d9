"""Calls to other services, with this service's own token (role `service`): hotlist's live check
of a hot-list entry (344.5(b)), ingest's release bundles and preservation holds (344.5, 344.6(b)4).
A peer that cannot answer becomes 503 with Retry-After (nothing is recorded meanwhile); a peer
that refuses becomes 502 naming what it said."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from alpr_common.errors import AppError
from alpr_sharing.deps import Upstream
from alpr_sharing.errors import DependencyRefused, DependencyUnavailable

log = logging.getLogger("alpr.sharing.clients")


async def _call(
    up: Upstream, service: str, method: str, path: str, *, json: Any = None
) -> httpx.Response:
    try:
        token = await up.token()
        return await up.http.request(
            method,
            f"{up.settings.url_of(service)}{path}",
            json=json,
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as exc:
        raise DependencyUnavailable(
            f"{service} cannot be reached ({type(exc).__name__}); nothing was recorded, retry"
        ) from exc
    except AppError as exc:  # no service token: access down or no credentials
        raise DependencyUnavailable(f"no service token for {service}: {exc.detail}") from exc


def _refused(service: str, resp: httpx.Response) -> AppError:
    if resp.status_code >= 500 or resp.status_code in (401, 403):
        log.warning("%s answered HTTP %s", service, resp.status_code)
        return DependencyUnavailable(
            f"{service} answered HTTP {resp.status_code}; nothing was recorded, retry"
        )
    try:
        detail = str(resp.json().get("detail", ""))[:500]
    except (ValueError, AttributeError):
        detail = ""
    return DependencyRefused(f"{service} refused (HTTP {resp.status_code}): {detail}")


async def hotlist_entry(up: Upstream, entry_id: int) -> dict[str, Any] | None:
    """The entry's grounds as hotlist sees them now, or None when it has no such entry."""
    resp = await _call(up, "hotlist", "GET", f"/v1/sharing-grounds/{entry_id}")
    if resp.status_code == 404:
        return None
    if resp.status_code != 200:
        raise _refused("hotlist", resp)
    body: dict[str, Any] = resp.json()
    return body


async def build_release(up: Upstream, body: dict[str, Any]) -> dict[str, Any]:
    resp = await _call(up, "ingest", "POST", "/v1/releases", json=body)
    if resp.status_code != 201:
        raise _refused("ingest", resp)
    result: dict[str, Any] = resp.json()
    return result


async def fetch_release(up: Upstream, release_id: str) -> bytes:
    resp = await _call(up, "ingest", "GET", f"/v1/releases/{release_id}")
    if resp.status_code != 200:
        raise _refused("ingest", resp)
    return resp.content


async def preservation_hold(up: Upstream, body: dict[str, Any]) -> dict[str, Any]:
    resp = await _call(up, "ingest", "POST", "/v1/preservation-holds", json=body)
    if resp.status_code != 201:
        raise _refused("ingest", resp)
    result: dict[str, Any] = resp.json()
    return result
