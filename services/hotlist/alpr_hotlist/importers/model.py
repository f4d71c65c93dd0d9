"""What an importer returns: entries ready to activate, entries held for review, bad rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from alpr_hotlist.policy import EntryType, ManualEntryReason, OffenseClass, Refusal


@dataclass(frozen=True, slots=True)
class ImportedEntry:
    """One hot-list record read from a file, normalised but not yet stored."""

    row: int  # 1-based line of the file where the record starts
    plate: str  # upper-case A-Z/0-9, separators removed
    region: str | None  # ISO 3166-2 ("US-TX", "CA-ON"), None when the file gives none we know
    entry_type: EntryType | None  # None when the record is not a 344.2(c) category
    category: str  # the source's own category, snake_case ("stolen_vehicle", "sex_offender")
    offense_class: OffenseClass | None
    missing_endangered: bool
    reason: str  # human text: the file's reason/description, or the category's label
    source: str  # ncic | tcic | agency | manual | genetec | rekor
    record_id: str | None  # NCIC number, TCIC record id, or the source's own id
    ori: str | None  # originating agency identifier
    entered_at: datetime | None  # aware UTC
    expires_at: datetime | None  # aware UTC; already capped by the policy's lifetime limits
    manual_reason: ManualEntryReason | None = None
    notes: str = ""
    raw: dict[str, str] = field(default_factory=dict)  # the record's fields as read


@dataclass(frozen=True, slots=True)
class HeldEntry:
    """An entry that may not be activated as it stands, and the policy reason why.

    Held entries go to a hotlist manager's review queue: never activated, never dropped.
    """

    entry: ImportedEntry
    reason: Refusal

    @property
    def clause(self) -> str:
        return self.reason.clause


@dataclass(frozen=True, slots=True)
class RowError:
    """A record that could not be read at all (bad plate, bad date, wrong column count...)."""

    row: int
    message: str


@dataclass(slots=True)
class ImportResult:
    format: str
    accepted: list[ImportedEntry] = field(default_factory=list)
    held: list[HeldEntry] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What the person importing a file says about it, where the file itself does not.

    `list_type`: the 344.2(c) type of the list the file is imported into, for rows that name no
    type (a Rekor alert list) or a category that is not one; a row whose own type column says
    otherwise is held. `columns`: the attribute order of a header-less delimited file (Genetec
    Security Center's per-hotlist configuration, `Category;PlateState;PlateNumber`), written
    with the file's delimiter; `delimiter` names it when it is a Tab (`tab`).
    """

    list_type: EntryType | None = None
    columns: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True, slots=True)
class Importer:
    name: str
    title: str
    expected: str  # what the file must contain, as told to the user when it does not
    # (data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None)
    parse: Callable[..., ImportResult]

    def __call__(
        self, data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
    ) -> ImportResult:
        return self.parse(data, tz=tz, options=options or ImportOptions())
