"""The sharing service's domain errors, each carrying its HTTP status. A refusal the policy
makes names its clause in `clause` (and in the sentence), as the kernel's purpose checks do."""

from __future__ import annotations

from typing import ClassVar

from alpr_common.errors import (
    AppError,
    Conflict,
    Forbidden,
    NotFound,
    Unavailable,
    Unprocessable,
    UpstreamError,
)


class AgencyNotFound(NotFound):
    """No agency has that id (or it is not yours)."""


class RequestNotFound(NotFound):
    """No sharing request has that id (or it is not yours)."""


class PackageNotFound(NotFound):
    """No release package has that id (or it is not yours)."""


class MisuseReportNotFound(NotFound):
    """No misuse report has that id."""


class OriTaken(Conflict):
    """Another agency already has that ORI."""


class InvalidTransition(Conflict):
    """The request is not in a state that allows this step."""


class NoticeAlreadyRecorded(Conflict):
    """That body's notice is already recorded for this request."""


class PolicyRefused(Forbidden):
    """General Order 344 does not allow this; `clause` names the rule."""

    def __init__(self, clause: str, detail: str) -> None:
        super().__init__(f"{detail} (General Order {clause})", extra={"clause": clause})


class AgencySuspended(PolicyRefused):
    """The agency is suspended from sharing (344.4(b))."""

    def __init__(self, detail: str) -> None:
        super().__init__("344.4(b)", detail)


class InvalidRequest(Unprocessable):
    """The request is incomplete or out of bounds; `detail` says what to send."""


class GrantGone(AppError):
    """The package's download grant was revoked or has expired."""

    status_code: ClassVar[int] = 410


class DependencyUnavailable(Unavailable):
    """A service sharing depends on (ingest, hotlist) cannot answer now; retry later."""

    # A peer down delays the step; nothing was recorded, so the caller retries.
    retry_after_seconds = 5


class DependencyRefused(UpstreamError):
    """A service sharing depends on refused the call."""
