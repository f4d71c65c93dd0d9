from datetime import UTC, datetime, timedelta

import pytest

from alpr_common.jwt import MAX_TOKEN_LIFETIME, InvalidToken, JWKSCache, KeyRing, TokenVerifier
from tests.helpers.jwt_attacks import AUDIENCE, ISSUER, bad_tokens


@pytest.fixture
def verifier(keyring):
    return TokenVerifier(JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE)


async def test_valid_token_verifies(verifier, keyring):
    token = keyring.sign(
        {"sub": "user:1"},
        issuer=ISSUER,
        audience=AUDIENCE,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    assert (await verifier.verify(token))["sub"] == "user:1"


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
async def test_forged_and_broken_tokens_refused(verifier, keyring, tmp_path, attack):
    token = bad_tokens(keyring, tmp_path, ["investigator"])[attack]
    with pytest.raises(InvalidToken):
        await verifier.verify(token)


def test_lifetime_is_capped_at_fifteen_minutes(keyring):
    from jose import jwt

    now = datetime.now(UTC)
    token = keyring.sign(
        {"sub": "user:1"},
        issuer=ISSUER,
        audience=AUDIENCE,
        expires_at=now + timedelta(hours=8),
        now=now,
    )
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] <= MAX_TOKEN_LIFETIME.total_seconds()


async def test_rotation_keeps_old_tokens_valid(tmp_path):
    ring = KeyRing.from_dir(tmp_path, create=True)
    old = ring.sign(
        {"sub": "user:1"},
        issuer=ISSUER,
        audience=AUDIENCE,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    KeyRing.write_new_key(tmp_path)
    ring = KeyRing.from_dir(tmp_path)
    new = ring.sign(
        {"sub": "user:2"},
        issuer=ISSUER,
        audience=AUDIENCE,
        expires_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    verifier = TokenVerifier(JWKSCache(static=ring.jwks()), issuer=ISSUER, audience=AUDIENCE)
    assert len(ring.jwks()["keys"]) == 2
    assert (await verifier.verify(old))["sub"] == "user:1"
    assert (await verifier.verify(new))["sub"] == "user:2"
