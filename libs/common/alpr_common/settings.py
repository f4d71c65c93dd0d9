"""Settings: one base class, one subclass per service with its own env prefix (`INGEST_`...)."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# What a secret that must never reach production looks like: a word a developer would paste
# from a README or an overlay (`dev-placeholder-...`, `change-me`), too short to resist guessing,
# or too repetitive to hold entropy. Real secrets come from a secret store or a generator.
PLACEHOLDER_WORDS = frozenset(
    {
        "changeme",
        "change",
        "default",
        "demo",
        "dev",
        "development",
        "dummy",
        "example",
        "fake",
        "insecure",
        "local",
        "password",
        "placeholder",
        "sample",
        "secret",
        "test",
        "testing",
        "todo",
        "xxx",
    }
)
PLACEHOLDER_MARKERS = ("placeholder", "changeme", "change-me", "change_me", "replace", "notsecret")
MIN_SECRET_CHARS = 16
MIN_SECRET_BITS = 48.0


def _entropy_bits(value: str) -> float:
    """Shannon entropy of the value's own character distribution, times its length: a cheap
    lower bar (a repeated or alternating string scores near zero)."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) * n


def looks_like_placeholder(value: str) -> bool:
    secret = value.strip()
    lowered = secret.lower()
    first_word = re.split(r"[^a-z0-9]+", lowered, maxsplit=1)[0]
    return (
        len(secret) < MIN_SECRET_CHARS
        or first_word in PLACEHOLDER_WORDS
        or any(marker in lowered for marker in PLACEHOLDER_MARKERS)
        or len(set(secret)) < 8
        or _entropy_bits(secret) < MIN_SECRET_BITS
    )


class BaseServiceSettings(BaseSettings):
    """What every service needs. Subclasses set `model_config = service_config("INGEST_")`."""

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    service_name: str = "alpr"
    environment: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # Worker processes of `serve` on one port (PostgreSQL only). Kubernetes scales by replicas
    # and keeps 1; a single host with spare cores may run the busiest service on several.
    workers: int = 1
    database_url: str = "sqlite+aiosqlite:///var/alpr.db"
    # PostgreSQL connections kept open per process: at least the concurrent requests it serves,
    # or every request beyond it opens (and closes) a connection of its own.
    database_pool_size: int = 20
    # SQLite: how long a writer waits for its turn at the write lock before its request is
    # answered 503 with Retry-After (writers queue in process; see `db.create_engine`).
    database_write_wait_seconds: float = 10.0
    # Where this service finds the others; the relay and clients read them from here.
    access_url: str = "http://127.0.0.1:8001"
    audit_url: str = "http://127.0.0.1:8005"
    ingest_url: str = "http://127.0.0.1:8002"
    hotlist_url: str = "http://127.0.0.1:8003"
    sharing_url: str = "http://127.0.0.1:8004"
    # Client credentials this service uses to obtain service tokens from access.
    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    # JWT verification: every service verifies the same tokens the gateway does.
    jwt_issuer: str = "alpr-access"
    jwt_audience: str = "alpr"
    # Outbox relay: how often it polls and how many events it sends at once. A commit that
    # queues events wakes it at once (`Database.on_outbox_commit`); the poll finds what other
    # processes queued (a CLI command, another worker) and retries that are due.
    relay_interval_seconds: float = 1.0
    relay_batch_size: int = 500
    # Under load, a relay pass for a destination that is not live (audit) begins at least this
    # long after the previous one, so the events committed meanwhile travel in one delivery (a
    # consumer pays most of its cost per delivery). The first event after a quiet spell goes at
    # once. 0: a pass at every commit.
    relay_linger_seconds: float = 0.25
    # Deliveries under way at once to a live destination (hot-list matching: read to alert),
    # whose events go the moment they commit, without linger.
    relay_live_in_flight: int = Field(default=4, ge=1)
    # Events for audit wait up to this long to travel together: audit keeps a record, and one
    # delivery costs it far more than one more event in it. 0 sends each at once.
    relay_audit_delay_seconds: float = 1.0
    run_relay: bool = True
    http_timeout_seconds: float = 10.0
    # 344.7(b), DESIGN 4: how long a principal's live status from access is reused. Deactivation,
    # role changes, training lapse and revoked tokens bite within this many seconds.
    status_cache_seconds: float = 2.0
    # Request headers larger than this in total (names and values) are refused with 431: a
    # token, the purpose headers and a trace fit in a few kilobytes.
    max_header_bytes: int = 32 * 1024

    def secrets_to_check(self) -> dict[str, SecretStr]:
        """Secrets that must not be placeholders in prod: every `SecretStr` setting, and the
        database URL's password when it has one; subclasses add (or drop) their own."""
        checked = {name: value for name, value in self if isinstance(value, SecretStr)}
        try:
            password = make_url(self.database_url).password
        except ArgumentError:
            password = None
        if password:
            checked["database_url (password)"] = SecretStr(str(password))
        return checked

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> BaseServiceSettings:
        if self.environment == "prod":
            bad = [
                name
                for name, value in self.secrets_to_check().items()
                if looks_like_placeholder(value.get_secret_value())
            ]
            if bad:
                raise ValueError(
                    f"placeholder, short or low-entropy secret(s) {', '.join(sorted(bad))} "
                    f"refused in prod (at least {MIN_SECRET_CHARS} characters, no dev-/test-/"
                    "change-me/placeholder values): set them from your secret store"
                )
        return self

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")


def service_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", env_file=None)
