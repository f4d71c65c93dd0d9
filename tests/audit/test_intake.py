"""Event intake: every event is appended once to the hash chain (344.4(d))."""

from __future__ import annotations

import hashlib
import itertools
import math

import pytest
from sqlalchemy import func, select

from alpr_audit.chain import GENESIS_HASH, entry_hash
from alpr_audit.intake import record_event
from alpr_audit.models import LogEntry
from alpr_common.events import Event
from tests.helpers.plans import scans

pytestmark = pytest.mark.policy("344.4(d)")


async def _entries(db) -> list[dict]:
    async with db.sessionmaker() as session:
        rows = (await session.execute(select(LogEntry.__table__).order_by("seq"))).all()
        return [dict(r._mapping) for r in rows]


async def test_every_login_and_transaction_is_appended_and_chained(db, ev, send):
    request, response = ev.gateway_pair()
    result = await send([request, response, ev.login_attempt()])
    assert result == {"accepted": 3, "duplicates": 0, "rejected": 0}

    entries = await _entries(db)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert [e["type"] for e in entries] == [
        "gateway.request",
        "gateway.response",
        "access.login_attempt",
    ]
    assert entries[0]["prev_hash"] == GENESIS_HASH
    for previous, current in itertools.pairwise(entries):
        assert current["prev_hash"] == previous["hash"]
    for e in entries:
        assert e["hash"] == entry_hash(e)
        assert e["problem"] is None
    assert entries[0]["request_id"] == entries[1]["request_id"] == request["data"]["request_id"]
    assert entries[1]["status"] == 200
    assert entries[0]["event_id"] == request["id"]


async def test_duplicate_event_ids_are_stored_once(db, ev, send):
    request, response = ev.gateway_pair()
    await send([request, response])
    again = await send([request, response])
    assert again == {"accepted": 0, "duplicates": 2, "rejected": 0}
    # Even bypassing the intake's processed-event check, the log records an id once.
    async with db.sessionmaker() as session:
        assert await record_event(session, event=Event.model_validate(request)) is None
        count = (await session.execute(select(func.count()).select_from(LogEntry))).scalar_one()
    assert count == 2


async def test_an_event_repeated_within_a_batch_is_stored_once(db, ev, send):
    request, response = ev.gateway_pair()
    result = await send([request, response, request, dict(request, data={"forged": True})])
    assert result == {"accepted": 2, "duplicates": 2, "rejected": 0}
    entries = await _entries(db)
    assert [e["event_id"] for e in entries] == [request["id"], response["id"]]
    assert entries[0]["data"] == request["data"]


async def test_an_event_already_in_the_log_is_not_appended_again(db, ev, send):
    """Recorded once outside the batch intake (the kernel's consume path), then redelivered."""
    request, response = ev.gateway_pair()
    async with db.sessionmaker() as session:
        await record_event(session, event=Event.model_validate(request))
        await session.commit()
    result = await send([request, response])
    assert result == {"accepted": 1, "duplicates": 1, "rejected": 0}
    assert [e["seq"] for e in await _entries(db)] == [1, 2]


_FILL_LOG = (
    "INSERT INTO log_entry (seq, event_id, source, type, occurred_at, recorded_at, data, "
    "prev_hash, hash) SELECT n, md5(n::text), 'gateway', 'gateway.request', now(), now(), "
    "'{}', md5(n::text) || md5(n::text), md5(n::text) || md5(n::text) "
    "FROM generate_series($1::bigint, $2::bigint) AS n"
)


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_the_logged_id_lookup_probes_the_index_however_large_the_log_grows(db):
    """The log starts empty and grows faster than ANALYZE runs. The lookup of a delivery's ids
    is a prepared statement, whose generic plan is made once, while the log is small: it must
    be one probe of the event_id index per id then, and still once the log has grown, never a
    scan of the whole log (which grows with every transaction of the suite)."""
    from alpr_audit.repository import _LOGGED_PG
    from alpr_common.db import driver_connection

    ids = [f"{i:032x}" for i in range(300)]
    async with db.sessionmaker() as session:
        raw = await driver_connection(session)
        await raw.execute(_FILL_LOG, 1, 300)  # a small log, never analysed
        await raw.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        await raw.execute(f"PREPARE logged_ids (text[]) AS {_LOGGED_PG}")
        # EXECUTE takes no bind parameters: the ids (hex) as an array literal.
        execute = f"EXPLAIN (FORMAT JSON) EXECUTE logged_ids('{{{','.join(ids)}}}')"
        small = await raw.fetchval(execute)
        await raw.execute(_FILL_LOG, 301, 30_000)  # the log grows; the plan is kept
        grown = await raw.fetchval(execute)
        await raw.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        custom = await raw.fetchval(f"EXPLAIN (FORMAT JSON) {_LOGGED_PG}", ids)
        await raw.execute("DEALLOCATE logged_ids")
        await session.rollback()

    for plan in (small, grown, custom):
        found_scans = scans(plan, "log_entry")
        assert found_scans, plan
        assert all(
            kind in ("Index Scan", "Index Only Scan") and "event_id" in index
            for kind, index in found_scans
        ), found_scans
    async with db.sessionmaker() as session:
        raw = await driver_connection(session)
        await raw.execute(_FILL_LOG, 1, 3)  # the lookup finds what is logged, and only that
        logged = await raw.fetch(_LOGGED_PG, [_md5(1), _md5(3), "nope"])
        await session.rollback()
    assert {r[0] for r in logged} == {_md5(1), _md5(3)}


