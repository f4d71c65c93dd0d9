"""Helpers for the ingest tests: a settable clock, camera set-up, posting reads, the outbox."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from alpr_common.db import Database
from alpr_common.testing.plugin import PURPOSE_HEADERS, TokenFactory
from alpr_ingest.models import OUTBOX

# The instant the vendor examples (tests/ingest/fixtures/examples, docs/formats.md) were
# captured, 2025-03-14.
NOW = datetime(2025, 3, 14, 18, 31, 13, tzinfo=UTC)
DOWNTOWN = {"lat": 30.2674, "lon": -97.736}  # 78701 / George in the sample boundaries
SOUTH = {"lat": 30.2467, "lon": -97.7512}  # 78704 / David
REVIEW = {
    "reviewer": "Sgt. R. Alvarez, Auto Theft / PTU",
    "reviewed_on": "2025-03-01",
    "notes": "Arterial on-ramp; citywide coverage map shows no concentration in any area.",
}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class Ingest:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: TokenFactory
    db: Database
    clock: Clock
    cameras: list[str] = field(default_factory=list)

    # --- tokens ---------------------------------------------------------------------------------

    def admin(self) -> dict[str, str]:
        return self.tokens.headers("admin", subject="user:admin1", name="Admin One")

    def camera_client(self, *cameras: str) -> dict[str, str]:
        return self.tokens.headers("camera", cameras=tuple(cameras or self.cameras))

    def investigator(self, case: str | None = None, **kwargs: Any) -> dict[str, str]:
        headers = self.tokens.headers(
            "investigator", purpose=True, subject="user:inv1", name="Det. Ines Vega", **kwargs
        )
        if case is not None:
            headers["X-ALPR-Case"] = case
        return headers

    # --- set-up ---------------------------------------------------------------------------------

    async def camera(
        self,
        camera_id: str | None = None,
        *,
        camera_type: str = "trailer",
        keys: tuple[str, ...] = (),
        vendor: str = "native",
        location: dict[str, float] | None = None,
        review: bool = True,
        **extra: Any,
    ) -> dict[str, Any]:
        camera_id = camera_id or f"cam-{uuid.uuid4().hex[:8]}"
        body: dict[str, Any] = {
            "id": camera_id,
            "name": f"Camera {camera_id}",
            "vendor": vendor,
            "camera_type": camera_type,
            "vendor_keys": list(keys),
            **extra,
        }
        if camera_type != "vehicle":
            body["location"] = location or DOWNTOWN
        if camera_type == "fixed" and review:
            body["placement_review"] = REVIEW
        resp = await self.client.post("/v1/cameras", json=body, headers=self.admin())
        assert resp.status_code == 201, resp.text
        self.cameras.append(camera_id)
        return resp.json()

    def read(self, camera: str, plate: str = "ABC1234", **extra: Any) -> dict[str, Any]:
        captured = extra.pop("captured_at", self.clock.now - timedelta(seconds=5))
        if isinstance(captured, datetime):
            captured = captured.isoformat()
        return {"plate": plate, "captured_at": captured, "camera": camera, **extra}

    async def post(
        self, reads: list[dict[str, Any]], *, atomic: bool = False, headers: Any = None
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/reads",
            json={"reads": reads, "atomic": atomic},
            headers=headers or self.camera_client(),
        )

    async def search(self, headers: dict[str, str] | None = None, **params: Any) -> httpx.Response:
        return await self.client.get(
            "/v1/reads", params=params, headers=headers or self.investigator()
        )

    # --- outbox ---------------------------------------------------------------------------------

    async def events(self, event_type: str | None = None, destination: str | None = None) -> list:
        t = OUTBOX.outbox
        async with self.db.sessionmaker() as session:
            rows = (
                await session.execute(select(t.c.destination, t.c.envelope).order_by(t.c.seq))
            ).all()
        out = []
        for dest, text in rows:
            env = json.loads(text)
            if event_type is not None and env["type"] != event_type:
                continue
            if destination is not None and dest != destination:
                continue
            out.append(env | {"destination": dest})
        return out


__all__ = ["DOWNTOWN", "NOW", "PURPOSE_HEADERS", "REVIEW", "SOUTH", "Clock", "Ingest"]
