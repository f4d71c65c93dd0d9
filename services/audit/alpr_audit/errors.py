"""The audit service's domain errors, each carrying its HTTP status."""

from __future__ import annotations

from alpr_common.errors import Conflict, NotFound, Unavailable


class LogEntryNotFound(NotFound):
    """No log entry has that sequence number."""


class ChainBroken(Conflict):
    """The hash chain does not verify, so no checkpoint is signed over it."""


class CheckpointKeyUnavailable(Unavailable):
    """The checkpoint signing key is missing or unreadable."""
