"""The suite's pytest plugin: every service's tests on SQLite and PostgreSQL with real Alembic
migrations and per-test rollback, an httpx client over ASGI, tokens for any role, and the
`policy("<clause>")` marker that the compliance report is built from.

A service's tests/conftest.py provides one fixture, `service_spec`, and gets `db`, `app`,
`client`, `tokens` and `purpose_headers`. PostgreSQL comes from ALPR_TEST_PG_URL (default: the
local server). Without it the PostgreSQL half is skipped and the run says so loudly; with CI=true
a missing PostgreSQL is an error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import json
import os
import tomllib
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from alpr_common.app import ServiceSpec, use_database
from alpr_common.auth import principal_claims
from alpr_common.db import Database, create_engine
from alpr_common.jwt import JWKSCache, KeyRing, TokenVerifier
from alpr_common.migrations import upgrade
from alpr_common.roles import MACHINE_ROLES, Role
from alpr_common.settings import BaseServiceSettings
from alpr_common.status import (
    PrincipalStatus,
    PrincipalStatusCheck,
    StaticStatus,
    StatusSource,
)

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ISSUER = "alpr-access"
AUDIENCE = "alpr"
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pg_admin_url() -> str:
    return os.environ.get("ALPR_TEST_PG_URL", DEFAULT_PG_URL)


def unavailable(message: str) -> NoReturn:
    """A service the test needs is missing: a failure in CI (`CI=true`), where every test must
    run, a skip on a developer's machine."""
    if in_ci():
        pytest.fail(f"CI requires it: {message}")
    pytest.skip(message)


def require_postgresql() -> None:
    """The test PostgreSQL answers, or `unavailable`."""
    reason = pg_unavailable_reason()
    if reason is not None:
        unavailable(f"PostgreSQL at {pg_admin_url()} is unavailable: {reason}")


_pg_state: dict[str, Any] = {}


def pg_unavailable_reason() -> str | None:
    """None when the test PostgreSQL answers; otherwise why not (checked once per process)."""
    if "reason" not in _pg_state:

        async def probe() -> None:
            import asyncpg

            conn = await asyncpg.connect(pg_admin_url(), timeout=5)
            await conn.close()

        try:
            with concurrent.futures.ThreadPoolExecutor(1) as pool:
                pool.submit(asyncio.run, probe()).result(timeout=15)
            _pg_state["reason"] = None
        except Exception as exc:  # any failure means "not available", reported verbatim
            _pg_state["reason"] = f"{type(exc).__name__}: {exc}"
    return _pg_state["reason"]


# ---------------------------------------------------------------------------- policy marker


def _project_root(config: pytest.Config) -> Path:
    return Path(str(config.rootpath))


def load_clauses(root: Path) -> list[dict[str, Any]]:
    with (root / "policy" / "clauses.toml").open("rb") as f:
        return list(tomllib.load(f)["clause"])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--policy-report",
        default=None,
        help="write a JSON file of each test's policy clauses and outcome (make compliance)",
    )


# The clause ids of policy/clauses.toml (None without the file), read once per session.
_CLAUSE_IDS = pytest.StashKey[set[str] | None]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "policy(clause_id): the GO 344 clause this test proves")
    try:
        config.stash[_CLAUSE_IDS] = {c["id"] for c in load_clauses(_project_root(config))}
    except FileNotFoundError:
        config.stash[_CLAUSE_IDS] = None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = config.stash.get(_CLAUSE_IDS, None)
    for item in items:
        for mark in item.iter_markers("policy"):
            for clause in mark.args:
                if known is not None and clause not in known:
                    raise pytest.UsageError(
                        f"{item.nodeid}: unknown policy clause {clause!r}; "
                        "use an id from policy/clauses.toml"
                    )
                item.user_properties.append(("policy", clause))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    clauses = [v for k, v in report.user_properties if k == "policy"]
    if not clauses:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome: str = report.outcome
        if report.when == "setup" and outcome == "failed":
            outcome = "error"
        _results.append({"nodeid": report.nodeid, "clauses": clauses, "outcome": outcome})


