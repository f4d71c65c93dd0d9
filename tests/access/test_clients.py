"""Machine clients: cameras, agencies and services; camera ingest keys and their exchange."""

from __future__ import annotations

import pytest
from jose import jwt
from pydantic import SecretStr
from sqlalchemy import select

from alpr_access import clients as access_clients
from alpr_access.main import seed_service_clients
from alpr_access.models import Client, IngestKey

CSO = "chief_security_officer"


async def create_client(client, tokens, **body) -> dict:
    resp = await client.post(
        "/v1/clients", json=body, headers=tokens.headers(CSO, subject="user:cso-1")
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


async def client_token(client, client_id: str, secret: str):
    return await client.post(
        "/v1/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
        },
    )


async def test_camera_client_gets_a_token_bound_to_its_cameras(client, tokens, outbox_events):
    created = await create_client(
        client, tokens, name="Rekor fleet", kind="camera", cameras=["atx-1", "atx-2", "atx-1"]
    )

    resp = await client_token(client, created["client"]["id"], created["client_secret"])

    assert resp.status_code == 200, resp.text
    claims = jwt.get_unverified_claims(resp.json()["access_token"])
    assert claims["sub"] == f"client:{created['client']['id']}"
    assert (claims["knd"], claims["roles"], claims["cams"]) == (
        "machine",
        ["camera"],
        ["atx-1", "atx-2"],
    )
    assert "trn" not in claims and "agency" not in claims
    event = (await outbox_events("access.client_created"))[0]
    assert event["data"]["actor"] == "user:cso-1"
    assert created["client_secret"] not in str(event)


async def test_agency_client_gets_a_token_bound_to_its_agency(client, tokens):
    created = await create_client(client, tokens, name="TCSO", kind="agency", agency_id="tx-tcso")

    resp = await client_token(client, created["client"]["id"], created["client_secret"])

    claims = jwt.get_unverified_claims(resp.json()["access_token"])
    assert (claims["roles"], claims["agency"]) == (["agency"], "tx-tcso")
    assert "cams" not in claims


@pytest.mark.parametrize(
    "body",
    [
        {"name": "cam", "kind": "camera"},
        {"name": "cam", "kind": "camera", "cameras": ["a"], "agency_id": "x"},
        {"name": "agency", "kind": "agency"},
        {"name": "agency", "kind": "agency", "agency_id": "x", "cameras": ["a"]},
        {"name": "svc", "kind": "service"},
    ],
)
async def test_bindings_must_fit_the_kind(client, tokens, body):
    resp = await client.post("/v1/clients", json=body, headers=tokens.headers(CSO))

    assert resp.status_code == 422


async def test_wrong_secret_and_revoked_clients_are_refused(client, tokens):
    created = await create_client(client, tokens, name="cam", kind="camera", cameras=["c1"])
    client_id = created["client"]["id"]

    wrong = await client_token(client, client_id, "not-the-secret")
    revoke = await client.delete(f"/v1/clients/{client_id}", headers=tokens.headers(CSO))
    revoked = await client_token(client, client_id, created["client_secret"])
    status = await client.get(
        f"/v1/principals/client:{client_id}/status", headers=tokens.headers("service")
    )

    assert wrong.status_code == 401 and revoked.status_code == 401
    assert revoke.status_code == 200 and revoke.json()["active"] is False
    assert status.json() == {
        "subject": f"client:{client_id}",
        "kind": "machine",
        "active": False,
        "roles": ["camera"],
        "training_valid_until": None,
        "tokens_valid_after": None,
        "revoked_token_ids": [],
    }


async def test_rotating_a_secret_stops_the_old_one(client, tokens):
    created = await create_client(client, tokens, name="cam", kind="camera", cameras=["c1"])
    client_id = created["client"]["id"]

    rotated = await client.post(f"/v1/clients/{client_id}/secrets", headers=tokens.headers(CSO))

    assert rotated.status_code == 201
    assert (await client_token(client, client_id, created["client_secret"])).status_code == 401
    new_secret = rotated.json()["client_secret"]
    assert (await client_token(client, client_id, new_secret)).status_code == 200


async def test_client_secrets_are_stored_hashed(client, tokens, db):
    created = await create_client(client, tokens, name="cam", kind="camera", cameras=["c1"])

    async with db.sessionmaker() as session:
        stored = await session.get(Client, created["client"]["id"])

    assert stored.secret_hash.startswith("$argon2id$")
    assert created["client_secret"] not in stored.secret_hash


