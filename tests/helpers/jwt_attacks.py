"""Forged and broken tokens, each of which must be refused with 401 wherever a token is checked."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alpr_common.auth import principal_claims
from alpr_common.jwt import KeyRing

ISSUER, AUDIENCE = "alpr-access", "alpr"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(roles: list[str]) -> dict:
    return principal_claims(
        subject="user:attacker",
        kind="person",
        name="x",
        roles=roles,
        training_valid_until=datetime.now(UTC) + timedelta(days=30),
    )


def _sign_raw(
    keyring: KeyRing, claims: dict, *, iat: datetime, nbf: datetime, exp: datetime
) -> str:
    """Signed with the real key, bypassing `KeyRing.sign`'s lifetime cap: what a leaked or
    misused signing path could produce."""
    from jose import jwt

    payload = {
        **claims,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(iat.timestamp()),
        "nbf": int(nbf.timestamp()),
        "exp": int(exp.timestamp()),
        "jti": "raw-" + _b64(iat.isoformat().encode())[:16],
    }
    key = keyring.active
    return jwt.encode(
        payload, key.private_pem.decode(), algorithm="ES256", headers={"kid": key.kid}
    )


def bad_tokens(keyring: KeyRing, tmp: Path, roles: list[str]) -> dict[str, str]:
    now = datetime.now(UTC)
    good = keyring.sign(
        _claims(roles), issuer=ISSUER, audience=AUDIENCE, expires_at=now + timedelta(minutes=5)
    )
    header, payload, sig = good.split(".")
    kid = keyring.active.kid
    body = json.loads(base64.urlsafe_b64decode(payload + "=="))

    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    public_pem = keyring.active.public_jwk  # the attacker knows the public key
    hs_header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    secret = json.dumps(public_pem, sort_keys=True).encode()
    hs_sig = _b64(hmac.new(secret, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest())

    tampered_body = dict(body, roles=["chief_security_officer", *roles])
    tampered = f"{header}.{_b64(json.dumps(tampered_body).encode())}.{sig}"

    KeyRing.write_new_key(tmp)
    stranger = KeyRing.from_dir(tmp)
    return {
        "alg_none": f"{none_header}.{payload}.",
        "hs256_with_public_key": f"{hs_header}.{payload}.{hs_sig}",
        "expired": keyring.sign(
            _claims(roles),
            issuer=ISSUER,
            audience=AUDIENCE,
            now=now - timedelta(hours=1),
            expires_at=now - timedelta(minutes=50),
        ),
        "not_yet_valid": keyring.sign(
            _claims(roles),
            issuer=ISSUER,
            audience=AUDIENCE,
            now=now + timedelta(hours=1),
            expires_at=now + timedelta(hours=1, minutes=5),
        ),
        "wrong_issuer": keyring.sign(
            _claims(roles),
            issuer="evil-idp",
            audience=AUDIENCE,
            expires_at=now + timedelta(minutes=5),
        ),
        "wrong_audience": keyring.sign(
            _claims(roles),
            issuer=ISSUER,
            audience="other-app",
            expires_at=now + timedelta(minutes=5),
        ),
        "unknown_kid": stranger.sign(
            _claims(roles), issuer=ISSUER, audience=AUDIENCE, expires_at=now + timedelta(minutes=5)
        ),
        "tampered_payload": tampered,
        # Issue 13 defect 6: the real key, but a year's lifetime, or issued in the future.
        "overlong_lifetime": _sign_raw(
            keyring, _claims(roles), iat=now, nbf=now, exp=now + timedelta(days=365)
        ),
        "issued_in_future": _sign_raw(
            keyring,
            _claims(roles),
            iat=now + timedelta(hours=1),
            nbf=now - timedelta(seconds=1),
            exp=now + timedelta(minutes=10),
        ),
        "garbage": "not.a.token",
    }
