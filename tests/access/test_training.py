"""344.7: annual training covering four topics, recorded by a training coordinator; no token
training claim without it, lapse shown to the gateway, re-recording restores access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from alpr_common.errors import problem_type
from alpr_common.roles import PERSON_ROLES, Role
from tests.helpers.access import ALL_TOPICS

COORDINATOR = "training_coordinator"


def record(user_id: str, *, topics=ALL_TOPICS, completed_at: datetime | None = None) -> dict:
    completed_at = completed_at or datetime.now(UTC) - timedelta(hours=2)
    return {
        "user_id": user_id,
        "course": "ALPR policy and data handling",
        "version": "2026.1",
        "topics": list(topics),
        "completed_at": completed_at.isoformat(),
    }


async def status_of(client, tokens, subject: str) -> dict:
    resp = await client.get(f"/v1/principals/{subject}/status", headers=tokens.headers("service"))
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.policy("344.7(a)")
async def test_coordinator_records_training_with_all_topics(
    client, tokens, make_person, outbox_events
):
    person = await make_person("investigator", trained_at=None)
    completed = datetime.now(UTC) - timedelta(days=1)

    resp = await client.post(
        "/v1/training-records",
        json=record(person.id, completed_at=completed),
        headers=tokens.headers(COORDINATOR, subject="user:coord-1"),
    )

    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert sorted(body["topics"]) == sorted(ALL_TOPICS)
    assert body["recorded_by"] == "user:coord-1"
    expected = completed + timedelta(days=365)
    assert datetime.fromisoformat(body["valid_until"]) == expected
    status = await status_of(client, tokens, person.subject)
    assert datetime.fromisoformat(status["training_valid_until"]) == expected
    event = (await outbox_events("access.training_recorded"))[0]
    assert event["data"]["actor"] == "user:coord-1"
    assert event["data"]["user_id"] == person.id


@pytest.mark.policy("344.7(a)")
@pytest.mark.parametrize("missing", ALL_TOPICS)
async def test_training_missing_a_topic_is_refused(client, tokens, make_person, missing):
    person = await make_person("investigator", trained_at=None)
    topics = [t for t in ALL_TOPICS if t != missing]

    resp = await client.post(
        "/v1/training-records",
        json=record(person.id, topics=topics),
        headers=tokens.headers(COORDINATOR),
    )

    assert resp.status_code == 422
    assert resp.json()["type"] == problem_type("IncompleteTraining")
    assert resp.json()["missing_topics"] == [missing]
    status = await status_of(client, tokens, person.subject)
    assert status["training_valid_until"] is None


@pytest.mark.policy("344.7(a)")
@pytest.mark.parametrize(
    "role", sorted(r.value for r in PERSON_ROLES if r != Role.TRAINING_COORDINATOR)
)
async def test_only_a_training_coordinator_records_training(client, tokens, make_person, role):
    person = await make_person("investigator", trained_at=None)

    resp = await client.post(
        "/v1/training-records", json=record(person.id), headers=tokens.headers(role)
    )

    assert resp.status_code == 403


@pytest.mark.policy("344.7(a)")
async def test_a_coordinator_cannot_record_their_own_training(client, tokens, make_person):
    coordinator = await make_person(COORDINATOR, trained_at=None)

    resp = await client.post(
        "/v1/training-records",
        json=record(coordinator.id),
        headers=tokens.headers(COORDINATOR, subject=coordinator.subject),
    )

    assert resp.status_code == 403


async def test_training_cannot_be_recorded_in_advance(client, tokens, make_person):
    person = await make_person("officer", trained_at=None)

    resp = await client.post(
        "/v1/training-records",
        json=record(person.id, completed_at=datetime.now(UTC) + timedelta(days=2)),
        headers=tokens.headers(COORDINATOR),
    )

    assert resp.status_code == 422


@pytest.mark.policy("344.7(b)")
async def test_lapse_is_shown_and_re_recorded_training_restores_access(
    client, tokens, make_person, login
):
    lapsed_on = datetime.now(UTC) - timedelta(days=366)
    person = await make_person("investigator", trained_at=lapsed_on)

    status = await status_of(client, tokens, person.subject)
    assert datetime.fromisoformat(status["training_valid_until"]) < datetime.now(UTC)
    first = jwt.get_unverified_claims((await login(person)).json()["access_token"])
    assert "trn" not in first

    resp = await client.post(
        "/v1/training-records", json=record(person.id), headers=tokens.headers(COORDINATOR)
    )
    assert resp.status_code == 201

    status = await status_of(client, tokens, person.subject)
    assert datetime.fromisoformat(status["training_valid_until"]) > datetime.now(UTC)
    second = jwt.get_unverified_claims((await login(person)).json()["access_token"])
    assert second["trn"] == int(datetime.fromisoformat(status["training_valid_until"]).timestamp())


@pytest.mark.policy("344.7(b)")
async def test_training_expiry_follows_the_latest_record(client, tokens, make_person):
    person = await make_person("officer", trained_at=None)
    newest = datetime.now(UTC) - timedelta(days=3)
    for completed in (newest, newest - timedelta(days=200)):
        resp = await client.post(
            "/v1/training-records",
            json=record(person.id, completed_at=completed),
            headers=tokens.headers(COORDINATOR),
        )
        assert resp.status_code == 201

    status = await status_of(client, tokens, person.subject)
    listed = await client.get(
        "/v1/training-records",
        params={"user_id": person.id},
        headers=tokens.headers("chief_security_officer"),
    )

    assert datetime.fromisoformat(status["training_valid_until"]) == newest + timedelta(days=365)
    completions = [datetime.fromisoformat(r["completed_at"]) for r in listed.json()["items"]]
    assert completions == [newest, newest - timedelta(days=200)]


async def test_status_of_unknown_principal_is_not_found(client, tokens):
    for subject in ("user:nobody", "client:nothing"):
        resp = await client.get(
            f"/v1/principals/{subject}/status", headers=tokens.headers("service")
        )
        assert resp.status_code == 404


async def test_status_is_for_services_only(client, tokens, make_person):
    person = await make_person("officer")

    resp = await client.get(
        f"/v1/principals/{person.subject}/status", headers=tokens.headers("admin")
    )

    assert resp.status_code == 403
