"""One error hierarchy for every service, rendered as RFC 9457 `application/problem+json`.

Every error answer of every service and of the gateway is a `Problem`: `type` (a URN naming the
error class, `urn:alpr:problem:<kebab-name>`), `title` (the same for every occurrence of that
type), `status`, `detail` (what went wrong and what to do next), `instance` (the request path),
`request_id`, plus `clause` where a policy refused, `errors` (one per field) where the input was
invalid, and any other members the error carries. docs/conventions.md lists the conventions.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:alpr:problem:"
# The members RFC 9457 defines plus ours; an error's own members may not reuse these names.
RESERVED_MEMBERS = frozenset(
    {"type", "title", "status", "detail", "instance", "request_id", "clause", "errors"}
)
# RFC 6750 section 3: the realm every bearer challenge names.
REALM = "alpr"


class FieldError(BaseModel):
    """One invalid input: where (`loc`, as FastAPI names it), what (`msg`) and its kind."""

    loc: list[str | int] = Field(
        description="Where: `body`, `query`, `path` or `header`, then the field names and indexes"
    )
    msg: str
    type: str = Field(description="The kind of failure (`missing`, `int_parsing`, ...)")


class Problem(BaseModel):
    """Every error answer (RFC 9457): what went wrong, the request id to quote, and where a policy
    refused, the clause of GO 344 that did."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(
        description="URN of the problem type (`urn:alpr:problem:<name>`), stable across versions"
    )
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="The HTTP status code of this answer")
    detail: str = Field(description="What went wrong in this request, and what to do next")
    instance: str | None = Field(default=None, description="The path of the request refused")
    request_id: str | None = Field(default=None, description="Quote it when reporting a problem")
    clause: str | None = Field(
        default=None, description="The GO 344 clause that refused the request, if a policy did"
    )
    errors: list[FieldError] | None = Field(
        default=None, description="Validation problems, one per invalid field"
    )


