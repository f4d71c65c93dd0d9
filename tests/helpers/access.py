"""Shared helpers of the access tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyotp

from alpr_access.security import totp_step

STRONG_PASSWORD = "violet-harbor-lantern-42"
ALL_TOPICS = [
    "appropriate_use",
    "safeguards",
    "misuse_consequences",
    "driver_not_wanted_person",
]


@dataclass
class Person:
    id: str
    username: str
    password: str
    totp_secret: str
    full_name: str = ""
    roles: list[str] = field(default_factory=list)
    last_step: int | None = None

    @property
    def subject(self) -> str:
        return f"user:{self.id}"

    def code(self, at: datetime | None = None) -> str:
        """A TOTP code not used before (access accepts each time step once)."""
        step = totp_step(at or datetime.now(UTC))
        if self.last_step is not None and step <= self.last_step:
            step = self.last_step + 1
        self.last_step = step
        return pyotp.TOTP(self.totp_secret).at(step * 30)
