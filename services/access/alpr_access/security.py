"""Credentials: argon2id password hashes, the password rules, TOTP, random one-time secrets, and
the signing keys access owns (reloaded when `rotate-key` adds one)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from alpr_access.errors import WeakPassword
from alpr_access.settings import AccessSettings
from alpr_common.auth import principal_claims
from alpr_common.jwt import (
    LEEWAY_SECONDS,
    MAX_TOKEN_LIFETIME,
    JWKSCache,
    KeyRing,
    generate_private_pem,
)
from alpr_common.roles import Role

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256
TOTP_STEP_SECONDS = 30
# A code from the previous or next 30 s step is accepted, for clock drift.
TOTP_DRIFT_STEPS = 1

# The most common passwords of the public breach corpora (and their obvious local variants). A
# password equal to one of them, or one of them with digits/symbols tacked on, is refused.
BANNED_PASSWORDS = frozenset(
    """
    123456 123456789 12345678 1234567890 123123 111111 000000 654321 666666 121212 112233
    1234567 12345 1q2w3e4r 1q2w3e4r5t 1qaz2wsx qwerty qwertyuiop qwerty123 qwertyuiopasdfgh
    asdfghjkl zxcvbnm password passw0rd p@ssw0rd p@ssword password1 password123 passwordpassword
    letmein welcome welcome1 admin administrator root toor login abc123 iloveyou monkey dragon
    football baseball basketball soccer hockey master shadow sunshine princess superman batman
    trustno1 whatever freedom starwars pokemon michael jennifer jessica charlie thomas hunter
    ranger summer winter spring autumn secret changeme default guest test tester qazwsx
    mustang harley ginger cookie chocolate computer internet samsung google apple
    police policeofficer officer sheriff detective sergeant lieutenant captain patrol dispatch
    austin texas austintexas longhorns cowboys alpr platereader licenseplate
    correcthorsebatterystaple
    """.split()
)

_LONG_BANNED = tuple(sorted((w for w in BANNED_PASSWORDS if len(w) >= 6), key=len, reverse=True))
_TRAILING_JUNK = re.compile(r"[\d\W_]+$")
_LEADING_JUNK = re.compile(r"^[\d\W_]+")
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)


def check_password_rules(password: str, *, username: str, full_name: str) -> None:
    """Raise WeakPassword naming the broken rule; the password itself never appears in it."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD_CHARS} characters")
    lowered = password.lower()
    if len(set(lowered)) < 4:
        raise WeakPassword("the password repeats too few different characters")
    candidates = {
        lowered,
        _TRAILING_JUNK.sub("", lowered),
        _LEADING_JUNK.sub("", _TRAILING_JUNK.sub("", lowered)),
        lowered.translate(_LEET),
        _TRAILING_JUNK.sub("", lowered).translate(_LEET),
    }
    common_stem = any(
        lowered.startswith(word) and not _TRAILING_JUNK.sub("", lowered[len(word) :])
        for word in _LONG_BANNED
    )
    if candidates & BANNED_PASSWORDS or common_stem:
        raise WeakPassword("the password is on the list of common passwords; choose another")
    if lowered.isdigit():
        raise WeakPassword("the password must not be digits only")
    compact = re.sub(r"[\W_]+", "", lowered)
    personal = [username.lower(), *re.split(r"[\W_]+", full_name.lower())]
    for part in personal:
        part = re.sub(r"[\W_]+", "", part)
        if len(part) >= 3 and part in compact:
            raise WeakPassword("the password must not contain your username or name")


