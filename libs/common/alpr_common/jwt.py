"""The one place JWTs are made and checked (python-jose, cryptography backend).

Algorithms are pinned to ES256: a token whose header names anything else (`none`, HS256 signed
with the public key, RS256) is refused before any key is touched.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jose import jwk, jwt
from jose.exceptions import ExpiredSignatureError, JWTClaimsError, JWTError

from alpr_common.errors import Unauthorized

ALGORITHM = "ES256"
ALGORITHMS = [ALGORITHM]
REQUIRED_CLAIMS = ("sub", "iss", "aud", "exp", "iat", "nbf", "jti")
MAX_TOKEN_LIFETIME = timedelta(minutes=15)
LEEWAY_SECONDS = 5


class InvalidToken(Unauthorized):
    """The bearer token is missing, malformed, unsigned by us, expired or meant for others."""


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_pem: bytes

    @property
    def public_jwk(self) -> dict[str, Any]:
        private = serialization.load_pem_private_key(self.private_pem, password=None)
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        data = jwk.construct(public_pem, ALGORITHM).to_dict()
        data.update({"kid": self.kid, "use": "sig", "alg": ALGORITHM})
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in data.items()}


def generate_private_pem() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class KeyRing:
    """Signing keys, newest last. The newest signs; all are published until retired, so a key
    rotation never invalidates tokens that are still within their lifetime."""

    keys: list[SigningKey] = field(default_factory=list)

    @classmethod
    def from_dir(cls, directory: Path, *, create: bool = False) -> KeyRing:
        directory.mkdir(parents=True, exist_ok=True) if create else None
        paths = sorted(directory.glob("*.pem")) if directory.exists() else []
        if not paths and create:
            paths = [cls.write_new_key(directory)]
        if not paths:
            raise FileNotFoundError(
                f"no signing key (*.pem) in {directory}: run `python -m alpr_access rotate-key`"
            )
        return cls([SigningKey(kid=p.stem, private_pem=p.read_bytes()) for p in paths])

    @staticmethod
    def write_new_key(directory: Path) -> Path:
        # Names sort by creation time, so the newest key is always last.
        kid = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        path = directory / f"{kid}.pem"
        path.write_bytes(generate_private_pem())
        path.chmod(0o600)
        return path

    @property
    def active(self) -> SigningKey:
        return self.keys[-1]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [k.public_jwk for k in self.keys]}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        issuer: str,
        audience: str,
        expires_at: datetime,
        now: datetime | None = None,
    ) -> str:
        now = now or datetime.now(UTC)
        if expires_at - now > MAX_TOKEN_LIFETIME:
            expires_at = now + MAX_TOKEN_LIFETIME
        payload = {
            **claims,
            "iss": issuer,
            "aud": audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
            "jti": uuid.uuid4().hex,
        }
        key = self.active
        return jwt.encode(
            payload, key.private_pem.decode(), algorithm=ALGORITHM, headers={"kid": key.kid}
        )


class JWKSCache:
    """Public keys by kid, fetched from the issuer's JWKS URL; an unknown kid triggers at most one
    refresh every `min_refresh_seconds`, so a flood of forged kids cannot hammer the issuer."""

    def __init__(
        self,
        url: str | None = None,
        *,
        static: dict[str, Any] | None = None,
        min_refresh_seconds: float = 10.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = url
        self.keys: dict[str, dict[str, Any]] = {}
        self._min_refresh = min_refresh_seconds
        self._last_fetch = 0.0
        self._lock = asyncio.Lock()
        self._client = client
        if static:
            self._load(static)

    def _load(self, jwks: dict[str, Any]) -> None:
        self.keys = {k["kid"]: k for k in jwks.get("keys", []) if "kid" in k}

    async def refresh(self) -> None:
        if self.url is None:
            return
        async with self._lock:
            if time.monotonic() - self._last_fetch < self._min_refresh:
                return
            self._last_fetch = time.monotonic()
            try:
                if self._client is not None:
                    resp = await self._client.get(self.url, timeout=5.0)
                else:
                    async with httpx.AsyncClient(timeout=5.0) as client:
                        resp = await client.get(self.url)
                resp.raise_for_status()
                self._load(resp.json())
            except (httpx.HTTPError, ValueError):
                # Keep the keys we have; the next unknown kid retries after the interval.
                return

    async def get(self, kid: str) -> dict[str, Any] | None:
        if kid not in self.keys:
            await self.refresh()
        return self.keys.get(kid)


@dataclass
class TokenVerifier:
    jwks: JWKSCache
    issuer: str
    audience: str
    # A token whose signature and claims were checked once is remembered until it expires, so a
    # client reusing its token does not pay an ECDSA verification per request.
    _verified: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    async def verify(self, token: str) -> dict[str, Any]:
        claims = self._verified.get(token)
        if claims is not None:
            if claims["exp"] + LEEWAY_SECONDS > time.time():
                return claims
            del self._verified[token]
        claims = await self._verify(token)
        if len(self._verified) >= 50_000:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except JWTError as exc:
            raise InvalidToken("malformed bearer token") from exc
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"token algorithm {header.get('alg')!r} refused; only ES256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token has no key id (kid)")
        key = await self.jwks.get(kid)
        if key is None:
            raise InvalidToken("token signed with an unknown key id")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={
                    "require_" + c: True for c in ("exp", "iat", "nbf", "aud", "iss", "sub", "jti")
                }
                | {"leeway": LEEWAY_SECONDS},
            )
        except ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except JWTClaimsError as exc:
            raise InvalidToken(f"token claims refused: {exc}") from exc
        except JWTError as exc:
            raise InvalidToken(f"token refused: {exc}") from exc
        missing = [c for c in REQUIRED_CLAIMS if c not in claims]
        if missing:
            raise InvalidToken(f"token lacks claims: {', '.join(missing)}")
        check_lifetime(claims)
        return claims


def check_lifetime(claims: dict[str, Any], *, now: float | None = None) -> None:
    """Refuse what our issuer never signs: a lifetime over the cap, or a token issued in the
    future (beyond the clock skew allowed). A signing key misused elsewhere, or a clock gone
    wrong, must not yield a token that outlives deactivation by a year."""
    iat, exp = claims.get("iat"), claims.get("exp")
    if not isinstance(iat, int | float) or not isinstance(exp, int | float):
        raise InvalidToken("token times (iat, exp) must be numbers")
    if exp - iat > MAX_TOKEN_LIFETIME.total_seconds():
        raise InvalidToken(
            f"token lifetime {int(exp - iat)} s exceeds the "
            f"{int(MAX_TOKEN_LIFETIME.total_seconds())} s cap"
        )
    if iat > (time.time() if now is None else now) + LEEWAY_SECONDS:
        raise InvalidToken("token issued in the future; check the issuer's clock")
