"""One pagination style (docs/conventions.md): `limit` + opaque `cursor` in, `items` + `next` out;
keyset pages stay exact while rows are added, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from alpr_common.db import UTCDateTime
from alpr_common.pagination import (
    InvalidCursor,
    PageParams,
    decode_cursor,
    encode_cursor,
    keyset_page,
    list_page,
    offset_page,
)
from alpr_common.testing.plugin import pg_admin_url, require_postgresql

T0 = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def table_session(request, tmp_path):
    metadata = MetaData()
    table = Table(
        f"page_test_{uuid.uuid4().hex[:8]}",
        metadata,
        Column("id", String(36), primary_key=True),
        Column("at", UTCDateTime(), nullable=False),
        Column("n", Integer, nullable=False),
    )
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/p.db"
    else:
        require_postgresql()
        url = pg_admin_url().replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    try:
        async with async_sessionmaker(engine)() as session:
            # Pairs of rows share a time: the id breaks the tie.
            rows = [
                {"id": f"r{i:03}", "at": T0 + timedelta(minutes=i // 2), "n": i} for i in range(25)
            ]
            await session.execute(insert(table), rows)
            await session.commit()
            yield table, session
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await engine.dispose()


async def test_keyset_pages_walk_every_row_once_newest_first(table_session):
    table, session = table_session
    page = PageParams(limit=10, query=(("kind", "x"),))
    seen: list[str] = []
    pages = 0
    while True:
        rows, more, total = await keyset_page(
            session, select(table), key=(table.c.at, table.c.id), page=page, count=True
        )
        assert total == 25 + pages  # one row added per page turned
        seen += [r.id for r in rows]
        pages += 1
        answer = page.answer([r.id for r in rows], more, total)
        if more is None:
            assert answer.next is None
            break
        params = dict(parse_qsl(answer.next.removeprefix("?")))
        assert params == {"kind": "x", "limit": "10", "cursor": more}
        # A row added ahead of the cursor does not shift the next page.
        await session.execute(
            insert(table).values(id=f"new{pages}", at=T0 + timedelta(days=1), n=0)
        )
        page = PageParams(limit=10, cursor=more, query=page.query)
    assert pages == 3
    assert seen == [f"r{i:03}" for i in reversed(range(25))]


async def test_keyset_ascending_and_offset_pages_agree(table_session):
    table, session = table_session
    stmt = select(table).order_by(table.c.n)
    asc, off = [], []
    cursor_k = cursor_o = None
    while True:
        rows, cursor_k, _ = await keyset_page(
            session, select(table), key=(table.c.n,), page=PageParams(7, cursor_k), descending=False
        )
        asc += [r.n for r in rows]
        if cursor_k is None:
            break
    while True:
        rows, cursor_o, total = await offset_page(session, stmt, page=PageParams(7, cursor_o))
        assert total == 25
        off += [r.n for r in rows]
        if cursor_o is None:
            break
    assert asc == off == list(range(25))


@pytest.mark.parametrize(
    "cursor", ["", "!!!", encode_cursor([1, 2]), encode_cursor([{"x": 1}]), "eyJ0Ijoi"]
)
def test_foreign_cursors_are_refused_as_400(cursor):
    with pytest.raises(InvalidCursor) as err:
        decode_cursor(cursor, 1)
    assert err.value.status_code == 400


def test_cursor_round_trips_times_and_list_pages():
    assert decode_cursor(encode_cursor([T0, "a", 3]), 3) == [T0, "a", 3]
    items, more, total = list_page(list(range(5)), page=PageParams(limit=2))
    assert (items, total) == ([0, 1], 5)
    items, more, _ = list_page(list(range(5)), page=PageParams(limit=2, cursor=more))
    items, more, _ = list_page(list(range(5)), page=PageParams(limit=2, cursor=more))
    assert (items, more) == ([4], None)


def test_query_model_pages_carry_their_filters_into_next():
    from alpr_common.pagination import PageQuery

    class Things(PageQuery):
        status: str | None = None
        active: bool | None = None
        ids: list[int] = []

    q = Things.model_validate({"status": "new", "active": True, "ids": [1, 2], "limit": 2})
    page = q.page_params()
    assert page.limit == 2 and page.cursor is None
    link = page.answer([1, 2], encode_cursor([9])).next
    assert link is not None
    assert parse_qsl(link.removeprefix("?")) == [
        ("status", "new"),
        ("active", "true"),
        ("ids", "1"),
        ("ids", "2"),
        ("limit", "2"),
        ("cursor", encode_cursor([9])),
    ]


async def test_keyset_pages_in_a_mixed_order(table_session):
    """Newest first, then by id ascending (a search's order): every row once, in that order."""
    table, session = table_session
    want = [
        r.id
        for r in (
            await session.execute(select(table).order_by(table.c.at.desc(), table.c.id))
        ).all()
    ]
    got: list[str] = []
    cursor = None
    while True:
        rows, cursor, _ = await keyset_page(
            session,
            select(table),
            key=(table.c.at, table.c.id),
            page=PageParams(4, cursor),
            descending=(True, False),
        )
        got += [r.id for r in rows]
        if cursor is None:
            break
    assert got == want and len(got) == 25


async def test_a_cursor_of_another_list_is_refused_not_bound(table_session):
    table, session = table_session
    naive = datetime(2026, 12, 1)
    for foreign in ([5, "r001"], ["2026-12-01", "r001"], [None, "r001"], [T0, 7], [naive, "r"]):
        with pytest.raises(InvalidCursor):
            await keyset_page(
                session,
                select(table),
                key=(table.c.at, table.c.id),
                page=PageParams(3, encode_cursor(foreign)),
            )
