"""Settings: one base class, one subclass per service with its own env prefix (`INGEST_`...)."""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from alpr_common.forwarded import IPNetwork, parse_networks

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


class FileSettingsSource(PydanticBaseSettingsSource):
    """`<PREFIX><SETTING>_FILE=/path`: the setting's value is that file's content.

    One mechanism for every setting, so a secret can be mounted as a file (a Kubernetes Secret
    volume) instead of travelling in the environment: `INGEST_CLIENT_SECRET_FILE=/var/run/...`
    stands for `INGEST_CLIENT_SECRET`. One trailing newline is dropped (`echo` and editors add
    it). A setting whose own name ends in `_file` (`AUDIT_CHECKPOINT_KEY_FILE`) is a path and
    keeps its meaning. Setting both `X` and `X_FILE` is an error, as is a file that can't be read.
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.prefix = str(settings_cls.model_config.get("env_prefix") or "")

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # every value comes from __call__

    def variable(self, field_name: str) -> str:
        return f"{self.prefix}{field_name}_FILE".upper()

    def __call__(self) -> dict[str, Any]:
        fields = self.settings_cls.model_fields
        environ = {k.upper(): v for k, v in os.environ.items()}
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if f"{name}_file" in fields:
                continue  # `<name>_file` is a setting of its own (a path)
            var = self.variable(name)
            path = environ.get(var)
            if not path:
                continue
            if var[: -len("_FILE")] in environ:
                raise SettingsError(f"both {var[: -len('_FILE')]} and {var} are set: keep one")
            try:
                text = Path(path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SettingsError(
                    f"{var}={path}: cannot read it ({exc.__class__.__name__}: {exc}); mount the "
                    f"file there or unset {var}"
                ) from None
            text = text.removesuffix("\n").removesuffix("\r")
            if self.field_is_complex(field):
                try:
                    values[name] = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise SettingsError(f"{var}={path}: not JSON ({exc})") from None
            else:
                values[name] = text
        return values


class BaseServiceSettings(BaseSettings):
    """What every service needs. Subclasses set `model_config = service_config("INGEST_")`.

    Every setting is read from `<PREFIX><NAME>` in the environment, or from the file that
    `<PREFIX><NAME>_FILE` names (`FileSettingsSource`); the environment wins over defaults only.
    """

    model_config = SettingsConfigDict(extra="ignore", env_file=None)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            FileSettingsSource(settings_cls),
            dotenv_settings,
            file_secret_settings,
        )

    service_name: str = "alpr"
    environment: Literal["dev", "test", "prod"] = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    # Worker processes of `serve` on one port (PostgreSQL only). Kubernetes scales by replicas
    # and keeps 1; a single host with spare cores may run the busiest service on several.
    workers: int = 1
    # Set by `serve --workers N` for each of its processes (0 to N-1); a lone process is 0.
    worker_index: int = Field(default=0, ge=0)
    database_url: str = "sqlite+aiosqlite:///var/alpr.db"
    # The password of database_url, when the URL carries none: kept apart so that it can come
    # from a file (`<PREFIX>DATABASE_PASSWORD_FILE`, a mounted Secret) while the URL is plain
    # configuration. It is put into the URL when the settings load.
    database_password: SecretStr = SecretStr("")
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
    # While a live destination has a delivery under way, its next pass waits up to this long
    # (less if a delivery ends) for the events committed meanwhile: under load one delivery
    # carries several commits' events. A quiet lane sends at once. 0: a pass per commit.
    relay_live_coalesce_seconds: float = Field(default=0.005, ge=0.0, le=1.0)
    # Under load, a live destination's pass begins at least this long after the previous one
    # that sent something began: the commits of those moments travel in one delivery. A
    # delivery costs the producer, PostgreSQL and hotlist far more than a read in it; at 1,000
    # single-read posts/s the commits came every 10 ms, each a delivery of its own. After a
    # quiet spell a commit goes at once. 0: a pass per commit.
    relay_live_linger_seconds: float = Field(default=0.02, ge=0.0, le=1.0)
    # Events for audit wait up to this long to travel together: audit keeps a record, and one
    # delivery costs it far more than one more event in it. A batch's worth (relay_batch_size)
    # goes at once. 0 sends each at once.
    relay_audit_delay_seconds: float = 1.0
    # Of the worker processes of one `serve --workers N`, how many deliver the outbox (the first
    # ones). The others hand the wake-up of their live destinations' commits to them (PostgreSQL
    # NOTIFY): one relay carries the commits of several workers, in fewer and fuller deliveries
    # (a delivery costs the consumer far more than an event in it).
    relay_workers: int = Field(default=1, ge=1)
    run_relay: bool = True
    http_timeout_seconds: float = 10.0
    # 344.7(b), DESIGN 4: how long a principal's live status from access is reused. Deactivation,
    # role changes, training lapse and revoked tokens bite within this many seconds.
    status_cache_seconds: float = 2.0
    # Request headers larger than this in total (names and values) are refused with 431: a
    # token, the purpose headers and a trace fit in a few kilobytes.
    max_header_bytes: int = 32 * 1024
    # Proxies whose X-Forwarded-For is believed (comma-separated addresses or networks), walked
    # from the right through their hops (alpr_common.forwarded). A service's proxy is the
    # gateway: loopback under `make run`; in Kubernetes, the pod network.
    trusted_proxies: str = "127.0.0.1,::1"

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_networks(value)
        return value

    def trusted_proxy_networks(self) -> tuple[IPNetwork, ...]:
        return parse_networks(self.trusted_proxies)

    def secrets_to_check(self) -> dict[str, SecretStr]:
        """Secrets that must not be placeholders in prod: every `SecretStr` setting, and the
        database URL's password when it has one; subclasses add (or drop) their own."""
        checked = {name: value for name, value in self if isinstance(value, SecretStr)}
        checked.pop("database_password", None)  # checked inside the URL, where it went
        try:
            password = make_url(self.database_url).password
        except ArgumentError:
            password = None
        if password:
            checked["database_url (password)"] = SecretStr(str(password))
        return checked

    @model_validator(mode="after")
    def _compose_database_url(self) -> BaseServiceSettings:
        password = self.database_password.get_secret_value()
        if not password:
            return self
        try:
            url = make_url(self.database_url)
        except ArgumentError as exc:
            raise ValueError(f"database_url is not a database URL: {exc}") from None
        if url.password is not None:
            raise ValueError(
                "database_url already has a password and database_password is set too: keep one"
            )
        self.database_url = url.set(password=password).render_as_string(hide_password=False)
        return self

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

    @property
    def delivers_outbox(self) -> bool:
        """Whether this process's relay delivers the outbox (`relay_workers`)."""
        return self.worker_index < self.relay_workers

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")


def service_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", env_file=None)
