"""Async database layer: one code path for SQLite (embedded default) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar, cast

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import JSON, CursorResult, DateTime, MetaData, Result, Table, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session, registry
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

from alpr_common.errors import AppError, Unavailable
from alpr_common.jsonenc import dumps

# Stable constraint names, so Alembic migrations name the same thing on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")
# Set on a session by `outbox.enqueue*`: how many events it queued for each destination (a
# Counter), for the relay's wake-up after the commit (`Database.on_outbox_commit`).
OUTBOX_PENDING = "alpr.outbox_pending"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out; SQLite stores naive UTC, PostgreSQL timestamptz."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: the suite stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def service_registry() -> registry:
    """A registry (and metadata) per service, so each migrates only its own tables."""
    return registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class TableModel(SQLModel):
    """What each service's declarative base derives from, in its own registry:

        class Base(TableModel, registry=registry): ...

    A class statement rather than a factory, so mypy sees the models as the classes they are.
    `__table__` is declared for statements on the table itself (bulk inserts, `.c` columns)."""

    __table__: ClassVar[Table]


def rowcount(result: Result[Any]) -> int:
    """The rows an INSERT, UPDATE or DELETE touched. `execute` is typed to return a `Result`;
    for those statements it is a `CursorResult`, which carries the count."""
    return cast(CursorResult[Any], result).rowcount


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` and `sqlite:///` URLs and pick the async driver."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url.split(":///", 1)[1]
    return url


READ_ONLY = "alpr_read_only"
"""Execution option of the read-only sessions (`Database.read_sessionmaker`)."""


def _sqlite_pragmas(engine: AsyncEngine, *, busy_seconds: float) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and BEGIN semantics; take it over,
    # as the SQLAlchemy docs advise, so SQLite behaves like PostgreSQL under the same code.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # Another process holding the write lock (a CLI command): wait this long for it.
        cur.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A transaction that writes takes the write lock at BEGIN (IMMEDIATE), so it waits for
        # it there rather than failing when a read turns into a write. Read-only work begins
        # DEFERRED: it reads a snapshot (WAL) and never holds the lock, so a long read (a chain
        # verification, an index build) does not stop writers.
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


_T = TypeVar("_T")


async def _on_thread(aio: Any, fn: Callable[..., _T], *args: Any) -> _T:
    # aiosqlite's `_execute` runs a function on the connection's own thread (sqlite3 objects
    # belong to the thread that made them): its one way to do several steps in one hop.
    result: _T = await aio._execute(fn, aio._conn, *args)
    return result


def _in_transaction(conn: Any, fn: Callable[[Any], _T]) -> _T:
    """On a sqlite3 connection's own thread: `fn` in one write transaction."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return result


def insert_sql(table: Table, names: Sequence[str]) -> str:
    """A plain INSERT of `names` into `table` with sqlite3's `?` parameters."""
    return (
        f'INSERT INTO "{table.name}" ({", ".join(names)}) '  # noqa: S608 (column names)
        f"VALUES ({', '.join('?' * len(names))})"
    )


_PG_ARRAY_TYPES = {
    "Uuid": "uuid",
    "UUID": "uuid",
    "UTCDateTime": "timestamptz",
    "Float": "float8",
    "Integer": "int4",
    "BigInteger": "int8",
    "Boolean": "bool",
    "Date": "date",
}


def _is_json(table: Table, name: str) -> bool:
    return isinstance(table.c[name].type, JSON)  # JSONB is a JSON


def pg_array_type(table: Table, name: str) -> str:
    """The PostgreSQL array element type in which a column's values travel to an `unnest`
    insert (JSON as text, cast to jsonb in the statement)."""
    return _PG_ARRAY_TYPES.get(type(table.c[name].type).__name__, "text")


_UNNEST_INSERTS: dict[tuple[Table, tuple[str, ...], str], str] = {}


