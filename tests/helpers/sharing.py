"""Helpers for the sharing tests (`from tests.helpers.sharing import Sharing`): the host-routing
transport to the in-process peers, the service token, and a helper that registers agencies, seeds
reads at ingest and hot-list entries at hotlist through their real APIs, and reads sharing's
outbox."""

from __future__ import annotations

import csv
import io
import json
import uuid
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from alpr_common.db import Database
from alpr_common.testing.plugin import TokenFactory
from alpr_sharing.models import OUTBOX

CASE = "2026-0001234"


class StaticTokens:
    def __init__(self, token: str) -> None:
        self.token = token

    async def get(self) -> str:
        return self.token


class Peers(httpx.AsyncBaseTransport):
    """Sends `http://ingest/...` and `http://hotlist/...` to those apps; `down` refuses a host
    as a stopped service would."""

    def __init__(self, apps: dict[str, FastAPI]) -> None:
        self.transports = {host: httpx.ASGITransport(app=a) for host, a in apps.items()}
        self.down: set[str] = set()
        self.calls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.calls.append(f"{request.method} {host}{request.url.path}")
        if host in self.down or host not in self.transports:
            raise httpx.ConnectError(f"connection refused: {host}", request=request)
        return await self.transports[host].handle_async_request(request)


def now() -> datetime:
    return datetime.now(UTC)


