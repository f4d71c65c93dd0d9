"""The project's canonical hot-list CSV: what every adapter maps into, and what agencies send.

UTF-8 (a BOM is fine), comma-separated, RFC 4180 quoting, one header line naming the columns;
column order is free, names are case-insensitive, and a column the format does not define is an
error (a misspelt `expiry_date` would otherwise drop every expiry silently).

Columns (* required):

    plate *            the plate; spaces, dashes and dots removed, letters upper-cased
    state              NCIC/postal code (TX, ON, NCIC's 0K for OK) or ISO 3166-2 (US-TX)
    list_type *        stolen_vehicle, stolen_plate, bolo, amber_alert, silver_alert, warrant
                       (also wanted_person, agency_bolo, stolen_canadian_vehicle); any other
                       value (missing_person, sex_offender...) is held for review, 344.2(c)
    list_code          the source's record-type letter (V, P, W...), kept as given
    reason             why the plate is listed, free text; checked for 344.4(a)5-6 purposes
    ncic_number        NCIC/TCIC record number: the record id
    ori                originating agency identifier
    entry_date         YYYY-MM-DD (also YYYYMMDD, MM/DD/YYYY, ISO 8601 with a time)
    expiration_date    same forms; a bare date is valid through the end of that day
    vehicle_year, vehicle_make, vehicle_model, vehicle_style, vehicle_color    NCIC codes
    source *           ncic, tcic (TCIC/NCIC counts as ncic), agency (another agency's
                       list), manual (typed in here; LOCAL means the same)
    notes              free text; checked like reason
    offense_class      required for warrants: class_a_misdemeanor ... capital_felony, or
                       Class A, MA, F2, 2nd degree felony; a warrant without one is held,
                       344.2(c), and Class B/C warrants are held too (344.2(c), 344.4(a)5)
    missing_endangered yes/no; implied for Amber/Silver alerts and missing-person records
    manual_reason      required for manual rows: a ManualEntryReason value; a manual row
                       without one is held (344.6(b)7)

The first sixteen columns are those of the shared example `hotlist_canonical_1.csv`; the last
three are ours, because the policy needs them and no state file carries them.

Bare dates are in the agency's time zone. BOLO and manual rows get their expiry capped by
the policy's lifetime limits counted from `entry_date`.
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    csv_records,
    decode,
    default_tz,
    entered_at_of,
    expires_at_of,
    flag_of,
    offense_class_of,
    plate_of,
    region_of,
    slug,
)
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult
from alpr_hotlist.policy import EntryType, ManualEntryReason

NAME = "canonical"
COLUMNS = (
    "plate",
    "state",
    "list_type",
    "list_code",
    "reason",
    "ncic_number",
    "ori",
    "entry_date",
    "expiration_date",
    "vehicle_year",
    "vehicle_make",
    "vehicle_model",
    "vehicle_style",
    "vehicle_color",
    "source",
    "notes",
    "offense_class",
    "missing_endangered",
    "manual_reason",
)
REQUIRED = ("plate", "list_type", "source")
EXPECTED = (
    "a CSV file whose first line names its columns, among: "
    + ", ".join(COLUMNS)
    + " (plate, list_type and source are required)"
)

_LIST_TYPES: dict[str, EntryType] = {t.value: t for t in EntryType} | {
    "wanted_person": EntryType.WARRANT,
    "agency_bolo": EntryType.BOLO,
    "stolen_canadian_vehicle": EntryType.STOLEN_VEHICLE,
}
_MISSING_CATEGORIES = frozenset({"missing_person", "endangered_missing_person"})
_SOURCES = {
    "ncic": "ncic",
    "tcic": "tcic",
    # Texas agencies enter through TCIC, which forwards to NCIC; the record number is NCIC's.
    "tcic/ncic": "ncic",
    "ncic/tcic": "ncic",
    "agency": "agency",
    "manual": "manual",
    "local": "manual",
}


def _header(fields: list[str], line: int) -> list[str]:
    names = [slug(f) for f in fields]
    unknown = [f for f, n in zip(fields, names, strict=True) if n not in COLUMNS]
    if unknown:
        raise MalformedImport(
            "unknown column(s) " + ", ".join(repr(u) for u in unknown),
            fmt=NAME,
            expected=EXPECTED,
            line=line,
            column=names.index(slug(unknown[0])) + 1,
        )
    missing = [r for r in REQUIRED if r not in names]
    if missing:
        raise MalformedImport(
            "the header lacks the required column(s) " + ", ".join(missing),
            fmt=NAME,
            expected=EXPECTED,
            line=line,
        )
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise MalformedImport(
            f"column {twice!r} appears twice",
            fmt=NAME,
            expected=EXPECTED,
            line=line,
            column=names.index(twice, names.index(twice) + 1) + 1,
        )
    return names


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    tz = tz or default_tz()
    text = decode(data, fmt=NAME, expected=EXPECTED)
    out = Collector(NAME)
    names: list[str] | None = None
    for line, fields in csv_records(text, fmt=NAME, expected=EXPECTED):
        if names is None:
            names = _header(fields, line)
            continue
        if len(fields) != len(names):
            out.error(line, f"{len(fields)} fields where the header names {len(names)}")
            continue
        raw = {n: f.strip() for n, f in zip(names, fields, strict=True)}
        try:
            _row(out, line, raw, tz, options or ImportOptions())
        except ValueError as exc:
            out.error(line, str(exc))
    if names is None:
        raise MalformedImport("no header line", fmt=NAME, expected=EXPECTED, line=1)
    return out.result


def _row(
    out: Collector, line: int, raw: dict[str, str], tz: tzinfo, options: ImportOptions
) -> None:
    get = raw.get
    list_type = slug(get("list_type", ""))
    if not list_type:
        raise ValueError("list_type is empty")
    source_text = get("source", "").lower().replace(" ", "")
    if source_text not in _SOURCES:
        raise ValueError(
            f"source {get('source', '')!r} is not one of ncic, tcic, agency, manual (or LOCAL)"
        )
    manual_text = get("manual_reason", "")
    try:
        manual_reason = ManualEntryReason(slug(manual_text)) if manual_text else None
    except ValueError:
        raise ValueError(
            f"manual_reason {manual_text!r} is not one of "
            + ", ".join(r.value for r in ManualEntryReason)
        ) from None
    entry_type = _LIST_TYPES.get(list_type)
    unclear = None
    if options.list_type is not None and entry_type not in (None, options.list_type):
        # The row's own list_type column decides; one contradicting the import is held.
        unclear = (
            f"the row's list_type {list_type!r} contradicts the import's "
            f"list_type={options.list_type.value}; import it into the right list"
        )
        entry_type = None
    out.add(
        row=line,
        plate=plate_of(get("plate", "")),
        region=region_of(get("state", "")),
        entry_type=entry_type,
        category=list_type,
        source=_SOURCES[source_text],
        reason=get("reason", "") or list_type.replace("_", " "),
        raw=raw,
        offense_class=offense_class_of(get("offense_class", "")),
        missing_endangered=flag_of(get("missing_endangered", ""), "missing_endangered")
        or list_type in _MISSING_CATEGORIES,
        record_id=get("ncic_number", ""),
        ori=get("ori", "").upper(),
        entered_at=entered_at_of(get("entry_date", ""), "entry_date", tz),
        expires_at=expires_at_of(get("expiration_date", ""), "expiration_date", tz),
        manual_reason=manual_reason,
        notes=get("notes", ""),
        unclear=unclear,
    )


IMPORTER = Importer(name=NAME, title="Canonical hot-list CSV", expected=EXPECTED, parse=parse)
