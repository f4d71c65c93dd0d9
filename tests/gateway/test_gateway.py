from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from alpr_common.errors import problem_type
from alpr_common.roles import Role
from alpr_common.testing.plugin import PURPOSE_HEADERS


async def test_search_with_purpose_reaches_service_and_log(client, tokens, directory, logged):
    subject, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get("/v1/ingest/reads?plate=ABC123", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["purpose"] == "criminal_investigation" and body["case"] == "2026-0001234"
    events = await logged()
    assert [e["type"] for e in events] == ["gateway.request", "gateway.response"]
    req, resp = events[0]["data"], events[1]["data"]
    assert req["subject"] == subject and req["purpose"] == "criminal_investigation"
    assert req["query"] == "plate=ABC123" and req["method"] == "GET"
    assert req["path"] == "/v1/ingest/reads" and req["roles"] == ["investigator"]
    assert resp["request_id"] == req["request_id"] == r.headers["x-request-id"]
    assert resp["status"] == 200 and resp["bytes"] == len(r.content)


@pytest.mark.policy("344.4(d)")
async def test_transaction_log_entry_fields(client, tokens, directory, logged):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    req, resp = [e["data"] for e in await logged()]
    for field in (
        "time",
        "subject",
        "roles",
        "source_address",
        "method",
        "path",
        "query",
        "purpose",
        "case_number",
        "reason",
        "request_id",
    ):
        assert field in req
    # At least 10 ms precision: microseconds are kept.
    assert "." in req["time"] and len(req["time"].split(".")[1]) >= 6
    for field in ("status", "bytes", "latency_ms"):
        assert field in resp


@pytest.mark.policy("344.4(d)")
async def test_refused_requests_are_logged(client, tokens, directory, logged):
    r = await client.get("/v1/ingest/reads", headers=PURPOSE_HEADERS)
    assert r.status_code == 401
    _, auth = directory.person(tokens, Role.OFFICER)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403
    events = await logged()
    statuses = [e["data"]["status"] for e in events if e["type"] == "gateway.response"]
    assert statuses == [401, 403]
    refused = [e["data"]["refused_reason"] for e in events if e["type"] == "gateway.response"]
    assert all(refused)


async def _spooled(db) -> list[str]:
    """The types of the spooled events, as the spool holds them now (nothing flushed)."""
    from sqlalchemy import select

    from alpr_gateway.models import OUTBOX

    async with db.sessionmaker() as session:
        rows = await session.execute(select(OUTBOX.outbox.c.envelope).order_by(OUTBOX.outbox.c.seq))
        return [json.loads(r.envelope)["type"] for r in rows]


@pytest.mark.policy("344.4(d)")
async def test_an_outcome_joins_the_next_requests_write(client, app, db, tokens, directory):
    """Nobody waits on an outcome, so it is written with the next request, one INSERT for
    both; each request is still on record before it is forwarded."""
    translog = app.state.gateway.translog
    translog.OUTCOME_LINGER_SECONDS = 30.0  # longer than the test: only a request writes
    writes: list[list[str]] = []
    write = translog._write

    async def counted(events):
        writes.append([e.type for e in events])
        await write(events)

    translog._write = counted
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    for _ in range(2):
        r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
        assert r.status_code == 200, r.text
    assert writes == [["gateway.request"], ["gateway.response", "gateway.request"]]
    assert await _spooled(db) == ["gateway.request", "gateway.response", "gateway.request"]
    await translog.flush()  # shutdown writes what lingers
    assert writes[-1] == ["gateway.response"]


@pytest.mark.policy("344.4(d)")
async def test_each_spool_write_wakes_the_relay_with_how_many_events_wait(
    client, app, tokens, directory
):
    """The relay sends what the spool holds to audit as soon as it is written, not at its next
    poll: each write tells it how many events wait (`Database.on_outbox_commit`), whichever way
    the database writes them (`Database.single_statement` on PostgreSQL, no session)."""
    translog = app.state.gateway.translog
    translog.OUTCOME_LINGER_SECONDS = 30.0  # only a request writes: two writes, known contents
    db = translog.db()
    woken: list[dict[str, int]] = []
    wake = db.on_outbox_commit

    def counted(counts):
        woken.append(dict(counts))
        if wake is not None:
            wake(counts)

    db.on_outbox_commit = counted
    try:
        _, auth = directory.person(tokens, Role.INVESTIGATOR)
        for _ in range(2):
            r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
            assert r.status_code == 200, r.text
        assert woken == [{"audit": 1}, {"audit": 2}]  # a request; an outcome and a request
    finally:
        db.on_outbox_commit = wake


@pytest.mark.policy("344.4(d)")
async def test_an_outcome_with_no_request_after_it_is_written_after_the_linger(
    client, app, db, tokens, directory
):
    translog = app.state.gateway.translog
    translog.OUTCOME_LINGER_SECONDS = 0.05
    written: list[list[str]] = []
    outcome_written = asyncio.Event()
    write = translog._write

    async def watched(events):
        await write(events)
        written.append([e.type for e in events])
        if written[-1] == ["gateway.response"]:
            outcome_written.set()

    translog._write = watched
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 200, r.text
    # The write runs in the background: wait for it (50 ms on an idle machine) before reading
    # the spool on the test's one connection.
    await asyncio.wait_for(outcome_written.wait(), timeout=10)
    assert written == [["gateway.request"], ["gateway.response"]]
    assert await _spooled(db) == ["gateway.request", "gateway.response"]


@pytest.mark.policy("344.4(d)")
async def test_spool_unavailable_fails_closed(client, app, tokens, directory, upstream, tmp_path):
    from alpr_common.db import Database

    broken = tmp_path / "no-such-dir" / "spool.db"
    app.state.db = Database.from_url(f"sqlite+aiosqlite:///{broken}")
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 503
    assert (
        r.json()["type"] == problem_type("Unavailable") and "transaction log" in r.json()["detail"]
    )
    assert upstream.state.calls == []  # nothing was served unlogged
    await app.state.db.dispose()


@pytest.mark.policy("344.4(c)")
async def test_role_not_allowed_is_403(client, tokens, directory):
    _, auth = directory.person(tokens, Role.HOTLIST_MANAGER)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403
    assert "investigator" in r.json()["detail"]


@pytest.mark.policy("344.4(c)")
async def test_role_removed_since_token_was_issued_is_refused(client, tokens, directory):
    subject, auth = directory.person(tokens, Role.INVESTIGATOR)
    directory.status[subject]["roles"] = []
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403


@pytest.mark.policy("344.7(b)")
async def test_deactivated_principal_refused_with_valid_token(client, tokens, directory):
    subject, auth = directory.person(tokens, Role.INVESTIGATOR)
    assert (await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)).status_code == 200
    directory.status[subject]["active"] = False
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403 and "deactivated" in r.json()["detail"]


