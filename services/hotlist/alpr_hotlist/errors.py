"""The hotlist service's domain errors, each carrying its HTTP status."""

from __future__ import annotations

from alpr_common.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from alpr_hotlist.policy import Refusal


class HotlistNotFound(NotFound):
    """No hot list has that id."""


class EntryNotFound(NotFound):
    """No hot-list entry has that id."""


class ImportNotFound(NotFound):
    """No import has that id."""


class AlertNotFound(NotFound):
    """No alert has that id."""


class IncidentNotFound(NotFound):
    """No wrong-vehicle incident has that id."""


class MessageNotFound(NotFound):
    """No inbox message of yours has that id."""


class HotlistNameTaken(Conflict):
    """Another hot list already has that name."""


class HotlistRetired(Conflict):
    """The hot list is retired: nothing can be added to it."""


class EntryNotEditable(Conflict):
    """The entry is not in a state that allows this change."""


class PolicyForbidden(Forbidden):
    """General Order 344 prohibits the entry (a prohibited use, 344.4(a)5-6)."""


class PolicyRefused(Unprocessable):
    """The entry does not meet General Order 344 as it stands (344.2(c), 344.6(b)7)."""


class ExpiryRefused(Unprocessable):
    """The entry's expiry is missing, past, or beyond the lifetime its kind allows."""


class ImportTooLarge(PayloadTooLarge):
    """The import file is larger than the configured limit."""


class WorkflowConflict(Conflict):
    """The alert is not in a state that allows this step (already done, dismissed, closed)."""


class VerificationIncomplete(Conflict):
    """An enforcement action was refused: a 344.3.2(b) step is missing or did not confirm."""


class SecondOfficerRefused(Forbidden):
    """344.3.2(b)3: the second verification must be by a different officer."""


class WaiverRefused(Forbidden):
    """344.3.2(b)3(a): no exigency waiver for an investigator's follow-up."""


class NotYourEntry(Forbidden):
    """Only a hotlist manager, a supervisor or the person who entered it may change an entry."""


class IncidentRefused(Unprocessable):
    """The wrong-vehicle report cannot be accepted as sent."""


class IncidentExists(Conflict):
    """A wrong-vehicle incident is already reported for that alert."""


def policy_error(refusal: Refusal) -> PolicyForbidden | PolicyRefused:
    """403 for a use the policy prohibits, 422 for an entry that does not qualify; both name
    the clause."""
    extra = {"clause": refusal.clause}
    if refusal.clause.startswith("344.4(a)"):
        return PolicyForbidden(str(refusal), extra=extra)
    return PolicyRefused(str(refusal), extra=extra)
