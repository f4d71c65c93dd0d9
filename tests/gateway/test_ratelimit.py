"""Rate limits: per principal, sized per camera, shared across replicas through Redis, 429 with
Retry-After, and a Redis that is down costs no request."""

from __future__ import annotations

import uuid

import pytest

from alpr_common.auth import Principal
from alpr_common.errors import TooManyRequests, problem_type
from alpr_common.roles import Role
from alpr_common.suite import free_port
from alpr_common.testing.plugin import PURPOSE_HEADERS
from alpr_gateway.ratelimit import Limit, LocalBuckets, RateLimiter, RedisBuckets
from alpr_gateway.settings import GatewaySettings
from tests.helpers.redis import redis_url


def camera_client(directory, tokens, cameras: int) -> dict[str, str]:
    subject = f"client:{uuid.uuid4().hex[:8]}"
    directory.status[subject] = {
        "subject": subject,
        "kind": "machine",
        "active": True,
        "roles": ["camera"],
        "training_valid_until": None,
    }
    cams = tuple(f"cam-{i}" for i in range(cameras))
    token = tokens.token(Role.CAMERA, subject=subject, cameras=cams)
    return {"Authorization": f"Bearer {token}"}


async def test_rate_limit_per_principal_answers_429_with_retry_after(
    client, app, tokens, directory, logged
):
    app.state.gateway.limiter = RateLimiter(0.001, 2)
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    _, other = directory.person(tokens, Role.INVESTIGATOR)
    answers = [
        await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS) for _ in range(3)
    ]
    assert [r.status_code for r in answers] == [200, 200, 429]
    refused = answers[-1]
    assert refused.json()["type"] == problem_type("TooManyRequests")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["retry_after_seconds"] > 0
    # Another principal has its own bucket.
    r = await client.get("/v1/ingest/reads", headers=other | PURPOSE_HEADERS)
    assert r.status_code == 200
    statuses = [e["data"]["status"] for e in await logged() if e["type"] == "gateway.response"]
    assert statuses.count(429) == 1


async def test_public_routes_limited_per_source_address(client, app):
    app.state.gateway.limiter = RateLimiter(0.001, 1)
    first = await client.get("/v1/ingest/public-info")
    second = await client.get("/v1/ingest/public-info")
    assert first.status_code != 429
    assert second.status_code == 429 and "retry-after" in second.headers


async def test_camera_client_is_sized_per_camera(client, app, tokens, directory):
    app.state.gateway.limiter = RateLimiter(
        0.001, 2, per_camera_per_second=0.001, per_camera_burst=3
    )
    fleet = camera_client(directory, tokens, cameras=4)  # 2 + 4 * 3 = 14 at once
    single = camera_client(directory, tokens, cameras=1)  # 2 + 3 = 5
    fleet_codes = [
        (await client.post("/v1/ingest/reads", content=b"{}", headers=fleet)).status_code
        for _ in range(15)
    ]
    single_codes = [
        (await client.post("/v1/ingest/reads", content=b"{}", headers=single)).status_code
        for _ in range(6)
    ]
    assert fleet_codes == [200] * 14 + [429]
    assert single_codes == [200] * 5 + [429]


def test_default_limits_grow_with_the_fleet():
    limiter = RateLimiter.from_settings(GatewaySettings(environment="test"))
    person = Principal(subject="user:x", kind="person", name="x", roles=frozenset({"analyst"}))
    fleet = Principal(
        subject="client:f",
        kind="machine",
        name="f",
        roles=frozenset({"camera"}),
        cameras=tuple(f"c{i}" for i in range(300)),
    )
    assert limiter.limit_for(person) == Limit(200.0, 400.0)
    # A client fronting 300 cameras is not held to the 200 requests/s of one client.
    assert limiter.limit_for(fleet) == Limit(200.0 + 300 * 10.0, 400.0 + 300 * 20.0)


async def test_limit_holds_across_two_gateways_sharing_redis():
    url = redis_url()
    first = RateLimiter(0.001, 4, store=RedisBuckets(url))
    second = RateLimiter(0.001, 4, store=RedisBuckets(url))
    person = Principal(
        subject=f"user:{uuid.uuid4().hex}", kind="person", name="x", roles=frozenset()
    )
    try:
        outcomes = []
        for i in range(6):
            limiter = first if i % 2 == 0 else second
            try:
                await limiter.check_principal(person)
                outcomes.append("ok")
            except TooManyRequests as exc:
                outcomes.append(type(exc).__name__)
                assert exc.headers()["Retry-After"].isdigit()
        # Four in all, not four per replica.
        assert outcomes == ["ok"] * 4 + ["TooManyRequests"] * 2
        assert isinstance(first.store, RedisBuckets) and first.store.shared
    finally:
        await first.aclose()
        await second.aclose()


async def test_redis_down_limits_per_replica_and_never_fails_a_request(caplog):
    store = RedisBuckets(f"redis://127.0.0.1:{free_port()}/0")
    limiter = RateLimiter(0.001, 2, store=store)
    person = Principal(subject="user:down", kind="person", name="x", roles=frozenset())
    try:
        await limiter.check_principal(person)
        assert not store.shared
        await limiter.check_principal(person)
        with pytest.raises(TooManyRequests):
            await limiter.check_principal(person)
        assert "limiting per replica" in caplog.text
        # One warning per outage, not one per request.
        assert caplog.text.count("rate-limit store unreachable") == 1
    finally:
        await limiter.aclose()


async def test_local_buckets_refill_over_time():
    buckets = LocalBuckets()
    limit = Limit(rate=1000.0, burst=1.0)
    assert await buckets.take("k", limit) == 0.0
    wait = await buckets.take("k", limit)
    assert 0.0 < wait <= 0.001
