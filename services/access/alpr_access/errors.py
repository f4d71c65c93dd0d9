from __future__ import annotations

from alpr_common.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    OAuthInvalidClient,
    OAuthInvalidGrant,
    Unauthorized,
    Unprocessable,
)


class RecordedFailure(AppError):
    """A refusal answered only after its transaction commits, so the login attempt (and any
    lockout) it recorded survives the refusal (344.4(d))."""

    commit_before_raise = True


class InvalidCredentials(RecordedFailure, Unauthorized):
    """The credentials were refused; the answer never says whether the name exists."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "invalid credentials, or the account is temporarily locked; after 5 failures in "
            "15 minutes wait 15 minutes or ask the Chief Security Officer"
        )


class GrantRefused(RecordedFailure, OAuthInvalidGrant):
    """The token endpoint refused a person's username, password or one-time code, or the
    account is locked (RFC 6749 `invalid_grant`); the answer never says which."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail
            or "invalid credentials, or the account is temporarily locked; after 5 failures in "
            "15 minutes wait 15 minutes or ask the Chief Security Officer"
        )


class ClientRefused(RecordedFailure, OAuthInvalidClient):
    """The token endpoint refused a client id and secret (RFC 6749 `invalid_client`)."""


class CredentialsRefused(RecordedFailure, Forbidden):
    """The current password or one-time code was wrong (the token itself was fine)."""


class UserNotFound(NotFound):
    """No user with that id."""


class ClientNotFound(NotFound):
    """No machine client with that id."""


class IngestKeyNotFound(NotFound):
    """No ingest key with that id."""


class PrincipalNotFound(NotFound):
    """No user or client with that subject."""


class LockoutNotFound(NotFound):
    """The user has no active lockout."""


class UsernameTaken(Conflict):
    """That username is already in use."""


class RoleConflict(Conflict):
    """The role change conflicts with the current grants."""


class ClientConflict(Conflict):
    """The client or key is already revoked or the change conflicts with its kind."""


class LastChiefSecurityOfficer(Conflict):
    """The change would leave no active Chief Security Officer."""


class WeakPassword(Unprocessable):
    """The new password breaks the password rules."""


class IncompleteTraining(Unprocessable):
    """A training record must cover all four topics of 344.7(a)."""


class InvalidBinding(Unprocessable):
    """The client's bindings (cameras or agency) do not fit its kind."""


class NotAPerson(Forbidden):
    """The route is for people; machine clients cannot call it."""


class SelfRecordingRefused(Forbidden):
    """A training coordinator cannot record their own training."""


class MalformedBody(BadRequest):
    """The body could not be parsed (for example, not valid UTF-8)."""
