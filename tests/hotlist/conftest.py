"""Fixtures for the hotlist tests: the app with its background workers off (tests drive the
index, back-match and stream by hand), helpers that create lists and entries and post reads as
ingest's outbox relay would, a stub for ingest's back-match, and the audit events queued.
(Tests run with --import-mode=importlib, so helpers reach them as fixtures, not imports.)"""

from __future__ import annotations

import asyncio
import json
import types
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from alpr_hotlist.alerts.index import canonical
from alpr_hotlist.main import SPEC
from alpr_hotlist.models import OUTBOX
from alpr_hotlist.settings import HotlistSettings

FIXTURES = Path(__file__).parent / "fixtures"

MANAGER = "hotlist_manager"
RTCC = "rtcc_operator"


@pytest.fixture
def service_spec():
    return SPEC


@pytest.fixture
def app_settings(migrated) -> HotlistSettings:
    return HotlistSettings(
        environment="test",
        run_relay=False,
        run_workers=False,
        database_url=migrated.url,
        stream_heartbeat_seconds=0.3,
        # The test database is one connection: the stream must not poll it while a request
        # runs, so tests that need the poll (another replica's alerts) shorten it themselves.
        stream_poll_seconds=60,
    )


def read(plate: str, **overrides: Any) -> dict[str, Any]:
    """A read as ingest's `ingest.reads` event carries it."""
    body = {
        "read_id": str(uuid.uuid4()),
        "plate": plate,
        "region": "US-TX",
        "captured_at": datetime.now(UTC).isoformat(),
        "camera_id": "cam-lamar-01",
        "camera_type": "fixed",
        "zip_code": "78704",
        "sector": "DAVID",
        "lat": 30.25,
        "lon": -97.76,
        "confidence": 0.93,
        "candidates": [],
        "updated": False,
    }
    body.update(overrides)
    return body


def reads_event(reads: list[dict[str, Any]], event_id: str | None = None) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": event_id or str(uuid.uuid4()),
        "source": "ingest",
        "type": "ingest.reads",
        "time": datetime.now(UTC).isoformat(),
        "data": {"reads": reads},
    }


class Helpers:
    def __init__(self, client: httpx.AsyncClient, tokens: Any, app: Any) -> None:
        self.client = client
        self.tokens = tokens
        self.app = app
        self.manager = tokens.headers(MANAGER, subject="user:mgr-1", name="Hotlist Manager")
        self.rtcc = tokens.headers(RTCC, subject="user:rtcc-1", name="RTCC Operator", purpose=True)
        self.service = tokens.headers("service")
        self.read = read
        self.reads_event = reads_event

    async def hotlist(self, name: str | None = None, **extra: Any) -> dict[str, Any]:
        resp = await self.client.post(
            "/v1/hotlists",
            json={"name": name or f"list-{uuid.uuid4().hex[:6]}", "source": "agency", **extra},
            headers=self.manager,
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    def entry_body(self, hotlist_id: str, plate: str, **extra: Any) -> dict[str, Any]:
        body = {
            "hotlist_id": hotlist_id,
            "plate": plate,
            "region": "US-TX",
            "entry_type": "stolen_vehicle",
            "reason": "Stolen vehicle report 26-0001234",
            "manual_reason": "stolen_vehicle_pending_ncic",
            "manual_reason_text": "Owner reported theft this morning, NCIC entry pending",
            "expires_at": (datetime.now(UTC) + timedelta(days=7)).isoformat(),
        }
        body.update(extra)
        return body

    async def entry(
        self, hotlist_id: str, plate: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> dict[str, Any]:
        resp = await self.client.post(
            "/v1/hotlist-entries",
            json=self.entry_body(hotlist_id, plate, **extra),
            headers=headers or self.manager,
        )
        assert resp.status_code == 201, resp.text
        return resp.json()

    async def post_reads(self, reads: list[dict[str, Any]], event_id: str | None = None):
        resp = await self.client.post(
            "/v1/events", json={"events": [reads_event(reads, event_id)]}, headers=self.service
        )
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def alerts(self, **params: Any) -> list[dict[str, Any]]:
        resp = await self.client.get("/v1/alerts", params=params, headers=self.rtcc)
        assert resp.status_code == 200, resp.text
        return resp.json()["items"]

    async def alert(self, alert_id: str) -> dict[str, Any]:
        resp = await self.client.get(f"/v1/alerts/{alert_id}", headers=self.rtcc)
        assert resp.status_code == 200, resp.text
        return resp.json()

    async def import_file(
        self, hotlist_id: str, fmt: str, data: bytes, **params: Any
    ) -> httpx.Response:
        return await self.client.post(
            "/v1/hotlist-imports",
            params={"hotlist_id": hotlist_id, "format": fmt, **params},
            content=data,
            headers={**self.manager, "Content-Type": "application/octet-stream"},
        )

    async def audit_events(self, prefix: str = "hotlist.") -> list[dict[str, Any]]:
        async with self.app.state.db.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(OUTBOX.outbox.c.envelope, OUTBOX.outbox.c.destination).order_by(
                        OUTBOX.outbox.c.seq
                    )
                )
            ).all()
        events = []
        for envelope, destination in rows:
            envelope = json.loads(envelope)
            if envelope["type"].startswith(prefix):
                assert destination == "audit"
                events.append(envelope)
        return events