@pytest.mark.policy("344.7(b)")
async def test_training_lapse_refused_then_restored(client, tokens, directory):
    subject, auth = directory.person(tokens, Role.INVESTIGATOR)
    directory.status[subject]["training_valid_until"] = (
        datetime.now(UTC) - timedelta(seconds=1)
    ).isoformat()
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403 and "344.7(b)" in r.json()["detail"]
    directory.status[subject]["training_valid_until"] = (
        datetime.now(UTC) + timedelta(days=365)
    ).isoformat()
    assert (await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)).status_code == 200


@pytest.mark.policy("344.7(b)")
async def test_untrained_person_reaches_only_personnel_administration(client, tokens, directory):
    _, auth = directory.person(tokens, Role.INVESTIGATOR, training=None)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403 and "training" in r.json()["detail"]


async def test_status_is_cached_for_the_configured_seconds(client, app, tokens, directory):
    app.state.gateway.status.cache.ttl = 60
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    for _ in range(3):
        await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert directory.status_calls == 1


@pytest.mark.policy("344.4(a)3")
@pytest.mark.parametrize("missing", ["X-ALPR-Purpose", "X-ALPR-Case", "X-ALPR-Reason"])
async def test_purpose_headers_are_required(client, tokens, directory, missing, upstream):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    headers = {k: v for k, v in PURPOSE_HEADERS.items() if k != missing} | auth
    r = await client.get("/v1/ingest/reads", headers=headers)
    assert r.status_code == 422
    assert missing in r.json()["detail"]
    assert upstream.state.calls == []


