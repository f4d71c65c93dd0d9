"""Settings: one base class, one subclass per service with its own env prefix (`INGEST_`...)."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that must never reach production: anything a developer would paste from a README.
PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "password", "dev", "dev-secret"}
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
    # Under load, a relay pass begins at least this long after the previous one, so the events
    # committed meanwhile travel in one delivery (a consumer pays most of its cost per delivery).
    # The first event after a quiet spell goes at once. 0: a pass at every commit.
    relay_linger_seconds: float = 0.25
    # Events for audit wait up to this long to travel together: audit keeps a record, and one
    # delivery costs it far more than one more event in it. 0 sends each at once.
    relay_audit_delay_seconds: float = 1.0
    run_relay: bool = True
    http_timeout_seconds: float = 10.0

    def secrets_to_check(self) -> dict[str, SecretStr]:
        """Secrets that must not be placeholders outside dev; subclasses add their own."""
        return {"client_secret": self.client_secret}

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> BaseServiceSettings:
        if self.environment == "prod":
            bad = [
                name
                for name, value in self.secrets_to_check().items()
                if value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS
            ]
            if bad:
                raise ValueError(
                    f"placeholder or empty secret(s) {', '.join(sorted(bad))} refused in prod: "
                    "set them from your secret store"
                )
        return self

    def url_of(self, service: str) -> str:
        return str(getattr(self, f"{service}_url")).rstrip("/")


def service_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore", env_file=None)
