"""The kernel's per-request session: commit before the answer, recorded refusals, relay wake-up."""

import time

import pytest
from fastapi import APIRouter
from sqlalchemy import delete, func, select

from alpr_common.app import build_app, use_database
from alpr_common.db import Database, SessionDep, pg_insert_rows
from alpr_common.errors import Conflict, Unauthorized
from alpr_common.events import Event
from alpr_common.outbox import consume, enqueue, outbox_rows
from alpr_gateway.main import SPEC as GATEWAY
from alpr_gateway.models import OUTBOX
from alpr_gateway.settings import GatewaySettings


class RecordedRefusal(Unauthorized):
    commit_before_raise = True


router = APIRouter()


@router.post("/v1/things/{outcome}")
async def things(outcome: str, session: SessionDep) -> dict[str, str]:
    await enqueue(
        session,
        OUTBOX,
        destination="hotlist",
        event=Event(source="test", type="test.thing", data={"outcome": outcome}),
    )
    if outcome == "refused-and-recorded":
        raise RecordedRefusal("refused, but the attempt stays on record")
    if outcome == "refused":
        raise Conflict("refused and rolled back")
    return {"ok": outcome}


@pytest.fixture
def service_spec():
    return GATEWAY


@pytest.fixture
def app(app_settings, db):
    application = build_app(
        GatewaySettings(**app_settings.model_dump()),
        title="t",
        routers=[router],
        outbox=OUTBOX,
    )
    use_database(application, db)
    return application


async def _queued(db) -> int:
    async with db.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(OUTBOX.outbox))).scalar_one()


async def test_commit_wakes_the_relay(client, app, db):
    lane = app.state.relay.lane("hotlist")
    assert not lane.wakeup.is_set()
    r = await client.post("/v1/things/fine")
    assert r.status_code == 200
    assert await _queued(db) == 1
    assert lane.wakeup.is_set() and lane.look


async def test_any_session_that_commits_events_wakes_the_relay(app, db):
    """Not only requests: a background task's or a consumer's events go out at once too."""
    lane = app.state.relay.lane("hotlist")
    event = Event(source="test", type="test.thing", data={})
    async with db.sessionmaker() as session:
        await enqueue(session, OUTBOX, destination="hotlist", event=event)
        await session.rollback()
    assert not lane.wakeup.is_set()
    async with db.sessionmaker() as session:
        await enqueue(session, OUTBOX, destination="hotlist", event=event)
        assert not lane.wakeup.is_set()
        await session.commit()
    assert lane.wakeup.is_set() and lane.look


async def test_events_that_wait_for_company_wake_the_relay_when_due(app, db):
    """Audit's events wait up to the audit delay: their commit schedules the wake-up for then,
    instead of a pass now that would find them too young to send."""
    relay = app.state.relay
    audit, hotlist = relay.lane("audit"), relay.lane("hotlist")
    assert audit.delay == 1.0 and hotlist.delay == 0.0
    before = time.monotonic()
    async with db.sessionmaker() as session:
        await enqueue(session, OUTBOX, destination="audit", event=Event(source="t", type="t.t"))
        await session.commit()
    assert not audit.look, "re-armed for when they are due, not woken to look now"
    assert before + 1.0 <= audit.due <= time.monotonic() + 1.0
    relay.notify({"audit", "hotlist"})  # the live destination goes now, audit still waits
    assert hotlist.wakeup.is_set() and hotlist.look
    assert not audit.look


@pytest.mark.policy("344.4(d)")
async def test_recorded_refusal_commits_and_plain_refusal_rolls_back(client, db):
    r = await client.post("/v1/things/refused-and-recorded")
    assert r.status_code == 401
    assert await _queued(db) == 1
    r = await client.post("/v1/things/refused")
    assert r.status_code == 409
    assert await _queued(db) == 1


async def test_consume_keeps_the_others_of_a_batch_when_one_event_is_refused(db):
    """The kernel applies a delivery in its transaction; an event the handler refuses rolls
    that back, and the batch is claimed and applied again event by event: the others stay
    applied, the refused one leaves nothing but its `rejected` mark, and an id sent twice
    counts once."""
    good = [Event(source="t", type="t.good", data={"n": n}) for n in range(3)]
    bad = Event(source="t", type="t.bad")
    applied: list[str] = []

    async def handler(session, event: Event) -> None:
        await enqueue(session, OUTBOX, destination="hotlist", event=event)
        if event.type == "t.bad":
            raise Conflict("refused")
        applied.append(event.id)

    async with db.sessionmaker() as session:
        result = await consume(session, OUTBOX, [good[0], bad, good[1], good[0], good[2]], handler)
        await session.commit()
    assert (result.accepted, result.duplicates, result.rejected) == (3, 1, 1)
    async with db.sessionmaker() as session:
        queued = set((await session.execute(select(OUTBOX.outbox.c.event_id))).scalars())
        rows = await session.execute(
            select(OUTBOX.processed.c.event_id, OUTBOX.processed.c.outcome)
        )
        outcomes = {event_id: outcome for event_id, outcome in rows}
    assert queued == {e.id for e in good}
    assert outcomes == {**{e.id: "accepted" for e in good}, bad.id: "rejected"}
    # Delivered again: every id is a duplicate, nothing is applied twice.
    applied.clear()
    async with db.sessionmaker() as session:
        again = await consume(session, OUTBOX, [*good, bad], handler)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 4, 0)
    assert applied == []


async def test_consume_applies_a_clean_batch_without_a_savepoint(db):
    # Two round trips fewer per delivery (SAVEPOINT, RELEASE): a savepoint per event is only
    # for a batch with a refused event (above).
    good = [Event(source="t", type="t.good", data={"n": n}) for n in range(3)]
    seen: list[str] = []

    async def handler(session, event: Event) -> None:
        assert session.sync_session.get_nested_transaction() is None
        seen.append(event.id)

    async with db.sessionmaker() as session:
        result = await consume(session, OUTBOX, good, handler)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, 0)
    assert seen == [e.id for e in good]  # in batch order, each once


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
async def test_a_single_statement_unit_of_work_commits_with_its_statement_on_postgresql(migrated):
    """The gateway's transaction-log writes are one INSERT each (`Database.single_statement`):
    on PostgreSQL they run without BEGIN and COMMIT (two round trips fewer), so the rows are
    durable and seen by others once the statement returns, before the unit of work ends."""
    db = Database(migrated.engine)
    events = [Event(source="t", type="t.logged", data={"n": n}) for n in range(2)]
    ids = [e.id for e in events]
    query = select(OUTBOX.outbox.c.event_id).where(OUTBOX.outbox.c.event_id.in_(ids))
    try:
        async with db.single_statement() as raw:
            await pg_insert_rows(raw, OUTBOX.outbox, outbox_rows([("audit", e) for e in events]))
            async with db.sessionmaker() as other:
                assert sorted((await other.execute(query)).scalars()) == sorted(ids)
    finally:
        async with db.sessionmaker() as session:
            await session.execute(delete(OUTBOX.outbox).where(OUTBOX.outbox.c.event_id.in_(ids)))
            await session.commit()
