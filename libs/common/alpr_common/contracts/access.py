"""Events access sends: login attempts (344.2(b), 344.4(d))."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from alpr_common.contracts.base import EventData

LOGIN_ATTEMPT = "access.login_attempt"


class LoginAttemptData(EventData):
    username: str | None = None
    subject: str | None = None
    outcome: Literal["success", "failure", "locked"]
    reason: str | None = None
    source_address: str | None = None


EVENT_TYPES: dict[str, type[BaseModel]] = {
    LOGIN_ATTEMPT: LoginAttemptData,
}
