"""The token endpoint, the JWKS and the signing keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from alpr_access.errors import GrantRefused
from alpr_access.main import create_app
from alpr_access.security import (
    PUBLISH_LEAD,
    RETIRE_AFTER,
    KeyStore,
    retirable_keys,
    rotate_key,
)
from alpr_common.jwt import MAX_TOKEN_LIFETIME, JWKSCache, KeyRing, TokenVerifier
from tests.helpers.access import STRONG_PASSWORD

GENERIC_REFUSAL = "invalid credentials"


def claims_of(token: str) -> dict:
    return jwt.get_unverified_claims(token)


async def test_password_and_totp_give_a_short_signed_token(make_person, login, client):
    person = await make_person("investigator")

    resp = await login(person)

    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["token_type"] == "bearer"
    assert resp.headers["cache-control"] == "no-store"
    claims = claims_of(body["access_token"])
    assert claims["sub"] == person.subject
    assert claims["knd"] == "person"
    assert claims["roles"] == ["investigator"]
    assert claims["iss"] == "alpr-access" and claims["aud"] == "alpr"
    assert claims["exp"] - claims["iat"] <= MAX_TOKEN_LIFETIME.total_seconds()
    assert 0 < body["expires_in"] <= MAX_TOKEN_LIFETIME.total_seconds()
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "ES256"
    me = await client.get(
        "/v1/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.status_code == 200 and me.json()["username"] == person.username


async def test_totp_is_required(make_person, client):
    person = await make_person("officer")

    resp = await client.post(
        "/v1/token",
        data={"grant_type": "password", "username": person.username, "password": STRONG_PASSWORD},
    )

    # RFC 6749 5.2: refused resource-owner credentials are `invalid_grant`, 400.
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_grant"
    assert resp.json()["type"] == GrantRefused.type_uri()


async def test_wrong_totp_is_refused(make_person, login):
    person = await make_person("officer")
    good = person.code()
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"

    resp = await login(person, totp=wrong)

    assert resp.status_code == 400


async def test_a_totp_code_is_accepted_once(make_person, login):
    person = await make_person("officer")
    code = person.code()

    assert (await login(person, totp=code)).status_code == 200
    assert (await login(person, totp=code)).status_code == 400


async def test_refusals_never_reveal_whether_the_name_exists(make_person, client, login):
    person = await make_person("officer")

    wrong_password = await login(person, password="not-the-password-at-all")
    unknown = await client.post(
        "/v1/token",
        data={
            "grant_type": "password",
            "username": "nobody-here",
            "password": "not-the-password-at-all",
            "totp": "123456",
        },
    )

    assert wrong_password.status_code == unknown.status_code == 400
    a, b = wrong_password.json(), unknown.json()
    assert (a["type"], a["detail"]) == (b["type"], b["detail"])
    assert GENERIC_REFUSAL in a["detail"]


async def test_inactive_and_unenrolled_people_are_refused(make_person, login, client, tokens):
    inactive = await make_person("officer", active=False)
    created = await client.post(
        "/v1/users",
        json={"username": "newbie", "full_name": "New Bie", "badge": "77"},
        headers=tokens.headers("chief_security_officer"),
    )
    assert created.status_code == 201

    assert (await login(inactive)).status_code == 400
    unenrolled = await client.post(
        "/v1/token",
        data={
            "grant_type": "password",
            "username": "newbie",
            "password": STRONG_PASSWORD,
            "totp": "123456",
        },
    )
    assert unenrolled.status_code == 400
    attempts = await client.get(
        "/v1/login-attempts", headers=tokens.headers("chief_security_officer")
    )
    assert sorted(a["reason"] for a in attempts.json()["items"]) == ["inactive", "not_enrolled"]


@pytest.mark.policy("344.7(b)")
async def test_person_without_training_gets_a_token_without_trn(make_person, login):
    person = await make_person("investigator", trained_at=None)

    resp = await login(person)

    assert resp.status_code == 200
    claims = claims_of(resp.json()["access_token"])
    assert "trn" not in claims
    assert claims["roles"] == ["investigator"]


@pytest.mark.policy("344.7(b)")
async def test_lapsed_training_gives_no_trn(make_person, login):
    person = await make_person("investigator", trained_at=datetime.now(UTC) - timedelta(days=366))

    claims = claims_of((await login(person)).json()["access_token"])

    assert "trn" not in claims


@pytest.mark.policy("344.7(b)")
async def test_token_never_outlives_training(make_person, login):
    # Trained 365 days minus 5 minutes ago: the training expires in 5 minutes.
    completed = datetime.now(UTC) - timedelta(days=365) + timedelta(minutes=5)
    person = await make_person("investigator", trained_at=completed)

    resp = await login(person)

    claims = claims_of(resp.json()["access_token"])
    expiry = completed + timedelta(days=365)
    assert claims["trn"] == int(expiry.timestamp())
    assert claims["exp"] <= claims["trn"]
    assert claims["exp"] - claims["iat"] <= 5 * 60
    assert resp.json()["expires_in"] <= 5 * 60


async def test_trained_person_token_carries_training_expiry(make_person, login):
    completed = datetime.now(UTC) - timedelta(days=10)
    person = await make_person("officer", trained_at=completed)

    claims = claims_of((await login(person)).json()["access_token"])

    assert claims["trn"] == int((completed + timedelta(days=365)).timestamp())
    assert claims["exp"] - claims["iat"] == MAX_TOKEN_LIFETIME.total_seconds()


async def test_incomplete_password_grant_is_malformed(client):
    resp = await client.post("/v1/token", data={"grant_type": "password", "username": "x"})

    assert resp.status_code == 400 and resp.json()["error"] == "invalid_request"


async def test_unknown_grant_type_is_malformed(client):
    resp = await client.post("/v1/token", data={"grant_type": "implicit"})

    assert resp.status_code == 400 and resp.json()["error"] == "unsupported_grant_type"


async def test_jwks_publishes_the_signing_key(client, keyring):
    resp = await client.get("/.well-known/jwks.json")

    assert resp.status_code == 200
    kids = {k["kid"] for k in resp.json()["keys"]}
    assert keyring.active.kid in kids
    assert all(k["alg"] == "ES256" and "d" not in k for k in resp.json()["keys"])


async def test_tokens_verify_against_the_published_jwks(make_person, login, client):
    person = await make_person("officer")
    token = (await login(person)).json()["access_token"]
    jwks = (await client.get("/.well-known/jwks.json")).json()

    verifier = TokenVerifier(JWKSCache(static=jwks), issuer="alpr-access", audience="alpr")

    assert (await verifier.verify(token))["sub"] == person.subject


async def test_key_rotation_keeps_old_tokens_valid_and_publishes_both(tmp_path, app_settings):
    key_dir = tmp_path / "keys"
    app = create_app(app_settings.model_copy(update={"signing_key_dir": key_dir}))
    store: KeyStore = app.state.keys
    now = datetime.now(UTC)
    old_kid = store.signing_ring(now).active.kid
    old_token = sign(store, now, "user:x")

    new_kid = rotate_key(key_dir)
    store.reload(force=True)

    assert {k["kid"] for k in (await app_jwks(app))["keys"]} == {old_kid, new_kid}
    # Published at once, signing only after the lead: verifiers learn the key first.
    assert store.signing_ring(now).active.kid == old_kid
    later = now + PUBLISH_LEAD + timedelta(seconds=1)
    assert store.signing_ring(later).active.kid == new_kid
    new_token = sign(store, later, "user:y")
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    verifier = app.state.verifier
    assert (await verifier.verify(old_token))["sub"] == "user:x"
    assert (await verifier.verify(new_token))["sub"] == "user:y"
    # The old key cannot be retired while tokens it signed may still be live.
    assert retirable_keys(key_dir) == []
    much_later = now + RETIRE_AFTER + timedelta(minutes=1)
    assert [p.stem for p in retirable_keys(key_dir, now=much_later)] == [old_kid]


def sign(store: KeyStore, now: datetime, subject: str) -> str:
    return store.signing_ring(now).sign(
        {"sub": subject, "knd": "person", "name": "x", "roles": ["officer"]},
        issuer="alpr-access",
        audience="alpr",
        expires_at=datetime.now(UTC) + timedelta(minutes=10),
        now=datetime.now(UTC),
    )


async def app_jwks(app) -> dict:
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as c:
        return (await c.get("/.well-known/jwks.json")).json()


async def test_prod_refuses_to_start_without_provisioned_keys(tmp_path, app_settings):
    settings = app_settings.model_copy(
        update={"environment": "prod", "signing_key_dir": tmp_path / "absent"}
    )

    with pytest.raises(FileNotFoundError):
        create_app(settings)


async def test_prod_uses_provisioned_keys(tmp_path, app_settings):
    KeyRing.write_new_key(tmp_path)
    settings = app_settings.model_copy(update={"environment": "prod", "signing_key_dir": tmp_path})

    app = create_app(settings)

    assert app.state.keys.ring.active.kid == KeyRing.from_dir(tmp_path).active.kid


async def test_access_mints_its_own_service_token_for_its_relay(app):
    token = await app.state.tokens.get()

    claims = await app.state.verifier.verify(token)

    assert (claims["sub"], claims["roles"], claims["knd"]) == (
        "client:access",
        ["service"],
        "machine",
    )
    assert app.state.relay.token == app.state.tokens.get