async def test_service_clients_are_seeded_and_get_service_tokens(app, client, db, outbox_events):
    app.state.settings = app.state.settings.model_copy(
        update={
            "service_clients": SecretStr("gateway:gw-secret-0123456789,audit:au-secret-0123456789")
        }
    )

    async with seed_service_clients(app):
        pass
    async with seed_service_clients(app):  # idempotent
        pass

    resp = await client_token(client, "gateway", "gw-secret-0123456789")
    assert resp.status_code == 200
    claims = jwt.get_unverified_claims(resp.json()["access_token"])
    assert (claims["sub"], claims["roles"]) == ("client:gateway", ["service"])
    created = await outbox_events("access.client_created")
    assert sorted(e["data"]["client_id"] for e in created) == ["audit", "gateway"]


async def test_changed_service_secret_is_updated(app, client, in_session):
    await in_session(
        access_clients.seed_service_clients,
        passwords=app.state.passwords,
        clients={"hotlist": "old-1"},
    )

    changed = await in_session(
        access_clients.seed_service_clients,
        passwords=app.state.passwords,
        clients={"hotlist": "new-2"},
    )

    assert changed == ["hotlist"]
    assert (await client_token(client, "hotlist", "old-1")).status_code == 401
    assert (await client_token(client, "hotlist", "new-2")).status_code == 200


async def test_ingest_key_is_exchanged_for_a_camera_token(client, tokens, db, outbox_events):
    created = await create_client(client, tokens, name="Axis", kind="camera", cameras=["c1", "c2"])
    resp = await client.post(
        "/v1/ingest-keys",
        json={"client_id": created["client"]["id"], "cameras": ["c2"], "label": "pole 7"},
        headers=tokens.headers(CSO),
    )
    assert resp.status_code == 201, resp.text
    key = resp.json()["key"]
    assert resp.json()["ingest_key"]["prefix"] == key[:12]

    exchanged = await client.post(
        "/v1/ingest-keys/exchange",
        json={"key": key},
        headers={**tokens.headers("service"), "X-Forwarded-For": "203.0.113.50"},
    )

    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    claims = jwt.get_unverified_claims(body["access_token"])
    assert (claims["roles"], claims["cams"]) == (["camera"], ["c2"])
    assert claims["sub"] == f"client:{created['client']['id']}"
    assert body["expires_in"] <= 300
    async with db.sessionmaker() as session:
        hashes = (await session.execute(select(IngestKey.key_hash))).scalars().all()
    assert key not in hashes and len(hashes[0]) == 64
    attempt = (await outbox_events("access.login_attempt"))[-1]["data"]
    assert (attempt["outcome"], attempt["source_address"]) == ("success", "203.0.113.50")


async def test_revoked_or_unknown_ingest_keys_are_refused(client, tokens):
    created = await create_client(client, tokens, name="Axis", kind="camera", cameras=["c1"])
    issued = (
        await client.post(
            "/v1/ingest-keys",
            json={"client_id": created["client"]["id"]},
            headers=tokens.headers(CSO),
        )
    ).json()
    key_id = issued["ingest_key"]["id"]

    revoke = await client.delete(f"/v1/ingest-keys/{key_id}", headers=tokens.headers(CSO))
    again = await client.delete(f"/v1/ingest-keys/{key_id}", headers=tokens.headers(CSO))
    revoked = await client.post(
        "/v1/ingest-keys/exchange", json={"key": issued["key"]}, headers=tokens.headers("service")
    )
    unknown = await client.post(
        "/v1/ingest-keys/exchange", json={"key": "aik_guess"}, headers=tokens.headers("service")
    )

    assert revoke.status_code == 200 and revoke.json()["revoked_at"]
    assert again.status_code == 409
    assert revoked.status_code == unknown.status_code == 401


async def test_revoking_a_client_revokes_its_keys(client, tokens):
    created = await create_client(client, tokens, name="Axis", kind="camera", cameras=["c1"])
    client_id = created["client"]["id"]
    key = (
        await client.post(
            "/v1/ingest-keys", json={"client_id": client_id}, headers=tokens.headers(CSO)
        )
    ).json()["key"]

    await client.delete(f"/v1/clients/{client_id}", headers=tokens.headers(CSO))
    listed = await client.get(
        "/v1/ingest-keys", params={"client_id": client_id}, headers=tokens.headers(CSO)
    )
    exchanged = await client.post(
        "/v1/ingest-keys/exchange", json={"key": key}, headers=tokens.headers("service")
    )

    assert [k["revoked_at"] is not None for k in listed.json()["items"]] == [True]
    assert exchanged.status_code == 401


