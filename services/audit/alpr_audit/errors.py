"""The audit service's domain errors, each carrying its HTTP status."""

from __future__ import annotations

from alpr_common.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    Unprocessable,
)


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


# ----------------------------------------------------------------------------- reviews (344.6(a))


class ReviewSampleNotFound(NotFound):
    """No review sample has that id."""


class ReviewItemNotFound(NotFound):
    """No review item has that id."""


class ReviewSampleExists(Conflict):
    """The period already has its random sample; a second draw would let one pick the sample."""

    def __init__(self, detail: str, *, sample_id: str) -> None:
        super().__init__(detail, extra={"clause": "344.6(a)", "sample_id": sample_id})


class SelfReviewRefused(Conflict):
    """344.6(a): nobody reviews their own query, export or share."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, extra={"clause": "344.6(a)"})


class NotTheReviewer(Forbidden):
    """344.6(a): only the reviewer the item is assigned to records its finding, and never the
    person who made the query."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, extra={"clause": "344.6(a)"})


class FindingAlreadyRecorded(Conflict):
    """The item already has a different finding; findings are not rewritten."""


class AllegationNotFound(NotFound):
    """No misuse allegation has that id."""


class AllegationConflict(Conflict):
    """The allegation is not in a state that allows this step (344.4(a)7)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, extra={"clause": "344.4(a)7"})


class PopulationTableInvalid(Unprocessable):
    """The population CSV has rows or columns that cannot be imported; nothing was imported."""

    def __init__(self, detail: str, *, problems: list[dict[str, object]]) -> None:
        super().__init__(detail, extra={"clause": "344.3.2(c)", "problems": problems})


class PopulationTableTooLarge(PayloadTooLarge):
    """The population table is larger than the import limit."""


class PopulationImportRace(Conflict):
    """The same table is being imported by another request at this moment; retry."""