@pytest.mark.parametrize(
    ("purpose", "clause"),
    [
        pytest.param("revenue_collection", "344.4(a)5", marks=pytest.mark.policy("344.4(a)5")),
        pytest.param("fines_fees", "344.4(a)5", marks=pytest.mark.policy("344.4(a)5")),
        pytest.param("class_c", "344.4(a)5", marks=pytest.mark.policy("344.4(a)5")),
        pytest.param("warrant_roundup", "344.4(a)5", marks=pytest.mark.policy("344.4(a)5")),
        pytest.param("immigration_status", "344.4(a)6", marks=pytest.mark.policy("344.4(a)6")),
        pytest.param("reproductive_health", "344.4(a)6", marks=pytest.mark.policy("344.4(a)6")),
        pytest.param("personal_use", "344.4(a)3", marks=pytest.mark.policy("344.4(a)3")),
    ],
)
async def test_prohibited_purposes_refused(client, tokens, directory, purpose, clause, logged):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get(
        "/v1/ingest/reads", headers=auth | PURPOSE_HEADERS | {"X-ALPR-Purpose": purpose}
    )
    assert r.status_code == 403
    assert clause in r.json()["detail"]
    events = await logged()
    assert events[-1]["data"]["status"] == 403


@pytest.mark.parametrize(
    ("reason", "clause"),
    [
        pytest.param(
            "locate owners with unpaid parking fines",
            "344.4(a)5",
            marks=pytest.mark.policy("344.4(a)5"),
        ),
        pytest.param(
            "warrant round-up operation this weekend",
            "344.4(a)5",
            marks=pytest.mark.policy("344.4(a)5"),
        ),
        pytest.param(
            "check immigration status of the driver",
            "344.4(a)6",
            marks=pytest.mark.policy("344.4(a)6"),
        ),
        pytest.param(
            "vehicles visiting the reproductive health clinic",
            "344.4(a)6",
            marks=pytest.mark.policy("344.4(a)6"),
        ),
    ],
)
async def test_prohibited_reason_text_refused_even_with_allowed_code(
    client, tokens, directory, reason, clause
):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get(
        "/v1/ingest/reads", headers=auth | PURPOSE_HEADERS | {"X-ALPR-Reason": reason}
    )
    assert r.status_code == 403 and clause in r.json()["detail"]


@pytest.mark.policy("344.4(a)4")
async def test_first_amendment_query_needs_nexus_and_is_flagged(client, tokens, directory, logged):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    fa = PURPOSE_HEADERS | {"X-ALPR-Reason": "vehicles parked at the city hall protest"}
    r = await client.get("/v1/ingest/reads", headers=auth | fa)
    assert r.status_code == 403 and "344.4(a)4" in r.json()["detail"]
    r = await client.get(
        "/v1/ingest/reads",
        headers=auth | fa | {"X-ALPR-Criminal-Nexus": "arson suspect fled the protest in car"},
    )
    assert r.status_code == 200
    declared = PURPOSE_HEADERS | {
        "X-ALPR-First-Amendment": "yes",
        "X-ALPR-Criminal-Nexus": "assault on officer reported",
    }
    assert (await client.get("/v1/ingest/reads", headers=auth | declared)).status_code == 200
    flagged = [
        e["data"] for e in await logged() if e["type"] == "gateway.request" and e["data"]["flags"]
    ]
    assert len(flagged) == 2 and all(f["flags"] == ["first_amendment"] for f in flagged)
    assert flagged[0]["criminal_nexus"].startswith("arson")


