"""Lockout after 5 failures within 15 minutes; released by time or by the CSO, recorded which."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alpr_access.errors import GrantRefused
from alpr_access.tokens import login_person
from alpr_common.errors import problem_type

CSO = "chief_security_officer"
WRONG = "definitely-not-the-password"


@pytest.fixture
def attempt(app, in_session):
    """Log in through the service at an injected time."""

    async def run(person, *, at: datetime, password: str | None = None, totp: str | None = None):
        return await in_session(
            login_person,
            settings=app.state.settings,
            passwords=app.state.passwords,
            keys=app.state.keys,
            username=person.username,
            password=person.password if password is None else password,
            totp=totp or (person.code(at) if password is None else "000000"),
            source_address="192.0.2.10",
            now=at,
        )

    return run


async def test_five_failures_lock_the_account(make_person, login, client, tokens, outbox_events):
    person = await make_person("officer")

    for _ in range(5):
        assert (await login(person, password=WRONG)).status_code == 400
    locked = await login(person)

    assert locked.status_code == 400
    assert "locked" in locked.json()["detail"]
    attempts = (
        await client.get(
            "/v1/login-attempts",
            params={"user_id": person.id},
            headers=tokens.headers(CSO),
        )
    ).json()["items"]
    assert [a["outcome"] for a in attempts] == ["locked"] + ["failure"] * 5
    assert attempts[0]["reason"] == "account_locked"
    lockouts = (
        await client.get("/v1/lockouts", params={"user_id": person.id}, headers=tokens.headers(CSO))
    ).json()["items"]
    assert len(lockouts) == 1 and lockouts[0]["active"] and lockouts[0]["failures"] == 5
    started = await outbox_events("access.lockout_started")
    assert [e["data"]["user_id"] for e in started] == [person.id]


async def test_wrong_totp_counts_towards_the_lockout(make_person, attempt):
    person = await make_person("officer")
    t0 = datetime.now(UTC)

    for i in range(5):
        with pytest.raises(GrantRefused):
            await attempt(person, at=t0 + timedelta(seconds=i), totp="000000")

    with pytest.raises(GrantRefused):
        await attempt(person, at=t0 + timedelta(minutes=1))


async def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(make_person, attempt):
    person = await make_person("officer")
    t0 = datetime.now(UTC)

    for i in range(4):
        with pytest.raises(GrantRefused):
            await attempt(person, at=t0 + timedelta(seconds=i), password=WRONG)
    with pytest.raises(GrantRefused):
        await attempt(person, at=t0 + timedelta(minutes=16), password=WRONG)

    token = await attempt(person, at=t0 + timedelta(minutes=16, seconds=30))
    assert token.access_token


async def test_a_success_restarts_the_count(make_person, attempt):
    person = await make_person("officer")
    t0 = datetime.now(UTC)

    for i in range(4):
        with pytest.raises(GrantRefused):
            await attempt(person, at=t0 + timedelta(seconds=i), password=WRONG)
    await attempt(person, at=t0 + timedelta(seconds=10))
    with pytest.raises(GrantRefused):
        await attempt(person, at=t0 + timedelta(seconds=40), password=WRONG)

    assert (await attempt(person, at=t0 + timedelta(seconds=70))).access_token


async def test_lockout_is_released_by_time_and_recorded(
    make_person, attempt, client, tokens, outbox_events
):
    person = await make_person("officer")
    t0 = datetime.now(UTC)
    for i in range(5):
        with pytest.raises(GrantRefused):
            await attempt(person, at=t0 + timedelta(seconds=i), password=WRONG)

    with pytest.raises(GrantRefused):
        await attempt(person, at=t0 + timedelta(minutes=10))
    token = await attempt(person, at=t0 + timedelta(minutes=16))

    assert token.access_token
    lockout = (
        await client.get("/v1/lockouts", params={"user_id": person.id}, headers=tokens.headers(CSO))
    ).json()["items"][0]
    assert lockout["active"] is False
    assert lockout["released_how"] == "time"
    assert lockout["released_by"] is None
    released = await outbox_events("access.lockout_released")
    assert [(e["data"]["how"], e["data"]["actor"]) for e in released] == [("time", "system")]


async def test_cso_releases_a_lockout_and_it_is_recorded(
    make_person, login, client, tokens, outbox_events
):
    person = await make_person("officer")
    for _ in range(5):
        await login(person, password=WRONG)
    cso = tokens.headers(CSO, subject="user:cso-1")

    resp = await client.post(
        "/v1/lockout-releases",
        json={"user_id": person.id, "reason": "verified by phone, badge checked"},
        headers=cso,
    )

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["active"] is False
    assert (body["released_how"], body["released_by"]) == ("cso", "user:cso-1")
    assert body["release_reason"] == "verified by phone, badge checked"
    assert (await login(person)).status_code == 200
    released = await outbox_events("access.lockout_released")
    assert [(e["data"]["how"], e["data"]["actor"]) for e in released] == [("cso", "user:cso-1")]


@pytest.mark.policy("344.4(c)")
async def test_only_the_cso_releases_lockouts(make_person, login, client, tokens):
    person = await make_person("officer")
    for _ in range(5):
        await login(person, password=WRONG)

    for role in ("admin", "supervisor", "risk_management"):
        resp = await client.post(
            "/v1/lockout-releases",
            json={"user_id": person.id, "reason": "please let me in"},
            headers=tokens.headers(role),
        )
        assert resp.status_code == 403


async def test_releasing_without_a_lockout_is_not_found(make_person, client, tokens):
    person = await make_person("officer")

    resp = await client.post(
        "/v1/lockout-releases",
        json={"user_id": person.id, "reason": "just in case"},
        headers=tokens.headers(CSO),
    )

    assert resp.status_code == 404
    assert resp.json()["type"] == problem_type("LockoutNotFound")