@pytest.fixture
def hl(client, tokens, app) -> Helpers:
    return Helpers(client, tokens, app)


class IngestStub:
    """Ingest's internal back-match, answering from a list of reads (or failing on demand)."""

    def __init__(self) -> None:
        self.reads: list[dict[str, Any]] = []
        self.fail = False
        self.calls: list[dict[str, Any]] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/token":
            return httpx.Response(200, json={"access_token": "stub", "expires_in": 900})
        assert request.url.path == "/v1/reads/back-match"
        assert request.headers["authorization"] == "Bearer stub"
        body = json.loads(request.content)
        self.calls.append(body)
        if self.fail:
            return httpx.Response(503, json={"error": "Unavailable", "detail": "down"})
        since = datetime.fromisoformat(body["since"])
        fold = canonical if body.get("confusable") else str
        keys = {fold(p) for p in body["plates"]}
        found = [
            r
            for r in self.reads
            if fold(r["plate"]) in keys and datetime.fromisoformat(r["captured_at"]) >= since
        ]
        return httpx.Response(200, json={"reads": found})


@pytest.fixture
def ingest(app) -> IngestStub:
    stub = IngestStub()
    app.state.http = httpx.AsyncClient(transport=httpx.MockTransport(stub.handler))
    app.state.tokens.client = app.state.http
    app.state.tokens.client_id = "hotlist"
    return stub


@pytest.fixture
def fixtures() -> types.SimpleNamespace:
    return types.SimpleNamespace(path=FIXTURES, read=lambda name: (FIXTURES / name).read_bytes())


class SSE:
    """Drives the app's stream route as an ASGI server would, so a test can read events while
    the response is still open (httpx's ASGI transport waits for the whole body)."""

    def __init__(self, app: Any, path: str, headers: dict[str, str], query: str = "") -> None:
        self.app = app
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 5000),
            "server": ("test", 80),
        }
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self.disconnect = asyncio.Event()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.buffer = ""
        self.started = asyncio.Event()
        self._sent = False
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self._sent:
            self._sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.disconnect.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            self.started.set()
        elif message["type"] == "http.response.body":
            await self.chunks.put(message.get("body", b""))
            if not message.get("more_body", False):
                await self.chunks.put(b"")

    async def __aenter__(self) -> SSE:
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))
        await asyncio.wait_for(self.started.wait(), 5)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.disconnect.set()
        assert self.task is not None
        try:
            await asyncio.wait_for(self.task, 5)
        except (asyncio.CancelledError, TimeoutError):
            self.task.cancel()

    async def message(self, wait: float = 5.0) -> dict[str, str]:
        """The next SSE message (comments included as {"comment": ...})."""
        deadline = asyncio.get_running_loop().time() + wait
        while "\n\n" not in self.buffer:
            left = deadline - asyncio.get_running_loop().time()
            chunk = await asyncio.wait_for(self.chunks.get(), max(left, 0.001))
            if chunk == b"" and self.task is not None and self.task.done():
                raise EOFError("stream closed")
            self.buffer += chunk.decode()
        raw, self.buffer = self.buffer.split("\n\n", 1)
        fields: dict[str, str] = {}
        for line in raw.split("\n"):
            name, _, value = line.partition(":")
            key = name or "comment"
            fields[key] = (fields[key] + "\n" if key in fields else "") + value.lstrip(" ")
        return fields

    async def alert(self, wait: float = 5.0) -> dict[str, Any]:
        """The next alert event, skipping comments and heartbeats."""
        while True:
            fields = await self.message(wait)
            if fields.get("event") == "alert":
                return {"event_id": int(fields["id"]), **json.loads(fields["data"])}


@pytest.fixture
def sse(app):
    def open_stream(headers: dict[str, str], query: str = "", target: Any = None) -> SSE:
        return SSE(target or app, "/v1/alerts/stream", headers, query)

    return open_stream