def problem_slug(name: str) -> str:
    """`TrainingRequired` -> `training-required`."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", name).lower()


def problem_type(name: str) -> str:
    """The `type` of a problem named `name` (an error class name, or a slug)."""
    return TYPE_PREFIX + problem_slug(name)


def problem_title(name: str) -> str:
    """`TrainingRequired` -> `Training required`."""
    return problem_slug(name).replace("-", " ").capitalize()


class AppError(Exception):
    """A domain error that carries its HTTP status. Services raise these, never HTTPException.

    `type` and `title` come from the class name (`TrainingRequired` ->
    `urn:alpr:problem:training-required`, `Training required`); `extra` adds members to the
    answer (`clause`, `missing_step`, ...); `headers()` adds response headers."""

    status_code: ClassVar[int] = 500
    # Overrides of the names derived from the class name.
    slug: ClassVar[str | None] = None
    title: ClassVar[str | None] = None
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
        clash = RESERVED_MEMBERS.intersection(self.extra) - {"clause", "errors"}
        if clash:
            raise ValueError(f"problem members {sorted(clash)} are reserved; rename them")

    @classmethod
    def type_uri(cls) -> str:
        return TYPE_PREFIX + (cls.slug or problem_slug(cls.__name__))

    @classmethod
    def problem_title(cls) -> str:
        return cls.title or problem_title(cls.__name__)

    def to_body(self) -> dict[str, Any]:
        """The problem document (without `instance` and `request_id`, which the renderer adds)."""
        return {
            "type": self.type_uri(),
            "title": self.problem_title(),
            "status": self.status_code,
            "detail": self.detail,
            **self.extra,
        }

    def headers(self) -> dict[str, str]:
        if self.retry_after is None:
            return {}
        return {"Retry-After": retry_after_value(self.retry_after)}


class BadRequest(AppError):
    status_code = 400


class Unauthorized(AppError):
    """Missing or invalid credentials. Answered with a `WWW-Authenticate: Bearer` challenge
    (RFC 6750 section 3): `error="invalid_token"` when a token was sent and refused, no error
    code when none was sent (`credentials_sent=False`)."""

    status_code = 401

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        credentials_sent: bool = True,
        bearer_error: str = "invalid_token",
    ) -> None:
        super().__init__(detail, extra=extra)
        self.credentials_sent = credentials_sent
        self.bearer_error = bearer_error

    def headers(self) -> dict[str, str]:
        error = self.bearer_error if self.credentials_sent else None
        return {**super().headers(), "WWW-Authenticate": bearer_challenge(error, self.detail)}


def bearer_challenge(error: str | None = None, description: str | None = None) -> str:
    """`WWW-Authenticate` value for a refused (or missing) bearer token (RFC 6750 section 3)."""
    parts = [f'realm="{REALM}"']
    if error:
        parts.append(f'error="{error}"')
        if description:
            # A quoted-string: no quotes or backslashes, visible ASCII only (RFC 6750 3).
            clean = "".join(c for c in description if 0x20 <= ord(c) < 0x7F and c not in '"\\')
            parts.append(f'error_description="{clean[:200]}"')
    return "Bearer " + ", ".join(parts)


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


class RetryLater(AppError):
    """An answer the caller should repeat later: always carries `Retry-After` (seconds), the
    `retry_after` given or the class's `retry_after_seconds`."""

    retry_after_seconds: ClassVar[int] = 1

    def __init__(
        self,
        detail: str,
        *,
        extra: dict[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        if retry_after is None:
            retry_after = self.retry_after_seconds
        super().__init__(detail, extra=extra, retry_after=retry_after)


def retry_after_value(seconds: float) -> str:
    """`Retry-After` in whole seconds (RFC 9110 10.2.3), at least 1."""
    return str(max(1, int(-(-seconds // 1))))


class TooManyRequests(RetryLater):
    status_code = 429


class HeadersTooLarge(AppError):
    status_code = 431


class UpstreamError(AppError):
    status_code = 502


class Unavailable(RetryLater):
    status_code = 503


class UpstreamTimeout(AppError):
    status_code = 504


class OAuthError(AppError):
    """An error of the token endpoint (RFC 6749 section 5.2): the problem also carries `error`
    (the OAuth2 code) and `error_description`, which OAuth2 client libraries read."""

    status_code = 400
    oauth_error: ClassVar[str] = "invalid_request"

    def to_body(self) -> dict[str, Any]:
        return {**super().to_body(), "error": self.oauth_error, "error_description": self.detail}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.slug = "oauth:" + cls.oauth_error
        cls.title = cls.oauth_error.replace("_", " ").capitalize()


class OAuthInvalidRequest(OAuthError):
    """A parameter of the token request is missing, repeated or malformed."""

    oauth_error = "invalid_request"


class OAuthInvalidGrant(OAuthError):
    """The username, password and one-time code were refused (or the account is locked)."""

    oauth_error = "invalid_grant"


class OAuthInvalidClient(OAuthError):
    """The client id and secret were refused. RFC 6749 5.2: 401 with a challenge for the
    scheme the client may authenticate with (HTTP basic, or the form's client_secret)."""

    status_code = 401
    oauth_error = "invalid_client"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{REALM}"'}


class OAuthUnsupportedGrantType(OAuthError):
    """`grant_type` is neither `password` nor `client_credentials`."""

    oauth_error = "unsupported_grant_type"


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the error answers it declares, all `application/problem+json`
    with the `Problem` schema. The one way a route documents its errors."""
    out: dict[int | str, dict[str, Any]] = {}
    for e in errors:
        doc = (e.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        # `_custom_openapi` (alpr_common.app) files the schema under application/problem+json.
        entry = out.setdefault(e.status_code, {"model": Problem, "description": ""})
        line = f"`{e.type_uri()}`" + (f": {doc}" if doc else "")
        entry["description"] = f"{entry['description']}\n\n{line}" if entry["description"] else line
    return out
