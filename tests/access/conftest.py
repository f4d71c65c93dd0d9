from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from alpr_access.errors import RecordedFailure
from alpr_access.main import SPEC
from alpr_access.models import OUTBOX, RoleGrant, TrainingRecord, User
from alpr_access.security import Passwords, new_id, new_totp_secret
from alpr_access.settings import AccessSettings
from alpr_common.app import use_database
from alpr_common.db import Database
from alpr_common.testing.plugin import trust_minted_tokens
from tests.helpers.access import ALL_TOPICS, STRONG_PASSWORD, Person


@pytest.fixture
def service_spec():
    return SPEC


@pytest.fixture
def app_settings(migrated, keyring_dir) -> AccessSettings:
    # The plugin's keyring directory, so the tokens it mints verify against access's own keys.
    return AccessSettings(
        environment="test",
        run_relay=False,
        database_url=migrated.url,
        signing_key_dir=keyring_dir,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )


# One app per database (i.e. per backend) for the whole run: FastAPI builds its route state on
# the first request, which costs far more than the requests of most tests.
_APPS: dict[str, FastAPI] = {}


@pytest.fixture
def app(service_spec, app_settings: AccessSettings, db: Database, tokens) -> Iterator[FastAPI]:
    """The plugin's `app`, reused across tests; access verifies with its own keys (owns_keys)."""
    application = _APPS.get(app_settings.database_url)
    if application is None:
        application = _APPS[app_settings.database_url] = service_spec.app_factory(app_settings)
    application.state.settings = app_settings
    use_database(application, db)
    trust_minted_tokens(application, tokens.directory)
    yield application


@pytest.fixture
def passwords(app) -> Passwords:
    return app.state.passwords


MakePerson = Callable[..., Awaitable[Person]]


@pytest.fixture
def make_person(db: Database, passwords: Passwords) -> MakePerson:
    """Create an enrolled person directly in the database, with roles and (by default) valid
    training completed 30 days ago."""

    async def make(
        *roles: str,
        username: str | None = None,
        password: str = STRONG_PASSWORD,
        trained_at: datetime | bool | None = True,
        active: bool = True,
    ) -> Person:
        now = datetime.now(UTC)
        username = username or f"u{new_id()[:10]}"
        secret = new_totp_secret()
        user = User(
            id=new_id(),
            username=username,
            full_name=f"Officer {username.title()}",
            badge=f"B{new_id()[:5]}",
            unit="ATIU",
            active=active,
            password_hash=passwords.hash(password),
            totp_secret=secret,
            created_at=now,
            created_by="test",
            enrolled_at=now,
        )
        async with db.sessionmaker() as session:
            session.add(user)
            await session.flush()
            for role in roles:
                session.add(RoleGrant(user_id=user.id, role=role, granted_at=now, granted_by="t"))
            if trained_at is True:
                trained_at = now - timedelta(days=30)
            if isinstance(trained_at, datetime):
                session.add(
                    TrainingRecord(
                        id=new_id(),
                        user_id=user.id,
                        course="ALPR annual",
                        version="2026.1",
                        topics=ALL_TOPICS,
                        completed_at=trained_at,
                        recorded_by="user:coordinator",
                        recorded_at=now,
                    )
                )
            await session.commit()
        return Person(user.id, username, password, secret, user.full_name, list(roles))

    return make


@pytest.fixture
def login(client: httpx.AsyncClient) -> Callable[..., Awaitable[httpx.Response]]:
    async def do(
        person: Person,
        *,
        password: str | None = None,
        totp: str | None = None,
        address: str | None = None,
    ) -> httpx.Response:
        # As the gateway sends it: one address, the client it found behind its trusted proxies.
        headers = {"X-Forwarded-For": address} if address else {}
        return await client.post(
            "/v1/token",
            data={
                "grant_type": "password",
                "username": person.username,
                "password": person.password if password is None else password,
                # A wrong password never reaches the TOTP check: spend no code on it.
                "totp": totp or (person.code() if password is None else "000000"),
            },
            headers=headers,
        )

    return do


@pytest.fixture
def outbox_events(db: Database) -> Callable[..., Awaitable[list[dict[str, Any]]]]:
    """The events queued for audit, oldest first, optionally of one type."""

    async def read(event_type: str | None = None) -> list[dict[str, Any]]:
        async with db.sessionmaker() as session:
            rows = (
                await session.execute(
                    select(OUTBOX.outbox.c.destination, OUTBOX.outbox.c.envelope).order_by(
                        OUTBOX.outbox.c.seq
                    )
                )
            ).all()
        events = [dict(json.loads(r.envelope), destination=r.destination) for r in rows]
        return [e for e in events if event_type is None or e["type"] == event_type]

    return read


@pytest.fixture
def in_session(db: Database) -> Callable[..., Awaitable[Any]]:
    """Run a service function in its own committed transaction: `await in_session(f, **kw)`."""

    async def run(func: Callable[..., Awaitable[Any]], /, **kwargs: Any) -> Any:
        async with db.sessionmaker() as session:
            try:
                result = await func(session, **kwargs)
            except RecordedFailure:
                # Keep what the refusal recorded, as the request dependency does.
                await session.commit()
                raise
            await session.commit()
            return result

    return run
