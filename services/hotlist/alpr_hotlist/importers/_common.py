"""Decoding, field parsing and policy sorting shared by every format."""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from alpr_hotlist.alerts.index import normalise_plate
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import HeldEntry, ImportedEntry, ImportResult, RowError
from alpr_hotlist.policy import (
    MANUAL_SOURCE,
    MISSING_ENDANGERED_TYPES,
    EntryType,
    ManualEntryReason,
    OffenseClass,
    Refusal,
    cap_expiry,
    check_entry,
)

# The NCIC LIC field is 10 characters, the widest plate any source carries.
MAX_PLATE_LENGTH = 10
# Fillers state extracts use for "no plate"; listed, they would alert on any misread.
_PLACEHOLDER_PLATES = frozenset({"NOPLATE", "NONE", "UNK", "UNKNOWN", "NOTAG"})

# Dates without a time are the agency's calendar days. General Order 344 is the Austin Police
# Department's, hence Central time by default; callers pass their own zone.
DEFAULT_TZ_NAME = "America/Chicago"


@functools.cache
def default_tz() -> tzinfo:
    return ZoneInfo(DEFAULT_TZ_NAME)


_US = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH "
    "NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR GU VI AS MP"
).split()
_CA = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()
_REGIONS: dict[str, str] = {code: f"US-{code}" for code in _US} | {c: f"CA-{c}" for c in _CA}
# NCIC's older Canadian codes: Newfoundland and Quebec.
_REGIONS |= {"NF": "CA-NL", "PQ": "CA-QC"}
_ISO = frozenset(_REGIONS.values())


def region_of(state: str) -> str | None:
    """ISO 3166-2 for an NCIC/postal state code ("TX", "0H", "us-tx"); None if unknown.

    An unknown code (a Mexican state, "US" for federal plates) gives None rather than an
    error: an entry without a region matches the plate in any region, which over-alerts rather
    than missing a stolen vehicle, and every alert is verified by hand (344.3.2(b)).
    """
    code = state.strip().upper()
    if not code:
        return None
    if code in _ISO:
        return code
    if code in _REGIONS:
        return _REGIONS[code]
    # NCIC extracts carry zero for the letter O ("0H", "0K"): the fix-up the real parsers apply.
    fixed = code.replace("0", "O")
    return _REGIONS.get(fixed)


def fix_zeros(code: str) -> str:
    """Zero for O in alphabetic NCIC codes (make "H0ND", colour, ORI state prefix)."""
    return code.replace("0", "O")


def plate_of(text: str) -> str:
    plate = normalise_plate(text.strip())
    if not plate:
        raise ValueError("plate is empty")
    if not (plate.isascii() and plate.isalnum()):
        raise ValueError(f"plate {text.strip()!r} has characters other than A-Z, 0-9")
    if len(plate) > MAX_PLATE_LENGTH:
        raise ValueError(f"plate {plate!r} is longer than {MAX_PLATE_LENGTH} characters")
    if plate in _PLACEHOLDER_PLATES or set(plate) == {"0"}:
        raise ValueError(f"plate {plate!r} is a placeholder, not a plate number")
    return plate


_DAY_FORMS = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), (1, 2, 3)),
    (re.compile(r"(\d{4})(\d{2})(\d{2})"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (3, 1, 2)),
)


# Cached: a daily extract repeats a few hundred distinct dates over thousands of rows, and this
# runs for every one of them.
@functools.lru_cache(maxsize=4096)
def _parse_day_or_instant(text: str, what: str, tz: tzinfo) -> date | datetime:
    value = text.strip()
    for pattern, (y, m, d) in _DAY_FORMS:
        if match := pattern.fullmatch(value):
            try:
                return date(int(match[y]), int(match[m]), int(match[d]))
            except ValueError:
                break
    else:
        try:
            instant = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if instant.tzinfo is None:
                instant = instant.replace(tzinfo=tz)
            return instant.astimezone(UTC)
    raise ValueError(
        f"{what} {value!r} is not a date (YYYY-MM-DD, YYYYMMDD, MM/DD/YYYY or ISO 8601)"
    )


def entered_at_of(text: str, what: str, tz: tzinfo) -> datetime | None:
    """An entry date: a bare day counts from its first instant, so lifetime caps stay safe."""
    if not text.strip():
        return None
    value = _parse_day_or_instant(text, what, tz)
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(), tz).astimezone(UTC)


