"""One error hierarchy for every service; one renderer turns it into `{"error", "detail"}` JSON."""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class ErrorBody(BaseModel):
    """Every error answer: the error's class name and a sentence saying what to do."""

    model_config = ConfigDict(extra="allow")

    error: str
    detail: str


class AppError(Exception):
    """A domain error that carries its HTTP status. Services raise these, never HTTPException."""

    status_code: ClassVar[int] = 500
    # A refusal that is itself a record (a failed login, the lockout it causes): the request's
    # transaction commits before the error is answered (344.4(d)).
    commit_before_raise: ClassVar[bool] = False

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}
        # Seconds after which a retry may succeed (429, 503): sent as `Retry-After`.
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(max(1, math.ceil(self.retry_after)))}

    def to_body(self) -> dict[str, Any]:
        return {"error": type(self).__name__, "detail": self.detail, **self.extra}


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    status_code = 401


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class MethodNotAllowed(AppError):
    status_code = 405


class Conflict(AppError):
    status_code = 409


class PayloadTooLarge(AppError):
    status_code = 413


class UnsupportedMediaType(AppError):
    status_code = 415


class Unprocessable(AppError):
    status_code = 422


class TooManyRequests(AppError):
    status_code = 429


class HeadersTooLarge(AppError):
    status_code = 431


class UpstreamError(AppError):
    status_code = 502


class Unavailable(AppError):
    status_code = 503


class UpstreamTimeout(AppError):
    status_code = 504


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, object]]:
    """`responses=` for a route: the error answers it declares, all with the ErrorBody schema."""
    return {
        e.status_code: {"model": ErrorBody, "description": e.__doc__ or e.__name__} for e in errors
    }
