"""Genetec Security Center (AutoVu) hotlist source file, delimited.

Security Center reads these files positionally, with the attribute order and the delimiter
configured per hotlist in Config Tool, so its files usually have no header line. Either the
file's first line names the attributes, in Genetec's own names:

    PlateNumber;Category;PlateState;EffectiveDate;ExpiryDate;OffenseClass;NCICNumber
    PXK7342;Stolen vehicle;TX;2025-03-02;2025-09-02;;V904418273

or the import gives that order, as configured in Security Center, written with the file's
delimiter (`columns=Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate`; `delimiter=tab`
for a Tab-delimited file), and every line is a record. A header-less file without such a
mapping is refused, saying how to give one.

The delimiter is whichever of `;` (Genetec's default), `,`, `:` or Tab the header or mapping
uses. Only `PlateNumber` is mandatory. `Category` is the reason ("Stolen", "Wanted felon",
"Amber alert"); when it is a category name it decides the 344.2(c) type, matched whole and
never searched for words ("Stolen Silver Nissan" is no Silver Alert); otherwise the import's
`list_type` does, and a row with neither is held for review with the reason. A category that is
not a 344.2(c) type ("Parking permit", "Sex offender") is held too. `PlateState` is a
state/province code, `ExpiryDate` is valid through the end of that day. Custom attributes are
kept in `raw`; two are understood: `OffenseClass` (required for wanted persons, 344.2(c)) and
`NCICNumber`. `EffectiveDate` is kept as the entry date. Genetec's fixed-length layout needs its
start/length configuration and is not read here.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    csv_records,
    decode,
    default_tz,
    entered_at_of,
    expires_at_of,
    offense_class_of,
    plate_of,
    region_of,
    resolve_type,
    slug,
)
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult

NAME = "genetec"
DELIMITERS = (";", ",", "\t", ":")
_DELIMITER_NAMES = {"tab": "\t", "semicolon": ";", "comma": ",", "colon": ":"}
EXPECTED = (
    "a delimited text file (; , : or Tab) whose first line names Genetec attributes: "
    "PlateNumber (required), Category, PlateState, EffectiveDate, ExpiryDate, and optionally "
    "OffenseClass, NCICNumber or other custom attributes; or a file without that line, "
    "imported with the hotlist's attribute order as configured in Security Center "
    "(columns=Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate, written with the "
    "file's delimiter; delimiter=tab for Tab)"
)
HOW_TO_MAP = (
    "the file has no header line naming its attributes (PlateNumber, Category, ...), and no "
    "column mapping was given: import it with the hotlist's attribute order as configured in "
    "Security Center, written with the file's delimiter, e.g. "
    "columns=Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate (add delimiter=tab for a "
    "Tab-delimited file), or make that order the file's first line"
)


def _key(name: str) -> str:
    return slug(name).replace("_", "")


def _delimiter(header: str) -> str:
    used = [d for d in DELIMITERS if d in header]
    if len(used) > 1:
        raise MalformedImport(
            "the header mixes delimiters "
            + " and ".join(repr(d) for d in used)
            + "; use one of ; , : or Tab",
            fmt=NAME,
            expected=EXPECTED,
            line=1,
        )
    return used[0] if used else ";"


def _is_header(line: str) -> bool:
    return "platenumber" in {_key(token) for token in re.split(r"[;,:\t]", line)}


def _check_names(names: list[str], *, what: str, line: int | None) -> None:
    if "platenumber" not in names:
        raise MalformedImport(
            f"{what} does not name the PlateNumber attribute",
            fmt=NAME,
            expected=EXPECTED,
            line=line,
            column=1 if line else None,
        )
    if "" in names:
        raise MalformedImport(
            f"{what} has an empty attribute name", fmt=NAME, expected=EXPECTED, line=line
        )
    if len(set(names)) != len(names):
        raise MalformedImport(
            f"{what} names an attribute twice", fmt=NAME, expected=EXPECTED, line=line
        )


def _mapping(options: ImportOptions) -> tuple[str, list[str]] | None:
    """(delimiter, attribute names) from the import's column mapping, if it gives one."""
    if not options.columns:
        return None
    given = (options.delimiter or "").strip()
    delimiter = _DELIMITER_NAMES.get(given.lower(), given) if given else None
    if delimiter is not None and delimiter not in DELIMITERS:
        raise MalformedImport(
            f"delimiter {options.delimiter!r} is not one of ; , : or tab",
            fmt=NAME,
            expected=EXPECTED,
        )
    # The mapping is written with the file's delimiter; a Tab is hard to put in a URL, so with
    # `delimiter=tab` it may use any one of ; , or : instead.
    separator = (
        delimiter
        if delimiter is not None and delimiter in options.columns
        else _delimiter(options.columns)
    )
    header = [c.strip() for c in options.columns.split(separator)]
    return delimiter or separator, header


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    options = options or ImportOptions()
    tz = tz or default_tz()
    text = decode(data, fmt=NAME, expected=EXPECTED)
    first_line = next(line for line in text.split("\n") if line.strip())
    header: list[str] = []
    names: list[str] | None = None
    if _is_header(first_line):
        delimiter = _delimiter(first_line)
    else:
        mapping = _mapping(options)
        if mapping is None:
            raise MalformedImport(HOW_TO_MAP, fmt=NAME, expected=EXPECTED, line=1)
        delimiter, header = mapping
        names = [_key(h) for h in header]
        _check_names(names, what="the column mapping", line=None)
    out = Collector(NAME)
    for line, fields in csv_records(text, fmt=NAME, expected=EXPECTED, delimiter=delimiter):
        if names is None:
            header = [f.strip() for f in fields]
            names = [_key(f) for f in header]
            _check_names(names, what="the first line", line=line)
            continue
        if len(fields) != len(names):
            out.error(line, f"{len(fields)} fields where the attributes name {len(names)}")
            continue
        raw = {h: f.strip() for h, f in zip(header, fields, strict=True)}
        values = {n: f.strip() for n, f in zip(names, fields, strict=True)}
        try:
            _row(out, line, raw, values, tz, options)
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


def _row(
    out: Collector,
    line: int,
    raw: dict[str, str],
    values: dict[str, str],
    tz: tzinfo,
    options: ImportOptions,
) -> None:
    category_text = values.get("category", "")
    entry_type, category, unclear = resolve_type(
        category_text, column="Category", list_type=options.list_type
    )
    offense = offense_class_of(values.get("offenseclass", ""))
    out.add(
        row=line,
        plate=plate_of(values["platenumber"]),
        region=region_of(values.get("platestate", "")),
        entry_type=entry_type,
        category=category,
        source="genetec",
        reason=category_text or category.replace("_", " "),
        raw=raw,
        offense_class=offense,
        missing_endangered=category == "missing_person",
        record_id=values.get("ncicnumber", "") or values.get("recordid", ""),
        entered_at=entered_at_of(values.get("effectivedate", ""), "EffectiveDate", tz),
        expires_at=expires_at_of(values.get("expirydate", ""), "ExpiryDate", tz),
        unclear=unclear,
    )


IMPORTER = Importer(
    name=NAME, title="Genetec Security Center hotlist", expected=EXPECTED, parse=parse
)