async def pg_insert_rows(
    raw: Any, table: Table, rows: Sequence[Mapping[str, Any]], *, tail: str = ""
) -> list[Any]:
    """INSERT `rows` (each with the same keys) into `table` in ONE statement on the asyncpg
    connection `raw`, each column's values one array parameter that `unnest` turns back into
    rows: one statement for PostgreSQL to plan and run and for SQLAlchemy to skip, where an
    executemany runs one per row. `tail` follows the SELECT (`ON CONFLICT ...`,
    `RETURNING ...`); the rows it returns are returned. Values go as asyncpg takes them;
    JSON columns are serialized here as SQLAlchemy would (`json_serializer`)."""
    if not rows:
        return []
    names = tuple(rows[0])
    key = (table, names, tail)  # the table itself: services' tables may share a name
    sql = _UNNEST_INSERTS.get(key)
    if sql is None:
        arrays = ", ".join(f"${i + 1}::{pg_array_type(table, n)}[]" for i, n in enumerate(names))
        values = ", ".join(f"v.{n}::jsonb" if _is_json(table, n) else f"v.{n}" for n in names)
        sql = _UNNEST_INSERTS[key] = (
            f'INSERT INTO "{table.name}" ({", ".join(names)}) '  # noqa: S608 (column names)
            f"SELECT {values} FROM unnest({arrays}) AS v({', '.join(names)}) {tail}"
        ).rstrip()
    args = [
        [json_serializer(r[n]) for r in rows] if _is_json(table, n) else [r[n] for r in rows]
        for n in names
    ]
    return list(await raw.fetch(sql, *args))


def json_serializer(value: Any) -> str:
    """JSON for JSON columns. PostgreSQL's jsonb refuses the NUL character anywhere, so a NUL
    that reached a payload (a decoded path, a vendor string) becomes U+FFFD instead of a 500."""
    text = dumps(value).decode()
    if "\\u0000" not in text:
        return text
    return dumps(_scrub_nul(value)).decode()


def _scrub_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_scrub_nul(k): _scrub_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_nul(v) for v in value]
    return value


# How long a SQLite writer waits for the write lock (its turn in this process, then another
# process's lock) before its request is answered 503 with Retry-After.
SQLITE_WRITE_WAIT_SECONDS = 10.0


class WriteLockBusy(Unavailable):
    """The database's write lock stayed taken longer than a writer may wait (SQLite): nothing
    was stored; retry after the time the answer's `Retry-After` gives."""


WRITE_BUSY_DETAIL = (
    "the database is busy with other writes; nothing was stored, send the same request again "
    "after the Retry-After delay"
)


def is_lock_timeout(exc: BaseException) -> bool:
    """A SQLite writer that waited out the busy timeout on another process's write lock."""
    return "database is locked" in str(getattr(exc, "orig", exc))


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    pooled: bool = True,
    write_wait_seconds: float = SQLITE_WRITE_WAIT_SECONDS,
    read_only: bool = False,
) -> AsyncEngine:
    """`pooled=False` opens a connection per session: for callers that run on several event
    loops (asyncpg connections belong to the loop that opened them).

    SQLite (file): the engine writers use keeps ONE connection, so the writers of a process
    queue for it in order (SQLAlchemy's pool is an asyncio queue) instead of meeting on the
    database's lock, where SQLite would make them poll and fail after the busy timeout; a
    writer that waits longer than `write_wait_seconds` gets `WriteLockBusy` (503). Readers
    use an engine of their own (`read_only=True`: a pool of connections whose transactions
    begin DEFERRED), so a read never waits behind the writers' queue."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        options: dict[str, Any] = {}
        if pooled and not read_only and ":memory:" not in url and "mode=memory" not in url:
            options = {
                "pool_size": 1,
                "max_overflow": 0,
                "pool_timeout": write_wait_seconds,
                # No ROLLBACK when a connection goes back to the pool (a thread hop per write):
                # sessions and connections end their transactions themselves, and so does
                # `sqlite_write_call`.
                "pool_reset_on_return": None,
            }
        engine = create_async_engine(
            url, connect_args={"timeout": 30}, json_serializer=json_serializer, **options
        )
        _sqlite_pragmas(engine, busy_seconds=write_wait_seconds)
        return engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    # No JIT: the services' queries are short, and compiling one that the planner guessed
    # costly (a partial plate over the current day's partition) takes longer than running it.
    connect_args = {"server_settings": {"jit": "off"}}
    if not pooled:
        return create_async_engine(
            url, poolclass=NullPool, json_serializer=json_serializer, connect_args=connect_args
        )
    # No ping before every checkout (a round trip per request: an eighth of the gateway's CPU).
    # A connection the server dropped (a restart, a failover) fails the one request that meets
    # it, answered 503 to retry (see `app.install_error_handlers`), and SQLAlchemy then discards
    # every connection the pool held, so the next request connects afresh.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        json_serializer=json_serializer,
        connect_args=connect_args,
    )


def is_postgresql(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (a session with no bind: SQLite's tests)."""
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def driver_connection(session: AsyncSession) -> Any:
    """The driver's connection under the session's transaction (asyncpg on PostgreSQL): for
    the statements whose cost is mostly SQLAlchemy's (bulk writes, the relay's claim).

    SQLAlchemy's asyncpg adapter sends BEGIN only before its own first statement, so until then
    the driver's connection is outside any transaction and a statement sent on it commits at
    once: a consumer's claim of an event id then outlived the delivery that failed or died
    before its commit, and the redelivery was taken for a duplicate (an alert lost across a
    hotlist crash). The transaction is begun here, as the adapter would (the same BEGIN, no
    round trip more). A unit of work that is one statement needs no transaction of its own:
    `Database.single_statement`."""
    conn = await (await session.connection()).get_raw_connection()
    raw = conn.driver_connection
    assert raw is not None
    adapted: Any = conn.dbapi_connection
    if getattr(adapted, "_transaction", False) is None:  # the asyncpg adapter, not begun yet
        await adapted._start_transaction()
    return raw


