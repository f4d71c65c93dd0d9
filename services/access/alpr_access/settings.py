from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator, model_validator

from alpr_common.settings import BaseServiceSettings, service_config

CLIENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)
MIN_SERVICE_SECRET_CHARS = 16


def parse_service_clients(raw: str) -> dict[str, str]:
    """`id:secret,id:secret` as a dict; a ValueError names the bad entry, never its secret."""
    clients: dict[str, str] = {}
    for index, entry in enumerate(e.strip() for e in raw.split(",")):
        if not entry:
            continue
        client_id, sep, secret = entry.partition(":")
        client_id = client_id.strip()
        if not sep or not secret or not _CLIENT_ID.match(client_id):
            raise ValueError(
                f"ACCESS_SERVICE_CLIENTS entry {index + 1} is not `id:secret` with an id of "
                "letters, digits, '.', '_' or '-'"
            )
        clients[client_id] = secret
    return clients


class AccessSettings(BaseServiceSettings):
    model_config = service_config("ACCESS_")

    service_name: str = "access"
    port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/access.db"

    # ES256 signing keys (*.pem, newest last). Created with a first key in dev/test; in prod the
    # directory must already hold a key (`python -m alpr_access rotate-key`).
    signing_key_dir: Path = Path("var/keys/access")
    # Internal services' client credentials, `id:secret,id:secret`; upserted at startup.
    service_clients: SecretStr = SecretStr("")

    # Token lifetimes; the kernel caps every token at 15 minutes whatever is configured here.
    person_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    machine_token_ttl_seconds: int = Field(default=900, ge=30, le=900)
    camera_token_ttl_seconds: int = Field(default=300, ge=30, le=900)
    enrolment_code_ttl_hours: int = Field(default=72, ge=1, le=24 * 14)
    totp_issuer: str = "ALPR"

    # Login digest (344.2(b)): the day boundaries and off-hours are local to the department.
    digest_timezone: str = "America/Chicago"
    off_hours_start: time = time(22, 0)
    off_hours_end: time = time(6, 0)

    # argon2id cost (RFC 9106 second recommended profile by default).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    @field_validator("digest_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name") from exc
        return value

    @field_validator("service_clients")
    @classmethod
    def _well_formed_clients(cls, value: SecretStr) -> SecretStr:
        parse_service_clients(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _strong_service_secrets_in_prod(self) -> AccessSettings:
        if self.environment == "prod":
            short = [
                cid
                for cid, secret in self.service_client_secrets().items()
                if len(secret) < MIN_SERVICE_SECRET_CHARS
            ]
            if short:
                raise ValueError(
                    f"service client secret(s) for {', '.join(sorted(short))} shorter than "
                    f"{MIN_SERVICE_SECRET_CHARS} characters refused in prod"
                )
        return self

    def service_client_secrets(self) -> dict[str, str]:
        return parse_service_clients(self.service_clients.get_secret_value())

    def secrets_to_check(self) -> dict[str, SecretStr]:
        checked = super().secrets_to_check()
        # Access mints its own service tokens, so it needs no client secret of its own.
        checked.pop("client_secret", None)
        # Checked entry by entry below (the whole list is no secret of its own).
        checked.pop("service_clients", None)
        for cid, secret in self.service_client_secrets().items():
            checked[f"service_clients[{cid}]"] = SecretStr(secret)
        return checked