def bundle_rows(bundle: bytes) -> tuple[list[dict[str, str]], dict[str, Any], bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        data = z.read("reads.csv")
        manifest = json.loads(z.read("manifest.json"))
    return list(csv.DictReader(io.StringIO(data.decode()))), manifest, data


@dataclass
class Sharing:
    client: httpx.AsyncClient
    tokens: TokenFactory
    db: Database
    peers: Peers
    ingest: httpx.AsyncClient
    hotlist: httpx.AsyncClient

    # --- tokens ---------------------------------------------------------------------------------

    def person(self, role: str, name: str | None = None) -> dict[str, str]:
        return self.tokens.headers(role, subject=f"user:{role}", name=name or role.title())

    def records(self) -> dict[str, str]:
        return self.person("records_officer", "Records Officer R. Diaz")

    def chief(self) -> dict[str, str]:
        return self.person("chief_of_police", "Chief J. Chacon")

    def lieutenant(self) -> dict[str, str]:
        return self.person("atiu_lieutenant", "Lt. M. Ortiz")

    def agency_client(self, agency_id: str) -> dict[str, str]:
        return self.tokens.headers(
            "agency", subject=f"client:agency-{agency_id[:6]}", agency_id=agency_id
        )

    def purpose(self, case: str = CASE, **extra: str) -> dict[str, str]:
        return {
            "X-ALPR-Purpose": "criminal_investigation",
            "X-ALPR-Case": case,
            "X-ALPR-Reason": "robbery suspect vehicle released to the requesting agency",
            **extra,
        }

    # --- agencies -------------------------------------------------------------------------------

    async def agency(self, kind: str = "law_enforcement", **extra: Any) -> dict[str, Any]:
        body = {
            "name": f"Agency {uuid.uuid4().hex[:6]}",
            "kind": kind,
            "jurisdiction": "Travis County, TX",
            "contact_name": "Sgt. A. Example",
            "contact_email": "records@example.org",
            **extra,
        }
        resp = await self.client.post("/v1/agencies", json=body, headers=self.records())
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    # --- requests -------------------------------------------------------------------------------

    def body(self, **overrides: Any) -> dict[str, Any]:
        t = now()
        body: dict[str, Any] = {
            "kind": "agency_data",
            "purpose": "criminal_investigation",
            "case_number": CASE,
            "reason": "armed robbery suspect vehicle seen near the scene",
            "grounds": "criminal_investigation",
            "offense": "Aggravated robbery (PC 29.03)",
            "investigator": "Det. K. Nguyen",
            "plates": ["ABC1234"],
            "since": (t - timedelta(days=2)).isoformat(),
            "until": (t - timedelta(minutes=1)).isoformat(),
        }
        body.update(overrides)
        return body

    async def submit(self, headers: dict[str, str], **overrides: Any) -> httpx.Response:
        return await self.client.post(
            "/v1/sharing-requests", json=self.body(**overrides), headers=headers
        )

    async def submitted(self, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
        resp = await self.submit(headers, **overrides)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    async def get(self, request_id: str, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(
            f"/v1/sharing-requests/{request_id}", headers=headers or self.records()
        )

    async def decide(
        self, request_id: str, decision: str, headers: dict[str, str], reason: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"decision": decision}
        if reason is not None:
            body["reason"] = reason
        return await self.client.post(
            f"/v1/sharing-requests/{request_id}/decisions", json=body, headers=headers
        )

    async def notice(
        self, request_id: str, notified: str, *, at: datetime | None = None
    ) -> httpx.Response:
        return await self.client.post(
            f"/v1/sharing-requests/{request_id}/notices",
            json={
                "notified": notified,
                "recipient": f"Staff of the {notified.replace('_', ' ')}",
                "notified_at": (at or now()).isoformat(),
                "method": "email",
                "reference": f"MEMO-{notified}-1",
            },
            headers=self.chief(),
        )

    async def build(self, request_id: str) -> httpx.Response:
        return await self.client.post(
            f"/v1/sharing-requests/{request_id}/packages", headers=self.records()
        )

    async def download(
        self, package_id: str, headers: dict[str, str], case: str = CASE
    ) -> httpx.Response:
        return await self.client.get(
            f"/v1/packages/{package_id}/content", headers={**headers, **self.purpose(case)}
        )

    # --- peers ----------------------------------------------------------------------------------

    async def seed_reads(self, reads: list[tuple[str, datetime]], camera: str = "") -> str:
        """Register a camera at ingest and post the reads (plate, captured_at) from it."""
        camera = camera or f"cam-{uuid.uuid4().hex[:8]}"
        resp = await self.ingest.post(
            "/v1/cameras",
            json={
                "id": camera,
                "name": f"Camera {camera}",
                "vendor": "native",
                "camera_type": "trailer",
                "location": {"lat": 30.2674, "lon": -97.736},
            },
            headers=self.tokens.headers("admin", subject="user:admin1"),
        )
        assert resp.status_code == 201, resp.text
        for start in range(0, len(reads), 1000):
            resp = await self.ingest.post(
                "/v1/reads",
                json={
                    "reads": [
                        {"plate": p, "captured_at": t.isoformat(), "camera": camera}
                        for p, t in reads[start : start + 1000]
                    ],
                    "atomic": True,
                },
                headers=self.tokens.headers("camera", cameras=(camera,)),
            )
            assert resp.status_code in (200, 201), resp.text
        return camera

    async def hotlist_entry(
        self, plate: str, entry_type: str = "amber_alert", **extra: Any
    ) -> dict[str, Any]:
        manager = self.tokens.headers("hotlist_manager", subject="user:mgr", name="Manager")
        resp = await self.hotlist.post(
            "/v1/hotlists",
            json={"name": f"list-{uuid.uuid4().hex[:6]}", "source": "agency"},
            headers=manager,
        )
        assert resp.status_code == 201, resp.text
        reasons = {
            "amber_alert": "amber_alert",
            "silver_alert": "silver_alert",
            "bolo": "bolo_criminal_investigation",
            "stolen_vehicle": "stolen_vehicle_pending_ncic",
        }
        resp = await self.hotlist.post(
            "/v1/hotlist-entries",
            json={
                "hotlist_id": resp.json()["id"],
                "plate": plate,
                "region": "US-TX",
                "entry_type": entry_type,
                "reason": "Child abducted from school, AMBER 26-0042",
                "manual_reason": reasons[entry_type],
                "manual_reason_text": "Entered from the state AMBER alert bulletin this morning",
                "expires_at": (now() + timedelta(days=2)).isoformat(),
                **extra,
            },
            headers=manager,
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    # --- outbox ---------------------------------------------------------------------------------

    async def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        t = OUTBOX.outbox
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(select(t.c.destination, t.c.envelope).order_by(t.c.seq))
            ).all()
        out = []
        for destination, text in rows:
            env = json.loads(text)
            assert destination == "audit"
            if event_type is None or env["type"] == event_type:
                out.append(env)
        return out


def tomorrow() -> date:
    return (now() + timedelta(days=1)).date()


__all__ = ["CASE", "Peers", "Sharing", "StaticTokens", "bundle_rows", "now", "tomorrow"]