def expires_at_of(text: str, what: str, tz: tzinfo) -> datetime | None:
    """An expiry: a bare day is valid through its end, so the entry stops at next midnight."""
    if not text.strip():
        return None
    value = _parse_day_or_instant(text, what, tz)
    if isinstance(value, datetime):
        return value
    return datetime.combine(value + timedelta(days=1), time(), tz).astimezone(UTC)


def offense_class_of(text: str) -> OffenseClass | None:
    return OffenseClass.parse(text) if text.strip() else None


_TRUE = frozenset({"true", "yes", "y", "1", "t", "x"})
_FALSE = frozenset({"false", "no", "n", "0", "f", ""})


def flag_of(text: str, what: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(f"{what} {text.strip()!r} is not yes/no (true/false, y/n, 1/0)")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.strip().lower()).strip("_")


# Category names a file's own type column may hold, matched whole (case, spaces and punctuation
# aside) and never searched for inside a description: "Stolen Vehicle 2014 Silver Nissan 4
# Door" names no category (its "Silver" is the car's colour, not a Silver Alert). Names that
# are not 344.2(c) types are kept so that the hold says what the record is.
_CATEGORY_NAMES: dict[EntryType | str, tuple[str, ...]] = {
    EntryType.STOLEN_VEHICLE: (
        "stolen", "stolen vehicle", "stolen vehicles", "stolen car", "stolen auto",
        "stolen canadian vehicle", "vehicle stolen",
    ),
    EntryType.STOLEN_PLATE: (
        "stolen plate", "stolen plates", "stolen license plate", "stolen licence plate",
        "stolen tag", "stolen tags", "stolen lp", "plate stolen",
    ),
    EntryType.BOLO: ("bolo", "be on the lookout", "agency bolo"),
    EntryType.AMBER_ALERT: ("amber", "amber alert"),
    EntryType.SILVER_ALERT: ("silver alert",),
    EntryType.WARRANT: (
        "warrant", "warrants", "wanted", "wanted person", "wanted felon", "felony warrant",
        "misdemeanor warrant",
    ),
    "missing_person": ("missing", "missing person", "endangered missing person"),
    "sex_offender": ("sex offender", "registered sex offender"),
    "protection_order": ("protection order", "protective order"),
    "gang_terrorist_member": ("gang member", "gang", "terrorist", "gang terrorist member"),
    "supervised_release": ("supervised release", "parole", "probation"),
    "immigration_violator": ("immigration violator", "deported felon"),
    "parking_permit": ("permit", "parking permit"),
    "felony_vehicle": ("felony vehicle",),
}  # fmt: skip


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


_CATEGORIES: dict[str, EntryType | str] = {
    _squash(name): kind for kind, names in _CATEGORY_NAMES.items() for name in names
} | {_squash(t.value): t for t in EntryType}
_TYPE_NAMES = ", ".join(t.value for t in EntryType)


def resolve_type(
    text: str, *, column: str, list_type: EntryType | None
) -> tuple[EntryType | None, str, str | None]:
    """(entry type, category, why the type is unclear) for a row whose type column says
    `text` (empty when the format has none), in a file imported as `list_type` (or not).

    The column decides when it names a category; otherwise the import's `list_type` does; a row
    with neither, or whose column contradicts the import, has no type and says why."""
    value = text.strip()
    named = _CATEGORIES.get(_squash(value)) if value else None
    if isinstance(named, EntryType):
        if list_type is not None and list_type is not named:
            return (
                None,
                named.value,
                f"the row's {column} {value!r} is a {named.value} entry but the file was "
                f"imported as list_type={list_type.value}; import it into the right list",
            )
        return named, named.value, None
    if named is not None:
        return None, named, None  # a category 344.2(c) does not list: refused by name
    if list_type is not None:
        return list_type, list_type.value, None
    if value:
        return (
            None,
            slug(value) or "unclassified",
            f"the row's {column} {value!r} does not name a list type ({_TYPE_NAMES}), and "
            "types are never guessed from its words; import the file with "
            "list_type=<the type of the list it belongs to>, or review the row",
        )
    return (
        None,
        "unclassified",
        "the row does not say its list type and the import gave none; import the file with "
        f"list_type=<one of {_TYPE_NAMES}>, or review the row",
    )


