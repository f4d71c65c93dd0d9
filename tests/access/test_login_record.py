"""344.4(d): every login attempt is recorded and sent to audit; 344.2(b): the CSO's digest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from alpr_access.errors import GrantRefused
from alpr_access.tokens import login_person

CSO = "chief_security_officer"
CHICAGO = ZoneInfo("America/Chicago")
WRONG = "definitely-not-the-password"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=CHICAGO).astimezone(UTC)


@pytest.fixture
def attempt(app, in_session):
    async def run(person, *, at: datetime, password: str | None = None, address: str):
        try:
            await in_session(
                login_person,
                settings=app.state.settings,
                passwords=app.state.passwords,
                keys=app.state.keys,
                username=person.username,
                password=person.password if password is None else password,
                totp=person.code(at) if password is None else "000000",
                source_address=address,
                now=at,
            )
        except GrantRefused:
            return False
        return True

    return run


@pytest.mark.policy("344.4(d)")
async def test_every_login_attempt_is_recorded_and_queued_for_audit(
    client, tokens, make_person, login, outbox_events
):
    person = await make_person("officer")
    cso = tokens.headers(CSO)

    await login(person, address="198.51.100.7")
    await login(person, password=WRONG, address="198.51.100.8")
    await client.post(
        "/v1/token",
        data={"grant_type": "password", "username": "Ghost", "password": WRONG, "totp": "1"},
    )
    await client.post(
        "/v1/token",
        data={"grant_type": "client_credentials", "client_id": "nope", "client_secret": "x"},
    )

    attempts = (await client.get("/v1/login-attempts", headers=cso)).json()["items"]
    assert [(a["username"], a["outcome"], a["reason"]) for a in reversed(attempts)] == [
        (person.username, "success", "ok"),
        (person.username, "failure", "bad_password"),
        ("ghost", "failure", "unknown_user"),
        ("nope", "failure", "unknown_client"),
    ]
    first = attempts[-1]
    assert first["source_address"] == "198.51.100.7"  # named by the gateway (a trusted peer)
    assert first["subject"] == person.subject and first["method"] == "password"
    assert attempts[0]["source_address"] == "127.0.0.1"  # no header: the peer
    events = await outbox_events("access.login_attempt")
    assert len(events) == 4
    assert all(e["destination"] == "audit" and e["source"] == "access" for e in events)
    assert events[0]["data"] == {
        "username": person.username,
        "subject": person.subject,
        "outcome": "success",
        "reason": "ok",
        "source_address": "198.51.100.7",
    }
    assert events[2]["data"]["subject"] is None


@pytest.mark.policy("344.4(d)")
async def test_locked_attempts_are_recorded_too(client, tokens, make_person, login, outbox_events):
    person = await make_person("officer")
    for _ in range(6):
        await login(person, password=WRONG)

    events = await outbox_events("access.login_attempt")

    assert [e["data"]["outcome"] for e in events] == ["failure"] * 5 + ["locked"]


async def test_login_attempts_are_filtered(client, tokens, make_person, login):
    person = await make_person("officer")
    other = await make_person("officer")
    await login(person)
    await login(person, password=WRONG)
    await login(other)
    cso = tokens.headers("risk_management")

    failures = await client.get(
        "/v1/login-attempts",
        params={"username": person.username.upper(), "outcome": "failure"},
        headers=cso,
    )
    future = await client.get(
        "/v1/login-attempts",
        params={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat()},
        headers=cso,
    )
    naive = await client.get(
        "/v1/login-attempts", params={"since": "2026-01-01T00:00:00"}, headers=cso
    )

    assert [a["reason"] for a in failures.json()["items"]] == ["bad_password"]
    assert future.json()["items"] == []
    assert naive.status_code == 422


@pytest.mark.policy("344.2(b)")
async def test_daily_digest_lists_successes_failures_lockouts_addresses_and_off_hours(
    client, tokens, make_person, attempt
):
    alice = await make_person("officer", username="alice")
    bob = await make_person("investigator", username="bob")
    # Seen before the day: not a new address for alice.
    assert await attempt(alice, at=local(10, 9), address="198.51.100.7")

    assert not await attempt(alice, at=local(15, 10), password=WRONG, address="198.51.100.7")
    assert await attempt(alice, at=local(15, 14), address="198.51.100.7")
    assert await attempt(alice, at=local(15, 23, 30), address="203.0.113.9")  # off hours, new
    for minute in range(5):
        assert not await attempt(bob, at=local(15, 9, minute), password=WRONG, address="192.0.2.1")
    assert not await attempt(bob, at=local(15, 9, 10), address="192.0.2.1")  # locked
    # The next local day: not in this digest.
    assert await attempt(alice, at=local(16, 0, 30), address="192.0.2.99")

    resp = await client.get("/v1/login-digests/2026-01-15", headers=tokens.headers(CSO))

    assert resp.status_code == 200, resp.text
    digest = resp.json()
    assert digest["timezone"] == "America/Chicago"
    assert digest["off_hours"] == "22:00-06:00"
    assert datetime.fromisoformat(digest["starts_at"]) == local(15, 0)
    entries = {e["username"]: e for e in digest["entries"]}
    assert set(entries) == {"alice", "bob"}
    a, b = entries["alice"], entries["bob"]
    assert (a["successes"], a["failures"], a["locked_attempts"], a["lockouts"]) == (2, 1, 0, 0)
    assert a["source_addresses"] == ["198.51.100.7", "203.0.113.9"]
    assert a["first_seen_addresses"] == ["203.0.113.9"]
    assert [(o["local_time"], o["source_address"]) for o in a["off_hours_logins"]] == [
        ("23:30", "203.0.113.9")
    ]
    assert (b["successes"], b["failures"], b["locked_attempts"], b["lockouts"]) == (0, 5, 1, 1)
    assert b["first_seen_addresses"] == ["192.0.2.1"]
    assert b["subject"] == bob.subject
    assert digest["entries"][0]["username"] == "bob"  # most failures first
    assert digest["totals"] == {
        "attempts": 9,
        "successes": 2,
        "failures": 6,
        "locked_attempts": 1,
        "lockouts": 1,
        "off_hours_logins": 1,
        "first_seen_addresses": 2,
    }


@pytest.mark.policy("344.2(b)")
async def test_digest_off_hours_and_time_zone_are_configurable(
    app, client, tokens, make_person, attempt
):
    carol = await make_person("officer", username="carol")
    assert await attempt(carol, at=local(15, 20), address="198.51.100.1")
    app.state.settings = app.state.settings.model_copy(
        update={"digest_timezone": "UTC", "off_hours_start": datetime(2026, 1, 1, 1).time()}
    )

    digest = (await client.get("/v1/login-digests/2026-01-16", headers=tokens.headers(CSO))).json()

    # 20:00 in Chicago is 02:00 UTC the next day: inside 01:00-06:00 UTC.
    assert digest["timezone"] == "UTC"
    assert [o["local_time"] for o in digest["entries"][0]["off_hours_logins"]] == ["02:00"]


@pytest.mark.policy("344.2(b)")
@pytest.mark.parametrize("role", ["admin", "risk_management", "city_auditor", "supervisor"])
async def test_only_the_cso_reads_the_digest(client, tokens, role):
    resp = await client.get("/v1/login-digests/2026-01-15", headers=tokens.headers(role))

    assert resp.status_code == 403


async def test_digest_date_out_of_range_is_malformed(client, tokens):
    resp = await client.get("/v1/login-digests/9999-12-31", headers=tokens.headers(CSO))

    assert resp.status_code == 422


async def test_forwarded_address_is_believed_only_from_a_trusted_proxy(
    app, client, tokens, make_person
):
    """X-Forwarded-For from a peer outside ACCESS_TRUSTED_PROXIES is ignored: a caller that
    bypasses the gateway cannot choose the address its login attempts are recorded under."""
    person = await make_person("officer")
    form = {"grant_type": "password", "username": person.username, "password": WRONG}
    forged = {"X-Forwarded-For": "198.51.100.99"}
    outsider = httpx.ASGITransport(app=app, client=("203.0.113.9", 4000))
    async with httpx.AsyncClient(transport=outsider, base_url="http://access") as c:
        assert (await c.post("/v1/token", data=form, headers=forged)).status_code == 400
    gateway = httpx.ASGITransport(app=app, client=("127.0.0.1", 4000))
    async with httpx.AsyncClient(transport=gateway, base_url="http://access") as c:
        assert (await c.post("/v1/token", data=form, headers=forged)).status_code == 400
    cso = tokens.headers(CSO, subject="user:cso-1")
    attempts = (await client.get("/v1/login-attempts", headers=cso)).json()["items"]
    assert [a["source_address"] for a in attempts[:2]] == ["198.51.100.99", "203.0.113.9"]