_results: list[dict[str, Any]] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = session.config.getoption("--policy-report")
    if path and not hasattr(session.config, "workerinput"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(_results, indent=1))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _pg_state.get("reason"):
        terminalreporter.write_sep("!", "PostgreSQL suite DID NOT RUN", red=True, bold=True)
        terminalreporter.write_line(
            f"PostgreSQL at {pg_admin_url()} unavailable ({_pg_state['reason']}); only SQLite was "
            "tested. Set ALPR_TEST_PG_URL or start PostgreSQL to run both backends."
        )


# ---------------------------------------------------------------------------- databases


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    if backend == "postgresql":
        require_postgresql()
    return backend


@dataclass
class _Migrated:
    url: str
    engine: AsyncEngine


class DatabaseFactory:
    """One migrated database per (service, backend) per test process."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.cache: dict[tuple[str, str], _Migrated] = {}
        # Per process, so two test runs on one machine never drop each other's databases.
        self.worker = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
        self.created: list[str] = []
        self.isolated: dict[tuple[str, str], str] = {}

    async def get(self, spec: ServiceSpec, backend: str) -> _Migrated:
        key = (spec.name, backend)
        if key not in self.cache:
            url = await self._create(spec.name, backend)
            await upgrade(spec.migrations_dir, url)
            self.cache[key] = _Migrated(url, create_engine(url, pool_size=2))
        return self.cache[key]

    async def _create(self, service: str, backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.tmp / f'{service}.db'}"
        import asyncpg

        name = f"alpr_test_{service}_{self.worker}"
        admin = await asyncpg.connect(pg_admin_url())
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        self.created.append(name)
        base = pg_admin_url().rsplit("/", 1)[0]
        return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)

    async def close(self) -> None:
        for migrated in self.cache.values():
            await migrated.engine.dispose()
        if self.created:
            import asyncpg

            admin = await asyncpg.connect(pg_admin_url())
            try:
                for name in self.created:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()


@pytest.fixture(scope="session")
async def database_factory(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("db"))
    yield factory
    await factory.close()


@pytest.fixture
async def migrated(
    service_spec: ServiceSpec, db_backend: str, database_factory: DatabaseFactory
) -> _Migrated:
    return await database_factory.get(service_spec, db_backend)


@pytest.fixture
async def db(migrated: _Migrated) -> AsyncIterator[Database]:
    """A Database whose every session runs inside one transaction rolled back after the test."""
    async with migrated.engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield Database(migrated.engine, bind=conn)
        finally:
            await outer.rollback()


@pytest.fixture
async def isolated_db(
    service_spec: ServiceSpec, db_backend: str, database_factory: DatabaseFactory
) -> AsyncIterator[Database]:
    """A migrated database apart from the per-test transaction (one per service and backend per
    test process, committed for real) and usable from any event loop: schemathesis drives apps
    from its own loop thread. Use it by overriding `db`:
    `@pytest.fixture def db(isolated_db): return isolated_db`."""
    key = (service_spec.name, db_backend)
    url = database_factory.isolated.get(key)
    if url is None:
        url = await database_factory._create(f"{service_spec.name}_iso", db_backend)
        await upgrade(service_spec.migrations_dir, url)
        database_factory.isolated[key] = url
    database = Database(create_engine(url, pooled=False))
    yield database
    await database.dispose()


# ---------------------------------------------------------------------------- tokens and apps


@pytest.fixture(scope="session")
def keyring_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("keys")
    KeyRing.write_new_key(directory)
    return directory


@pytest.fixture(scope="session")
def keyring(keyring_dir: Path) -> KeyRing:
    return KeyRing.from_dir(keyring_dir)


class TokenDirectory(StaticStatus):
    """Principal status for in-process tests, where access is not running: every principal the
    TokenFactory mints a token for is active with the roles and training it was minted with
    (the union over its tokens), until a test says otherwise. The status check itself is the
    kernel's own (`PrincipalStatusCheck`); tests/e2e run it against the real access."""

    def register(
        self, subject: str, kind: str, roles: frozenset[str], trn: datetime | None
    ) -> None:
        known = self.status.get(subject)
        if known is None:
            self.add(subject, kind=kind, roles=roles, training_valid_until=trn)
            return
        if known.training_valid_until is not None and (
            trn is None or known.training_valid_until > trn
        ):
            trn = known.training_valid_until
        self.status[subject] = dataclasses.replace(
            known, roles=roles | known.roles, training_valid_until=trn
        )

    def update(self, subject: str, **changes: Any) -> None:
        self.status[subject] = dataclasses.replace(self.status[subject], **changes)