def decode(data: bytes, *, fmt: str, expected: str) -> str:
    """The file's text; UTF-8 (BOM optional) or UTF-16 with a BOM, nothing else."""
    if not data.strip():
        raise MalformedImport("the file is empty", fmt=fmt, expected=expected)
    if data[:4] == b"PK\x03\x04":
        raise MalformedImport(
            "this is a zip archive; extract the hot-list file from it first",
            fmt=fmt,
            expected=expected,
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        # Windows tools (Genetec's own among them) save "Unicode" text as UTF-16.
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise MalformedImport(
                f"bad UTF-16 at byte {exc.start}", fmt=fmt, expected=expected
            ) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            start = exc.start + (3 if data.startswith(codecs.BOM_UTF8) else 0)
            line = data.count(b"\n", 0, start) + 1
            column = start - (data.rfind(b"\n", 0, start) + 1) + 1
            raise MalformedImport(
                f"byte 0x{data[start]:02X} is not UTF-8 (save the file as UTF-8)",
                fmt=fmt,
                expected=expected,
                line=line,
                column=column,
            ) from None
    if not text.strip():
        raise MalformedImport("the file is empty", fmt=fmt, expected=expected)
    if (nul := text.find("\x00")) >= 0:
        line = text.count("\n", 0, nul) + 1
        column = nul - (text.rfind("\n", 0, nul) + 1) + 1
        raise MalformedImport(
            "the file contains NUL bytes; it is binary, not text",
            fmt=fmt,
            expected=expected,
            line=line,
            column=column,
        )
    return text


def csv_records(
    text: str, *, fmt: str, expected: str, delimiter: str = ","
) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, fields), skipping blank lines; quoted newlines allowed."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    while True:
        start = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise MalformedImport(
                f"not valid CSV ({exc})", fmt=fmt, expected=expected, line=start
            ) from None
        if fields and any(f.strip() for f in fields):
            yield start, fields


def check_layout(fields: list[str], line: int, *, name: str, expected: str, columns: int) -> None:
    """Refuse a whole file whose first record is not this format's: header, wrong width."""
    if any("plate" in f.lower() or "record" in f.lower() for f in fields):
        raise MalformedImport(
            "this looks like a header line; the format has none",
            fmt=name,
            expected=expected,
            line=line,
        )
    if len(fields) != columns:
        raise MalformedImport(
            f"the first record has {len(fields)} columns, not {columns}",
            fmt=name,
            expected=expected,
            line=line,
        )


class Collector:
    """Sorts built entries into accepted and held by policy, and rows into errors."""

    def __init__(self, fmt: str) -> None:
        self.result = ImportResult(format=fmt)
        self._seen: dict[tuple[str, str | None, str], int] = {}

    def error(self, row: int, message: str) -> None:
        self.result.errors.append(RowError(row=row, message=message))

    def add(
        self,
        *,
        row: int,
        plate: str,
        region: str | None,
        entry_type: EntryType | None,
        category: str,
        source: str,
        reason: str,
        raw: dict[str, str],
        offense_class: OffenseClass | None = None,
        missing_endangered: bool = False,
        record_id: str | None = None,
        ori: str | None = None,
        entered_at: datetime | None = None,
        expires_at: datetime | None = None,
        manual_reason: ManualEntryReason | None = None,
        notes: str = "",
        unclear: str | None = None,
    ) -> None:
        # A record repeated in one file would become two entries and two alerts per read.
        key = (plate, region, record_id or f"{category}\x00{reason}")
        if (first := self._seen.get(key)) is not None:
            self.error(row, f"duplicate of the record on line {first}")
            return
        self._seen[key] = row
        manual = source == MANUAL_SOURCE
        entry = ImportedEntry(
            row=row,
            plate=plate,
            region=region,
            entry_type=entry_type,
            category=category,
            offense_class=offense_class,
            missing_endangered=missing_endangered or entry_type in MISSING_ENDANGERED_TYPES,
            reason=reason,
            source=source,
            record_id=record_id or None,
            ori=ori or None,
            entered_at=entered_at,
            # BOLO and manual lifetimes are capped here, so no import outlives them.
            expires_at=cap_expiry(
                entry_type, manual=manual, entered_at=entered_at, expires_at=expires_at
            ),
            manual_reason=manual_reason,
            notes=notes,
            raw=raw,
        )
        refusal = check_entry(
            entry_type=entry_type or category,
            offense_class=offense_class,
            reason=reason,
            notes=notes,
            source=source,
            manual_reason=manual_reason,
        )
        if unclear is not None and (refusal is None or refusal.clause == "344.2(c)"):
            # 344.2(c): the type decides whether the row may be listed at all; never guessed.
            refusal = Refusal("344.2(c)", unclear)
        if refusal is None:
            self.result.accepted.append(entry)
        else:
            self.result.held.append(HeldEntry(entry=entry, reason=refusal))