def _md5(n: int) -> str:
    return hashlib.md5(str(n).encode(), usedforsecurity=False).hexdigest()


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_counters_the_database_refuses_never_fail_the_log(db, ev, send):
    """A scan counter that would overflow (PostgreSQL refuses the sum) loses that delivery's
    report facts, logged at ERROR; its events are logged all the same, and the delivery is
    answered, not retried forever."""
    from sqlalchemy import text

    def counts(batch: str) -> dict:
        count = {"day": "2026-11-02", "camera_type": "fixed", "camera_id": "cam-1"}
        return ev.event(
            "ingest.scan_counts", {"batch_id": batch, "counts": [{**count, "reads": 2**63 - 1}]}
        )

    assert (await send([counts("b1")]))["accepted"] == 1
    assert (await send([counts("b2")]))["accepted"] == 1  # the sum is beyond bigint
    assert [e["type"] for e in await _entries(db)] == ["ingest.scan_counts"] * 2
    async with db.sessionmaker() as session:
        reads = (await session.execute(text("SELECT reads FROM scan_count"))).scalars().all()
    assert reads == [2**63 - 1]


async def test_unknown_event_types_are_kept_as_they_come(db, ev, send):
    data = {"read_id": "r-1", "nested": {"list": [1, 2.5, None, True, "x"]}}
    await send([ev.event("ingest.batch_stored", data)])
    [entry] = await _entries(db)
    assert entry["type"] == "ingest.batch_stored"
    assert entry["data"] == data
    assert entry["problem"] is None


async def test_malformed_known_event_is_recorded_with_its_problem(db, ev, send):
    bad = ev.event("gateway.response", {"request_id": "r-1", "status": "two hundred"})
    await send([bad])
    [entry] = await _entries(db)
    assert entry["status"] is None
    assert "data does not match gateway.response" in entry["problem"]
    assert "status" in entry["problem"]
    assert "two hundred" not in entry["problem"]  # values stay out of the problem text
    assert entry["hash"] == entry_hash(entry)


async def test_values_no_database_can_store_are_replaced_and_still_verify(
    client, db, ev, auditor_headers
):
    odd = ev.event(
        "vendor.odd",
        {
            "text": "a\x00b",
            "big": 1e20,
            "huge": 1.5e300,
            "tiny": 1.5e-7,
            "negzero": -0.0,
            "bigint": 2**80,
            "\x00key": "v",
            "unicode": "Zoë ☃ 𝄞",
        },
    )
    odd["time"] = "2026-11-02T14:00:00"  # no offset
    async with db.sessionmaker() as session:
        parsed = Event.model_validate(odd)
        parsed.data["nan"] = math.nan  # what json.loads makes of NaN in a request body
        await record_event(session, event=parsed)
        await session.commit()
    [entry] = await _entries(db)
    assert entry["data"]["text"] == "a\ufffdb"
    assert entry["data"]["nan"] == "nan"
    assert "\ufffdkey" in entry["data"]
    assert "NUL characters replaced" in entry["problem"]
    assert "no UTC offset" in entry["problem"]
    # The hash survives the database's own JSON round trip (jsonb rewrites 1e20 as digits).
    assert entry["hash"] == entry_hash(entry)
    resp = await client.get("/v1/log-verifications", headers=auditor_headers)
    assert resp.json()["ok"] is True, resp.json()


async def test_gateway_request_subject_falls_back_to_data(db, ev, send):
    request, _ = ev.gateway_pair(subject="user:99")
    request["subject"] = None
    await send([request])
    [entry] = await _entries(db)
    assert entry["subject"] == "user:99"


async def test_intake_is_for_services_only(client, tokens, ev):
    request, _ = ev.gateway_pair()
    resp = await client.post(
        "/v1/events", json={"events": [request]}, headers=tokens.headers("city_auditor")
    )
    assert resp.status_code == 403
