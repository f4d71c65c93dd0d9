"""Pooled connections are not pinged before use: one the server dropped fails the single request
that meets it (answered 503, retryable), and the pool then reconnects."""

import secrets

import asyncpg
import httpx
import pytest
from asyncpg.exceptions import InternalClientError
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, Table, text
from sqlalchemy.exc import DBAPIError

from alpr_common.app import install_error_handlers
from alpr_common.db import Database, create_engine
from alpr_common.errors import problem_type
from alpr_common.testing.plugin import pg_admin_url


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_a_dropped_connection_fails_once_then_the_pool_reconnects(db_backend):
    # The plugin's backend fixture: skipped without PostgreSQL locally, a failure in CI.
    engine = create_engine(pg_admin_url(), pool_size=2)
    admin = create_engine(pg_admin_url(), pooled=False)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        async with admin.connect() as conn:  # a restart, as the pooled connection sees it
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError) as lost:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        assert lost.value.connection_invalidated
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await engine.dispose()
        await admin.dispose()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_a_single_statement_write_on_a_dropped_connection_fails_then_writes_on_a_new_one(
    db_backend,
):
    """`Database.single_statement` (the gateway's transaction log, ingest's group writes) works
    on the driver's connection, outside an ORM session: a connection lost under it is dropped
    from the pool, so the write that failed is retried on a new connection and the rows land
    once; a statement the server refuses leaves its connection in the pool."""
    engine = create_engine(pg_admin_url(), pool_size=1)
    admin = create_engine(pg_admin_url(), pooled=False)
    table = Table(
        f"insert_now_{secrets.token_hex(4)}", MetaData(), Column("n", Integer, primary_key=True)
    )
    db = Database(engine)

    async def backend() -> int:
        async with db.single_statement() as raw:
            return int(await raw.fetchval("SELECT pg_backend_pid()"))

    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
        await db.insert_now(table, [{"n": 1}])
        pid = await backend()
        with pytest.raises(asyncpg.UniqueViolationError):
            await db.insert_now(table, [{"n": 1}])
        assert await backend() == pid  # refused, not lost: the same connection
        async with admin.connect() as conn:  # a restart, as the pooled connection sees it
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        # What the driver raises depends on when it sees the server's goodbye.
        with pytest.raises((asyncpg.InterfaceError, asyncpg.PostgresError, InternalClientError)):
            await db.insert_now(table, [{"n": 2}])
        await db.insert_now(table, [{"n": 2}, {"n": 3}])
        assert await backend() != pid
        async with engine.connect() as conn:
            stored = (await conn.execute(table.select().order_by(table.c.n))).scalars().all()
        assert stored == [1, 2, 3]
    finally:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.drop_all)
        await engine.dispose()
        await admin.dispose()


async def test_a_lost_database_connection_is_answered_503_to_retry():
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/lost")
    async def lost() -> None:
        raise DBAPIError("SELECT 1", {}, ConnectionResetError("gone"), connection_invalidated=True)

    @app.get("/broken")
    async def broken() -> None:
        raise DBAPIError("SELECT 1", {}, ValueError("bad"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        resp = await client.get("/lost")
        assert resp.status_code == 503
        assert resp.json()["type"] == problem_type("Unavailable")
        assert "retry" in resp.json()["detail"]
        assert (await client.get("/broken")).status_code == 500


async def test_a_database_that_refuses_new_connections_is_answered_503_not_500(tmp_path):
    """ "sorry, too many clients already" (SQLSTATE 53300), or a server that cannot be reached:
    a dependency that is down, so 503 with Retry-After, never a 500."""

    class TooManyClients(Exception):
        sqlstate = "53300"

    app = FastAPI()
    install_error_handlers(app)
    # A real connection attempt to a port nobody listens on (OSError under the driver's error).
    engine = create_engine("postgresql+asyncpg://nobody@127.0.0.1:9/none", pool_size=1)

    @app.get("/full")
    async def full() -> None:
        raise DBAPIError("connect", {}, TooManyClients("sorry, too many clients already"))

    @app.get("/unreachable")
    async def unreachable() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        for path in ("/full", "/unreachable"):
            resp = await client.get(path)
            assert resp.status_code == 503, (path, resp.text)
            assert resp.headers["retry-after"]
            assert resp.json()["type"] == problem_type("Unavailable")
    await engine.dispose()
