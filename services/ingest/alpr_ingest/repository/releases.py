"""Queries of the release packages and preservation holds built for the sharing service: the
live reads of named plates (and cameras) in a window, whole rows or written as CSV. PostgreSQL:
one `COPY (SELECT ...) TO STDOUT`, streamed to the caller's writer."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from alpr_common.db import driver_connection, is_postgresql
from alpr_ingest.models import READ_TABLE
from alpr_ingest.repository.reads import READS


def _scope_conditions(
    *, plates: Sequence[str], camera_ids: Sequence[str], lo: datetime, hi: datetime
) -> list[ColumnElement[bool]]:
    c = READS.c
    conditions: list[ColumnElement[bool]] = [c.captured_at >= lo, c.captured_at <= hi]
    if plates:
        conditions.append(c.plate.in_(list(plates)))
    if camera_ids:
        conditions.append(c.camera_id.in_(list(camera_ids)))
    return conditions


async def reads_in_scope(
    session: AsyncSession,
    *,
    plates: Sequence[str],
    camera_ids: Sequence[str],
    lo: datetime,
    hi: datetime,
) -> list[Any]:
    """Live reads of the plates (and cameras) captured between lo and hi, whole rows."""
    rows = await session.execute(
        select(READS)
        .where(*_scope_conditions(plates=plates, camera_ids=camera_ids, lo=lo, hi=hi))
        .order_by(READS.c.captured_at, READS.c.read_id)
    )
    return list(rows)


def _csv_value(value: Any) -> Any:
    # The text PostgreSQL's COPY writes, so a bundle reads the same from either backend.
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        if value.microsecond:
            text += f".{value.microsecond:06d}".rstrip("0")
        return text + "+00"
    return value


async def write_release_csv(
    session: AsyncSession,
    write: Callable[[bytes], None],
    *,
    fields: Sequence[str],
    plates: Sequence[str],
    camera_ids: Sequence[str],
    lo: datetime,
    hi: datetime,
) -> int:
    """Write the scope's reads, `fields` only, as CSV with a header to `write`; return the count.
    PostgreSQL: one `COPY (SELECT ...) TO STDOUT`, streamed. `fields` are checked names."""
    columns = [READS.c[f] for f in fields]
    if is_postgresql(session):
        raw = await driver_connection(session)
        # Times in UTC whatever the server's zone, as the SQLite path writes them.
        await raw.execute("SET LOCAL timezone = 'UTC'")
        where = ["captured_at >= $1", "captured_at <= $2"]
        args: list[Any] = [lo, hi]
        if plates:
            args.append(list(plates))
            where.append(f"plate = ANY(${len(args)}::text[])")
        if camera_ids:
            args.append(list(camera_ids))
            where.append(f"camera_id = ANY(${len(args)}::text[])")
        query = (
            f"SELECT {', '.join(fields)} FROM {READ_TABLE} "  # noqa: S608 (checked names)
            f"WHERE {' AND '.join(where)} ORDER BY captured_at, read_id"
        )

        async def sink(chunk: bytes) -> None:
            write(chunk)

        status = await raw.copy_from_query(query, *args, output=sink, format="csv", header=True)
        return int(str(status).rsplit(" ", 1)[-1])
    rows = await session.execute(
        select(*columns)
        .where(*_scope_conditions(plates=plates, camera_ids=camera_ids, lo=lo, hi=hi))
        .order_by(READS.c.captured_at, READS.c.read_id)
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    count = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        count += 1
    write(buffer.getvalue().encode())
    return count