class Passwords:
    """argon2id hashing with the configured cost; `verify` answers False for any bad hash."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        self._dummy: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: AccessSettings) -> Passwords:
        return cls(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
        )

    def hash(self, secret: str) -> str:
        return self.hasher.hash(secret)

    def verify(self, hashed: str | None, secret: str) -> bool:
        """Check a secret; with no hash, spend the same work on a dummy so timing says nothing."""
        if hashed is None:
            hashed = self._dummy_hash()
            target = False
        else:
            target = True
        try:
            return self.hasher.verify(hashed, secret) and target
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def averify(self, hashed: str | None, secret: str) -> bool:
        # argon2 is deliberately slow: keep it off the event loop.
        return await asyncio.to_thread(self.verify, hashed, secret)

    async def ahash(self, secret: str) -> str:
        return await asyncio.to_thread(self.hash, secret)

    def needs_rehash(self, hashed: str) -> bool:
        try:
            return self.hasher.check_needs_rehash(hashed)
        except InvalidHashError:
            return True

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
            return self._dummy


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(16)


def new_enrolment_code() -> str:
    """120 random bits as 24 base32 characters in groups of four, easy to read out."""
    raw = base64.b32encode(secrets.token_bytes(15)).decode()
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def normalize_enrolment_code(code: str) -> str:
    return re.sub(r"[\s-]+", "", code).upper()


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


INGEST_KEY_PREFIX = "aik_"


def new_ingest_key() -> str:
    return INGEST_KEY_PREFIX + secrets.token_urlsafe(32)


# ------------------------------------------------------------------------------------ TOTP


def new_totp_secret() -> str:
    return pyotp.random_base32(length=32)


def totp_uri(secret: str, *, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def totp_step(at: datetime) -> int:
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def match_totp(secret: str, code: str, *, now: datetime, last_step: int | None) -> int | None:
    """The time step the code belongs to, if it is valid now and newer than the last one used."""
    code = code.strip().replace(" ", "")
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp_step(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if last_step is not None and step <= last_step:
            continue
        expected = totp.at(step * TOTP_STEP_SECONDS)
        if hmac.compare_digest(expected, code):
            return step
    return None


# ------------------------------------------------------------------------------------ keys


# A new key is published at once but signs only after this lead, so every verifier's JWKS cache
# (which refreshes at most every 10 s on an unknown kid) can know it before the first token.
PUBLISH_LEAD = timedelta(seconds=30)


class KeyStore:
    """The keyring in `signing_key_dir`, reloaded (at most once a second) when its files change,
    so `rotate-key` takes effect without a restart. All keys are published; the newest key that
    has been published for PUBLISH_LEAD signs (the oldest while none has)."""

    def __init__(
        self,
        directory: Path,
        *,
        create: bool,
        check_interval: float = 1.0,
        publish_lead: timedelta = PUBLISH_LEAD,
    ) -> None:
        self.directory = directory
        self.check_interval = check_interval
        self.publish_lead = publish_lead
        self._install(KeyRing.from_dir(directory, create=create), self._scan())
        self._checked = time.monotonic()

    def _scan(self) -> tuple[tuple[str, int], ...]:
        try:
            pems = self.directory.glob("*.pem")
            return tuple(sorted((p.stem, p.stat().st_mtime_ns) for p in pems))
        except OSError:
            return ()

    def _install(self, ring: KeyRing, fingerprint: tuple[tuple[str, int], ...]) -> None:
        self._ring = ring
        self._fingerprint = fingerprint
        self._published = {kid: datetime.fromtimestamp(ns / 1e9, UTC) for kid, ns in fingerprint}
        self._jwks = ring.jwks()
        self._by_kid = {k["kid"]: k for k in self._jwks["keys"]}

    def reload(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self.check_interval:
            return
        self._checked = now
        fingerprint = self._scan()
        if fingerprint == self._fingerprint:
            return
        try:
            ring = KeyRing.from_dir(self.directory)
        except (FileNotFoundError, OSError, ValueError):
            # A directory caught mid-rotation or emptied by mistake: keep signing with what we have.
            return
        self._install(ring, fingerprint)

    @property
    def ring(self) -> KeyRing:
        """Every published key, newest last."""
        self.reload()
        return self._ring

    def signing_ring(self, now: datetime | None = None) -> KeyRing:
        """The keys up to the one that signs now (its `active`)."""
        self.reload()
        now = now or datetime.now(UTC)
        keys = self._ring.keys
        epoch = datetime.fromtimestamp(0, UTC)
        ready = [
            i
            for i, key in enumerate(keys)
            if now - self._published.get(key.kid, epoch) >= self.publish_lead
        ]
        last = ready[-1] if ready else 0
        return KeyRing(keys[: last + 1])

    def jwks(self) -> dict[str, Any]:
        self.reload()
        return self._jwks

    def public_key(self, kid: str) -> dict[str, Any] | None:
        self.reload()
        return self._by_kid.get(kid)


class LocalJWKS(JWKSCache):
    """The verifier's key source inside access: its own keyring, no HTTP round trip."""

    def __init__(self, store: KeyStore) -> None:
        super().__init__(static=store.jwks())
        self.store = store

    async def refresh(self) -> None:
        self.store.reload(force=True)

    async def get(self, kid: str) -> dict[str, Any] | None:
        return self.store.public_key(kid)


# Older keys stay published this long after a newer one appears: its publication lead, the longest
# token lifetime, the verifiers' clock leeway, and a minute for every replica to pick it up.
RETIRE_AFTER = (
    PUBLISH_LEAD + MAX_TOKEN_LIFETIME + timedelta(seconds=LEEWAY_SECONDS) + timedelta(minutes=1)
)


def rotate_key(directory: Path, *, now: datetime | None = None) -> str:
    """Write a new signing key that sorts after every existing one; it is published at once and
    signs once PUBLISH_LEAD has passed.
    (The kernel's `KeyRing.write_new_key` names keys to the second, so two keys made within one
    second could sort either way; these names carry microseconds.)"""
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(UTC)
    kid = f"{now:%Y%m%dT%H%M%S%f}-{secrets.token_hex(4)}"
    existing = sorted(p.stem for p in directory.glob("*.pem"))
    if existing and kid <= existing[-1]:
        kid = f"{existing[-1]}-{secrets.token_hex(4)}"
    path = directory / f"{kid}.pem"
    path.write_bytes(generate_private_pem())
    path.chmod(0o600)
    return kid


def retirable_keys(directory: Path, *, now: datetime | None = None) -> list[Path]:
    """Keys superseded by a newer key more than RETIRE_AFTER ago: no live token can use them."""
    now = now or datetime.now(UTC)
    paths = sorted(directory.glob("*.pem"))
    retire: list[Path] = []
    for older, newer in itertools.pairwise(paths):
        superseded_at = datetime.fromtimestamp(newer.stat().st_mtime, UTC)
        if now - superseded_at > RETIRE_AFTER:
            retire.append(older)
    return retire


class LocalServiceTokens:
    """Service tokens for access's own outbox relay, minted from its own keyring."""

    def __init__(self, store: KeyStore, settings: AccessSettings) -> None:
        self.store = store
        self.settings = settings
        self._token: str | None = None
        self._expires = 0.0

    async def get(self) -> str:
        if self._token and time.monotonic() < self._expires:
            return self._token
        now = datetime.now(UTC)
        claims = principal_claims(
            subject=f"client:{self.settings.service_name}",
            kind="machine",
            name=self.settings.service_name,
            roles=[Role.SERVICE.value],
        )
        lifetime = timedelta(seconds=self.settings.machine_token_ttl_seconds)
        self._token = self.store.signing_ring(now).sign(
            claims,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            expires_at=now + lifetime,
            now=now,
        )
        self._expires = time.monotonic() + max(5.0, lifetime.total_seconds() - 60)
        return self._token
