"""Reading the transaction log back for auditors (344.4(d), 344.6(c)): its entries, and the
gateway's requests joined with their outcomes as transactions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_audit import repository
from alpr_audit.errors import LogEntryNotFound
from alpr_audit.schemas import (
    LogEntryQuery,
    LogEntryRead,
    Page,
    TransactionQuery,
    TransactionRead,
)


def _entry_read(row: Row[Any]) -> LogEntryRead:
    m = row._mapping
    return LogEntryRead(
        seq=m["seq"],
        event_id=m["event_id"],
        source=m["source"],
        type=m["type"],
        subject=m["subject"],
        occurred_at=m["occurred_at"],
        recorded_at=m["recorded_at"],
        request_id=m["request_id"],
        status=m["status"],
        flags=_split_flags(m["flags"]),
        problem=m["problem"],
        data=m["data"] if isinstance(m["data"], dict) else {"value": m["data"]},
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )


def _split_flags(flags: str | None) -> list[str]:
    return [f for f in (flags or "").split(",") if f]


def _str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) else None


def _int(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    return value if type(value) is int else None


def _float(data: Mapping[str, Any], key: str) -> float | None:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _str_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key)
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


async def list_log_entries(session: AsyncSession, *, query: LogEntryQuery) -> Page[LogEntryRead]:
    rows, more, total = await repository.list_entries(session, query)
    return query.page_params().answer([_entry_read(r) for r in rows], more, total)


async def get_log_entry(session: AsyncSession, *, seq: int) -> LogEntryRead:
    row = await repository.entry_by_seq(session, seq)
    if row is None:
        raise LogEntryNotFound(f"no log entry with seq {seq}")
    return _entry_read(row)


def _transaction_read(row: Row[Any]) -> TransactionRead:
    m = row._mapping
    req: Mapping[str, Any] = m["data"] if isinstance(m["data"], dict) else {}
    resp: Mapping[str, Any] = m["resp_data"] if isinstance(m["resp_data"], dict) else {}
    return TransactionRead(
        request_id=m["request_id"],
        request_seq=m["seq"],
        response_seq=m["resp_seq"],
        requested_at=m["occurred_at"],
        subject=m["subject"],
        roles=_str_list(req, "roles"),
        source_address=_str(req, "source_address"),
        method=_str(req, "method"),
        path=_str(req, "path"),
        query=_str(req, "query"),
        purpose=_str(req, "purpose"),
        case_number=_str(req, "case_number"),
        reason=_str(req, "reason"),
        criminal_nexus=_str(req, "criminal_nexus"),
        flags=_split_flags(m["flags"]),
        status=m["resp_status"],
        bytes=_int(resp, "bytes"),
        latency_ms=_float(resp, "latency_ms"),
        refused_reason=_str(resp, "refused_reason"),
    )


async def list_transactions(
    session: AsyncSession, *, query: TransactionQuery
) -> Page[TransactionRead]:
    rows, more, total = await repository.list_transactions(session, query)
    return query.page_params().answer([_transaction_read(r) for r in rows], more, total)
