"""The audit service's domain errors, each carrying its HTTP status."""

from __future__ import annotations

from alpr_common.errors import Conflict, NotFound, Unavailable, Unprocessable


class LogEntryNotFound(NotFound):
    """No log entry has that sequence number."""


class ChainBroken(Conflict):
    """The hash chain does not verify, so no checkpoint is signed over it."""


class CheckpointKeyUnavailable(Unavailable):
    """The checkpoint signing key is missing or unreadable."""


class BadPeriod(Unprocessable):
    """The report period is missing, malformed or out of range."""


class PolicyChangeNotFound(NotFound):
    """No policy change has that id."""