class _FirstKnown:
    def __init__(self, *sources: StatusSource) -> None:
        self.sources = sources

    async def fetch(self, subject: str) -> PrincipalStatus | None:
        for source in self.sources:
            status = await source.fetch(subject)
            if status is not None:
                return status
        return None


def trust_minted_tokens(app: FastAPI, directory: TokenDirectory) -> None:
    """Check `app`'s principals against the test directory (no cache: changes bite at once).
    Access keeps its own check first: its real users (logged in through its routes) are found in
    its tables, the minted ones in the directory."""
    check: PrincipalStatusCheck | None = getattr(app.state, "principal_status", None)
    if check is None:
        return
    own = getattr(app.state, "own_status_source", None)
    if own is None and getattr(app.state, "owns_keys", False):
        own = app.state.own_status_source = check.cache.source
    check.use_source(directory if own is None else _FirstKnown(own, directory), 0.0)


class TokenFactory:
    """Mints real ES256 tokens for any role, signed by the test keyring."""

    def __init__(self, keyring: KeyRing) -> None:
        self.keyring = keyring
        self.directory = TokenDirectory()

    def token(
        self,
        *roles: str,
        subject: str | None = None,
        name: str | None = None,
        training_valid_until: datetime | None = None,
        cameras: tuple[str, ...] = (),
        agency_id: str | None = None,
        expires_in: timedelta = timedelta(minutes=10),
    ) -> str:
        machine = bool(set(roles) & MACHINE_ROLES)
        now = datetime.now(UTC)
        if training_valid_until is None and not machine:
            training_valid_until = now + timedelta(days=200)
        subject = subject or (
            f"client:{uuid.uuid4().hex[:8]}" if machine else f"user:{uuid.uuid4().hex[:8]}"
        )
        claims = principal_claims(
            subject=subject,
            kind="machine" if machine else "person",
            name=name or subject,
            roles=[str(r) for r in roles],
            training_valid_until=training_valid_until,
            cameras=cameras,
            agency_id=agency_id,
        )
        self.directory.register(
            subject,
            "machine" if machine else "person",
            frozenset(str(r) for r in roles),
            training_valid_until,
        )
        return self.keyring.sign(
            claims, issuer=ISSUER, audience=AUDIENCE, expires_at=now + expires_in
        )

    def headers(self, *roles: str, purpose: bool = False, **kwargs: Any) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token(*roles, **kwargs)}"}
        if purpose:
            headers.update(PURPOSE_HEADERS)
        return headers


PURPOSE_HEADERS = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-0001234",
    "X-ALPR-Reason": "burglary suspect vehicle seen leaving the scene",
}


@pytest.fixture(scope="session")
def tokens(keyring: KeyRing) -> TokenFactory:
    return TokenFactory(keyring)


@pytest.fixture
def purpose_headers() -> dict[str, str]:
    return dict(PURPOSE_HEADERS)


@pytest.fixture
def app_settings(service_spec: ServiceSpec, migrated: _Migrated) -> BaseServiceSettings:
    """Override in a service's conftest to add that service's own settings."""
    return service_spec.settings_cls(environment="test", run_relay=False, database_url=migrated.url)


@pytest.fixture
def app(
    service_spec: ServiceSpec,
    app_settings: BaseServiceSettings,
    db: Database,
    keyring: KeyRing,
    tokens: TokenFactory,
) -> Iterator[FastAPI]:
    application = service_spec.app_factory(app_settings)
    use_database(application, db)
    trust_minted_tokens(application, tokens.directory)
    if not getattr(application.state, "owns_keys", False):
        application.state.verifier = TokenVerifier(
            JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
        )
    yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


__all__ = [
    "PURPOSE_HEADERS",
    "Role",
    "TokenDirectory",
    "TokenFactory",
    "in_ci",
    "pg_unavailable_reason",
    "trust_minted_tokens",
]


def pytest_runtest_setup(item: pytest.Item) -> None:
    # schemathesis 4's lazy schemas read `node._nodeid`, which pytest 9 no longer sets.
    if not hasattr(item, "_nodeid"):
        item._nodeid = item.nodeid  # type: ignore[attr-defined]  # pytest 9 dropped the attribute