@pytest.mark.policy("344.4(a)1")
@pytest.mark.parametrize("param", ["race", "ethnicity", "religion", "gender"])
async def test_query_by_protected_attribute_refused(client, tokens, directory, param):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get(f"/v1/ingest/reads?{param}=x", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403 and "344.4(a)1" in r.json()["detail"]


async def test_public_route_needs_no_token(client, logged):
    r = await client.get("/v1/ingest/public-info")
    assert r.status_code == 200 and r.json() == {"hello": "world"}
    assert len(await logged()) == 2


async def test_internal_routes_are_not_exposed(client, tokens):
    r = await client.post("/v1/ingest/events", headers=tokens.headers(Role.SERVICE))
    assert r.status_code == 404


async def test_unknown_service_and_route_are_json_404(client, logged):
    r = await client.get("/v1/nope/things")
    assert r.status_code == 404 and r.json()["type"] == problem_type("NotFound")
    r = await client.get("/v1/ingest/no-such-route")
    assert r.status_code == 404
    r = await client.get("/elsewhere")
    assert r.status_code == 404
    assert len(await logged()) == 6


async def test_metrics_relayed_by_the_edge_are_refused_and_logged(client, logged):
    r = await client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"})
    assert r.status_code == 404 and r.json()["type"] == problem_type("NotFound")
    assert "alpr_http_requests_total" not in r.text
    events = await logged()
    assert [e["data"]["path"] for e in events if e["type"] == "gateway.request"] == ["/metrics"]
    # A scraper reaching the pod directly (no proxy header) reads them, unlogged.
    r = await client.get("/metrics")
    assert r.status_code == 200 and "alpr_http_requests_total" in r.text
    assert len(await logged()) == len(events)


async def test_wrong_method_is_405(client):
    r = await client.delete("/v1/ingest/public-info")
    assert r.status_code == 405 and r.json()["type"] == problem_type("MethodNotAllowed")


def _camera_key(directory, key: str) -> None:
    """An ingest key for camera `cam-1`, whose client access knows as active."""
    directory.keys[key] = "cam-1"
    directory.status["client:cam-1"] = {
        "subject": "client:cam-1",
        "kind": "machine",
        "active": True,
        "roles": ["camera"],
        "training_valid_until": None,
    }


async def test_ingest_key_header_and_basic_auth(client, tokens, directory):
    _camera_key(directory, "k-123")
    r = await client.post(
        "/v1/ingest/reads", content=b"x" * 10, headers={"X-ALPR-Ingest-Key": "k-123"}
    )
    assert r.status_code == 200 and r.json() == {"bytes": 10, "cameras": ["cam-1"]}
    basic = base64.b64encode(b"camera:k-123").decode()
    r = await client.post(
        "/v1/ingest/reads", content=b"y", headers={"Authorization": f"Basic {basic}"}
    )
    assert r.status_code == 200
    r = await client.post("/v1/ingest/reads", content=b"y", headers={"X-ALPR-Ingest-Key": "bad"})
    assert r.status_code == 401
    r = await client.get("/v1/hotlist/reads", headers={"X-ALPR-Ingest-Key": "k-123"})
    assert r.status_code == 401 and "ingest routes only" in r.json()["detail"]


async def test_body_size_limit(client, tokens, directory, upstream):
    _camera_key(directory, "k")
    r = await client.post(
        "/v1/ingest/reads", content=b"x" * 5000, headers={"X-ALPR-Ingest-Key": "k"}
    )
    assert r.status_code == 413 and r.json()["type"] == problem_type("PayloadTooLarge")


async def test_bodies_reach_the_service_whole_with_or_without_a_length(client, directory, upstream):
    """A body with its Content-Length is read whole and sent with the request's head; one sent
    in chunks (no length) is relayed as it comes, and held to the same limit."""
    _camera_key(directory, "k")
    key = {"X-ALPR-Ingest-Key": "k"}

    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 100

    r = await client.post("/v1/ingest/reads", content=b"x" * 900, headers=key)
    assert r.status_code == 200, r.text
    r = await client.post("/v1/ingest/reads", content=chunks(9), headers=key)
    assert r.status_code == 200, r.text
    assert upstream.state.calls[-2:] == [("post", 900), ("post", 900)]
    r = await client.post("/v1/ingest/reads", content=chunks(11), headers=key)
    assert r.status_code == 413 and r.json()["type"] == problem_type("PayloadTooLarge")
    assert len(upstream.state.calls) == 2


async def test_upstream_down_is_502_and_slow_is_504(client, hosts, tokens, directory, logged):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get("/v1/hotlist/slow", headers=auth)
    assert r.status_code == 504 and r.json()["type"] == problem_type("UpstreamTimeout")
    hosts.down.add("hotlist")
    r = await client.get("/v1/hotlist/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 502 and r.json()["type"] == problem_type("UpstreamError")
    statuses = [e["data"]["status"] for e in await logged() if e["type"] == "gateway.response"]
    assert statuses == [504, 502]


async def test_server_sent_events_pass_through(client, tokens, directory):
    _, auth = directory.person(tokens, Role.RTCC_OPERATOR)
    chunks = []
    async with client.stream(
        "GET", "/v1/hotlist/alerts/stream", headers=auth | {"Accept": "text/event-stream"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        async for chunk in r.aiter_text():
            chunks.append(chunk)
    assert "".join(chunks).count("data: alert") == 3


async def test_request_id_is_propagated(client, tokens, directory, upstream):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get(
        "/v1/ingest/reads", headers=auth | PURPOSE_HEADERS | {"X-Request-ID": "abc-123"}
    )
    assert r.headers["x-request-id"] == "abc-123"
    _, seen = upstream.state.calls[-1]
    assert seen["x-request-id"] == "abc-123"
    assert "traceparent" in seen


@pytest.mark.parametrize(
    "attack",
    [
        "alg_none",
        "hs256_with_public_key",
        "expired",
        "not_yet_valid",
        "wrong_issuer",
        "wrong_audience",
        "unknown_kid",
        "tampered_payload",
        "garbage",
        "overlong_lifetime",
        "issued_in_future",
    ],
)
async def test_forged_tokens_are_401_at_the_gateway(
    client, keyring, tmp_path, directory, attack, upstream, logged
):
    from tests.helpers.jwt_attacks import bad_tokens

    token = bad_tokens(keyring, tmp_path, ["investigator"])[attack]
    directory.status["user:attacker"] = {
        "subject": "user:attacker",
        "kind": "person",
        "active": True,
        "roles": ["investigator", "chief_security_officer"],
        "training_valid_until": (datetime.now(UTC) + timedelta(days=9)).isoformat(),
    }
    r = await client.get(
        "/v1/ingest/reads", headers={"Authorization": f"Bearer {token}"} | PURPOSE_HEADERS
    )
    assert r.status_code == 401
    assert r.json()["type"] in (problem_type("InvalidToken"), problem_type("Unauthorized"))
    assert upstream.state.calls == []
    assert (await logged())[-1]["data"]["status"] == 401


async def test_callers_trace_continues_to_the_service(client, tokens, directory, upstream):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    parent = f"00-{trace_id}-00f067aa0ba902b7-01"
    await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS | {"traceparent": parent})
    _, seen = upstream.state.calls[-1]
    _version, forwarded_trace, span, _flags = seen["traceparent"].split("-")
    assert forwarded_trace == trace_id and span != "00f067aa0ba902b7"


@pytest.mark.policy("344.4(d)")
async def test_nul_in_a_path_is_logged_not_a_server_error(client, logged):
    r = await client.get("/v1/ingest/re%00ads")
    assert r.status_code == 404
    assert (await logged())[0]["data"]["path"] == "/v1/ingest/re\ufffdads"