async def test_ingest_keys_only_for_a_clients_own_cameras(client, tokens):
    camera = await create_client(client, tokens, name="Axis", kind="camera", cameras=["c1"])
    agency = await create_client(client, tokens, name="TCSO", kind="agency", agency_id="tcso")

    foreign = await client.post(
        "/v1/ingest-keys",
        json={"client_id": camera["client"]["id"], "cameras": ["c9"]},
        headers=tokens.headers(CSO),
    )
    for_agency = await client.post(
        "/v1/ingest-keys", json={"client_id": agency["client"]["id"]}, headers=tokens.headers(CSO)
    )

    assert foreign.status_code == for_agency.status_code == 422


async def test_camera_removed_from_client_drops_out_of_exchanged_tokens(client, tokens):
    created = await create_client(client, tokens, name="Axis", kind="camera", cameras=["c1", "c2"])
    client_id = created["client"]["id"]
    key = (
        await client.post(
            "/v1/ingest-keys", json={"client_id": client_id}, headers=tokens.headers(CSO)
        )
    ).json()["key"]

    patched = await client.patch(
        f"/v1/clients/{client_id}", json={"cameras": ["c2"]}, headers=tokens.headers(CSO)
    )
    exchanged = await client.post(
        "/v1/ingest-keys/exchange", json={"key": key}, headers=tokens.headers("service")
    )

    assert patched.status_code == 200 and patched.json()["cameras"] == ["c2"]
    assert jwt.get_unverified_claims(exchanged.json()["access_token"])["cams"] == ["c2"]


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("role", ["camera", "agency", "admin", CSO])
async def test_only_services_exchange_ingest_keys(client, tokens, role):
    resp = await client.post(
        "/v1/ingest-keys/exchange", json={"key": "aik_x"}, headers=tokens.headers(role)
    )

    assert resp.status_code == 403


async def test_client_authenticates_with_http_basic_at_the_token_endpoint(client, tokens):
    """RFC 6749 2.3.1: the client id and secret may come as HTTP basic, form-urlencoded."""
    created = await create_client(client, tokens, name="Rekor fleet", kind="camera", cameras=["c1"])
    client_id, secret = created["client"]["id"], created["client_secret"]

    resp = await client.post(
        "/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["cache-control"] == "no-store"

    wrong = await client.post(
        "/v1/token", data={"grant_type": "client_credentials"}, auth=(client_id, "nope")
    )
    assert wrong.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["error"] == "invalid_client"
    assert wrong.headers["www-authenticate"].startswith("Basic realm=")

    twice = await client.post(
        "/v1/token",
        data={"grant_type": "client_credentials", "client_secret": secret},
        auth=(client_id, secret),
    )
    assert twice.status_code == 400 and twice.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("form", "headers", "error"),
    [
        ({"grant_type": "authorization_code", "code": "x"}, {}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, {}, "unsupported_grant_type"),
        ({}, {}, "invalid_request"),
        ({"grant_type": "password", "username": "x"}, {}, "invalid_request"),
        ({"grant_type": "client_credentials", "client_id": "x"}, {}, "invalid_request"),
        ({"grant_type": "password", "username": "a\x00b", "password": "p"}, {}, "invalid_request"),
        ({"grant_type": "client_credentials"}, {"Authorization": "Basic !!"}, "invalid_request"),
        ({"grant_type": "client_credentials"}, {"Authorization": "Bearer x"}, "invalid_request"),
    ],
)
async def test_token_endpoint_errors_are_rfc6749(client, form, headers, error):
    resp = await client.post("/v1/token", data=form, headers=headers)

    assert resp.status_code == 400, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["error"] == error
    assert body["error_description"] == body["detail"]
    assert body["type"] == f"urn:alpr:problem:oauth:{error}"


async def test_token_endpoint_refuses_an_undecodable_form_as_invalid_request(client):
    resp = await client.post(
        "/v1/token",
        content=b"grant_type=password&username=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"] == "invalid_request"


async def test_token_json_body_is_invalid_request(client):
    resp = await client.post("/v1/token", json={"grant_type": "password"})
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"