# The server's errors that end or doubt the connection: lost (08), shut down or cancelled (57).
_LINK_ERRORS = (asyncpg.PostgresConnectionError, asyncpg.exceptions.OperatorInterventionError)


def _refused_by_server(raw: Any, exc: BaseException) -> bool:
    """Whether the database answered the statement with an error that leaves its connection
    sound (a constraint, a bad value), raised itself or as the cause of the error raised."""
    refusal = exc if isinstance(exc, asyncpg.PostgresError) else exc.__cause__
    return (
        isinstance(refusal, asyncpg.PostgresError)
        and not isinstance(refusal, _LINK_ERRORS)
        and not raw.is_closed()
    )


class Database:
    """An engine and the sessions made from it; tests bind one to an open transaction."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        bind: AsyncConnection | None = None,
        read_engine: AsyncEngine | None = None,
    ) -> None:
        self.engine = engine
        self._bound = bind is not None
        # `sqlite_records`' bind processors, per table and columns (built once).
        self._processors: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
        # Where work that only reads runs (SQLite: an engine apart from the writers' one
        # connection, see `create_engine`); the same engine otherwise.
        self.read_engine = read_engine or engine
        # Called after any of this database's sessions commits events to the outbox, with how
        # many for each destination (the service's relay wakes: they go out now, not at its
        # next poll). Wired by `app.use_database`.
        self.on_outbox_commit: Callable[[Mapping[str, int]], None] | None = None
        # A session class of this database's own, so its commit hook sees only its sessions.
        session_class = type("DatabaseSession", (Session,), {})
        event.listen(session_class, "after_commit", self._after_commit)
        if bind is None:
            self.sessionmaker = async_sessionmaker(
                engine, expire_on_commit=False, sync_session_class=session_class
            )
            # For work that only reads: on SQLite its transaction begins DEFERRED (see
            # `_sqlite_pragmas`); on PostgreSQL it is an ordinary session.
            self.read_sessionmaker = async_sessionmaker(
                self.read_engine.execution_options(**{READ_ONLY: True}),
                expire_on_commit=False,
                sync_session_class=session_class,
            )
        else:
            # Per-test rollback: every commit becomes a SAVEPOINT release inside the test's
            # outer transaction, which the plugin rolls back at the end.
            self.sessionmaker = async_sessionmaker(
                bind=bind,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
                sync_session_class=session_class,
            )
            self.read_sessionmaker = self.sessionmaker

    def _after_commit(self, session: Session) -> None:
        destinations = session.info.pop(OUTBOX_PENDING, None)
        if destinations and self.on_outbox_commit is not None:
            self.on_outbox_commit(destinations)

    @contextlib.asynccontextmanager
    async def single_statement(self) -> AsyncIterator[Any]:
        """PostgreSQL: the driver's connection (asyncpg) for a unit of work that is one statement,
        its own transaction (no BEGIN, no COMMIT: two round trips fewer, as atomic and durable):
        the gateway's transaction log, ingest's group writes. Taken from the pool without an ORM
        session, whose checkout and commit were a third of such a write's CPU. A connection whose
        statement did not end with the server's answer (lost, cut off, cancelled) is dropped, not
        given back: one PostgreSQL had closed (a restart) would fail every write after it. A
        database bound to a test's transaction gives a session's (a savepoint in it)."""
        if self._bound:
            async with self.sessionmaker() as session:
                yield await driver_connection(session)
                await session.commit()
            return
        async with self.engine.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            try:
                yield raw
            except BaseException as exc:
                if not _refused_by_server(raw, exc):
                    await conn.invalidate()
                raise

    async def insert_now(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """INSERT `rows` as a transaction of their own, committed when this returns: the
        gateway's transaction log. PostgreSQL: one statement (`pg_insert_rows`) on
        `single_statement`. SQLite: one call on the writers' connection
        (`sqlite_write_call`)."""
        if not rows:
            return
        if self.dialect != "sqlite":
            async with self.single_statement() as raw:
                await pg_insert_rows(raw, table, rows)
            return
        names = list(rows[0])
        sql = insert_sql(table, names)
        records = self.sqlite_records(table, names, rows)
        await self.sqlite_write_call(lambda conn: conn.executemany(sql, records))

    def sqlite_records(
        self, table: Table, names: Sequence[str], rows: Sequence[dict[str, Any]]
    ) -> list[tuple[Any, ...]]:
        """`rows` as sqlite3 parameters, each value stored as SQLAlchemy's column type
        stores it (the same bind processing: times, UUIDs, JSON)."""
        key = (table.name, tuple(names))
        processors = self._processors.get(key)
        if processors is None:
            dialect = self.engine.dialect
            # The dialect's own type: a TypeDecorator's bare `bind_processor` skips the SQLite
            # DATETIME format, and sqlite3 would store `2025-03-14 17:31:13` where a session
            # stores `2025-03-14 17:31:13.000000` (text that compares, and sorts, differently).
            processors = [
                table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
            ]
            self._processors[key] = processors
        return [
            tuple(
                value if proc is None else proc(value)
                for proc, value in zip(processors, (row[n] for n in names), strict=True)
            )
            for row in rows
        ]

    async def sqlite_write_call(self, fn: Callable[[Any], _T]) -> _T:
        """Run `fn(sqlite3_connection)` in a write transaction of its own (BEGIN IMMEDIATE ...
        COMMIT, rolled back if it raises), in ONE call on the writers' connection's thread.
        Through SQLAlchemy's aiosqlite adapter each statement costs three hops to that thread
        and back (cursor, execute, close) and a transaction two more; those hops, not SQLite,
        were most of what a small write cost. In the writers' queue like any session; in tests'
        bound databases, inside the test's transaction (a savepoint)."""
        if self._bound:
            async with self.sessionmaker() as session:
                conn = await session.connection()
                raw = await conn.get_raw_connection()
                result = await _on_thread(raw.driver_connection, fn)
                await session.commit()
                return result
        async with self.engine.connect() as conn:  # the writers' queue (see create_engine)
            raw = await conn.get_raw_connection()
            try:
                return await _on_thread(raw.driver_connection, _in_transaction, fn)
            except Exception as exc:
                # sqlite3's own error here, not SQLAlchemy's: the app's handler would not know it.
                if is_lock_timeout(exc):
                    raise WriteLockBusy(WRITE_BUSY_DETAIL) from exc
                raise

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 20,
        write_wait_seconds: float = SQLITE_WRITE_WAIT_SECONDS,
    ) -> Database:
        engine = create_engine(url, pool_size=pool_size, write_wait_seconds=write_wait_seconds)
        read_engine = None
        if engine.dialect.name == "sqlite":
            read_engine = create_engine(url, write_wait_seconds=write_wait_seconds, read_only=True)
        return cls(engine, read_engine=read_engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def bound(self) -> bool:
        """Bound to a test's open transaction (the testing plugin's `db`): work that must run
        outside a transaction (CREATE INDEX CONCURRENTLY) takes its plain form inside it."""
        return self._bound

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.read_engine is not self.engine:
            await self.read_engine.dispose()


@contextlib.asynccontextmanager
async def request_transaction(db: Database) -> AsyncIterator[AsyncSession]:
    """A request's transaction: committed when the block ends, rolled back if it raises (an
    AppError that says so is committed first: a refusal that records something). `get_session`
    is this as a dependency; a route that needs a transaction only on some of its paths opens
    it itself (ingest's reads: single reads are written by the group writer)."""
    async with db.sessionmaker() as session:
        try:
            yield session
            # A session never used has nothing to commit: SQLAlchemy would begin and commit an
            # empty transaction, half the session's cost.
            if session.in_transaction():
                await session.commit()
        except AppError as exc:
            if exc.commit_before_raise and session.in_transaction():
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request. Used with `scope="function"` so the commit happens before
    the response is sent: a failed commit becomes an error answer, never a false 201."""
    async with request_transaction(request.app.state.db) as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for a request that only reads (`Database.read_sessionmaker`): on SQLite it
    never holds the write lock. Rolled back at the end: it has nothing to commit."""
    db: Database = request.app.state.db
    async with db.read_sessionmaker() as session:
        try:
            yield session
        finally:
            await session.rollback()


ReadSessionDep = Annotated[AsyncSession, Depends(get_read_session, scope="function")]
