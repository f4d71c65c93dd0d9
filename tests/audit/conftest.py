"""Fixtures for the audit tests: events as the gateway and access send them, posting them, and
tampering with the log as an insider with database rights would. (Tests run with
--import-mode=importlib, so helpers reach them as fixtures, not imports.)"""

from __future__ import annotations

import types
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit.main import SPEC
from alpr_audit.settings import AuditSettings

AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "AUD-2026-Q4",
    "X-ALPR-Reason": "quarterly audit of ALPR transactions (GO 344.6)",
}

BASE_TIME = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)


def event(
    type_: str,
    data: dict[str, Any],
    *,
    source: str | None = None,
    subject: str | None = None,
    time: datetime | None = None,
    id_: str | None = None,
) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": id_ or str(uuid.uuid4()),
        "source": source or type_.split(".", 1)[0],
        "type": type_,
        "time": (time or BASE_TIME).isoformat(),
        "subject": subject,
        "data": data,
    }


def gateway_pair(
    *,
    subject: str = "user:7",
    path: str = "/v1/ingest/reads",
    query: str = "plate=ABC1234",
    status: int = 200,
    flags: list[str] | None = None,
    minute: int = 0,
    purpose: str = "criminal_investigation",
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A gateway.request and its gateway.response, sharing a request id."""
    rid = uuid.uuid4().hex[:16]
    at = BASE_TIME + timedelta(minutes=minute)
    request = event(
        "gateway.request",
        {
            "request_id": rid,
            "time": at.isoformat(),
            "subject": subject,
            "roles": ["investigator"],
            "source_address": "10.0.0.5",
            "method": "GET",
            "path": path,
            "query": query,
            "purpose": purpose,
            "case_number": "2026-0001234",
            "reason": "burglary suspect vehicle seen leaving the scene",
            "criminal_nexus": None,
            "flags": flags or [],
        },
        subject=subject,
        time=at,
    )
    response = event(
        "gateway.response",
        {
            "request_id": rid,
            "status": status,
            "bytes": 512,
            "latency_ms": 12.5,
            "refused_reason": None if status < 400 else "refused",
        },
        subject=subject,
        time=at + timedelta(milliseconds=13),
    )
    return request, response


def login_attempt(outcome: str = "failure", username: str = "jdoe") -> dict[str, Any]:
    return event(
        "access.login_attempt",
        {
            "username": username,
            "subject": "user:7",
            "outcome": outcome,
            "reason": "bad password" if outcome != "success" else None,
            "source_address": "10.0.0.9",
        },
        subject="user:7",
    )


async def post_events(
    client: httpx.AsyncClient, headers: dict[str, str], events: list[dict[str, Any]]
) -> dict[str, int]:
    resp = await client.post("/v1/events", json={"events": events}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


async def tamper(session: AsyncSession, *statements: str, **params: Any) -> None:
    """Run raw SQL against log_entry with its append-only triggers lifted, as an insider with
    rights over the database could."""
    pg = session.bind.dialect.name == "postgresql"
    if pg:
        await session.execute(text("ALTER TABLE log_entry DISABLE TRIGGER USER"))
    else:
        await session.execute(text("DROP TRIGGER log_entry_no_update"))
        await session.execute(text("DROP TRIGGER log_entry_no_delete"))
    for statement in statements:
        await session.execute(text(statement), params)
    if pg:
        await session.execute(text("ALTER TABLE log_entry ENABLE TRIGGER USER"))
    else:
        for op in ("UPDATE", "DELETE"):
            await session.execute(
                text(
                    f"CREATE TRIGGER log_entry_no_{op.lower()} BEFORE {op} ON log_entry "
                    "BEGIN SELECT RAISE(ABORT, 'log_entry is append-only (GO 344.4(d))'); END"
                )
            )


def json_param(session: AsyncSession) -> str:
    """How a raw statement writes a JSON parameter into log_entry.data on this backend."""
    return "CAST(:data AS jsonb)" if session.bind.dialect.name == "postgresql" else ":data"


@pytest.fixture
def service_spec():
    return SPEC


@pytest.fixture
def checkpoint_dir(tmp_path: Path) -> Path:
    return tmp_path / "checkpoints"


@pytest.fixture
def app_settings(migrated, checkpoint_dir: Path, tmp_path: Path) -> AuditSettings:
    return AuditSettings(
        environment="test",
        run_relay=False,
        database_url=migrated.url,
        checkpoint_dir=checkpoint_dir,
        checkpoint_key_file=tmp_path / "keys" / "checkpoint.pem",
        checkpoint_interval_seconds=0,
    )


@pytest.fixture
def service_headers(tokens) -> dict[str, str]:
    return tokens.headers("service")


@pytest.fixture
def auditor_headers(tokens) -> dict[str, str]:
    """A City Auditor with the purpose headers an audit review sends."""
    return {**tokens.headers("city_auditor"), **AUDIT_PURPOSE}


@pytest.fixture
def audit_purpose() -> dict[str, str]:
    return dict(AUDIT_PURPOSE)


@pytest.fixture
def ev() -> types.SimpleNamespace:
    """Event builders: ev.event, ev.gateway_pair, ev.login_attempt, ev.BASE_TIME."""
    return types.SimpleNamespace(
        event=event, gateway_pair=gateway_pair, login_attempt=login_attempt, BASE_TIME=BASE_TIME
    )


@pytest.fixture
def send(client: httpx.AsyncClient, service_headers: dict[str, str]):
    """`await send([events])`: post a batch to the intake as a service."""

    async def _send(events: list[dict[str, Any]]) -> dict[str, int]:
        return await post_events(client, service_headers, events)

    return _send


@pytest.fixture
def insider() -> types.SimpleNamespace:
    """insider.tamper(session, *sql, **params), insider.json_param(session)."""
    return types.SimpleNamespace(tamper=tamper, json_param=json_param)
