"""Genetec Security Center (AutoVu) hotlist source file, delimited.

Genetec reads these files positionally, with the attribute order configured per hotlist in
Config Tool. A file handed to us carries no such configuration, so we require its first line to
name the attributes, in Genetec's own names:

    PlateNumber;Category;PlateState;EffectiveDate;ExpiryDate;OffenseClass;NCICNumber
    PXK7342;Stolen vehicle;TX;2025-03-02;2025-09-02;;V904418273

The delimiter is whichever of `;` (Genetec's default), `,`, `:` or Tab the header uses. Only
`PlateNumber` is mandatory. `Category` is the reason ("Stolen", "Wanted felon", "Amber
alert"); it decides the 344.2(c) type, and a category naming none ("Parking permit", "Sex
offender", empty) is held for review. `PlateState` is a state/province code, `ExpiryDate` is
valid through the end of that day. Custom attributes are kept in `raw`; two are understood:
`OffenseClass` (required for wanted persons, 344.2(c)) and `NCICNumber`. `EffectiveDate` is
kept as the entry date. Genetec's fixed-length layout needs its start/length configuration and is
not read here.
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    classify,
    csv_records,
    decode,
    default_tz,
    entered_at_of,
    expires_at_of,
    offense_class_of,
    plate_of,
    region_of,
    slug,
)
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import Importer, ImportResult

NAME = "genetec"
DELIMITERS = (";", ",", "\t", ":")
EXPECTED = (
    "a delimited text file (; , : or Tab) whose first line names Genetec attributes: "
    "PlateNumber (required), Category, PlateState, EffectiveDate, ExpiryDate, and optionally "
    "OffenseClass, NCICNumber or other custom attributes"
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


def parse(data: bytes, *, tz: tzinfo | None = None) -> ImportResult:
    tz = tz or default_tz()
    text = decode(data, fmt=NAME, expected=EXPECTED)
    header_line = next(line for line in text.split("\n") if line.strip())
    delimiter = _delimiter(header_line)
    out = Collector(NAME)
    names: list[str] | None = None
    header: list[str] = []
    for line, fields in csv_records(text, fmt=NAME, expected=EXPECTED, delimiter=delimiter):
        if names is None:
            header = [f.strip() for f in fields]
            names = [_key(f) for f in header]
            if "platenumber" not in names:
                raise MalformedImport(
                    "the first line does not name the PlateNumber attribute",
                    fmt=NAME,
                    expected=EXPECTED,
                    line=line,
                    column=1,
                )
            if len(set(names)) != len(names):
                raise MalformedImport(
                    "an attribute is named twice", fmt=NAME, expected=EXPECTED, line=line
                )
            continue
        if len(fields) != len(names):
            out.error(line, f"{len(fields)} fields where the header names {len(names)}")
            continue
        raw = {h: f.strip() for h, f in zip(header, fields, strict=True)}
        values = {n: f.strip() for n, f in zip(names, fields, strict=True)}
        try:
            _row(out, line, raw, values, tz)
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


def _row(
    out: Collector, line: int, raw: dict[str, str], values: dict[str, str], tz: tzinfo
) -> None:
    category_text = values.get("category", "")
    entry_type, category = classify(category_text)
    offense = offense_class_of(values.get("offenseclass", ""))
    out.add(
        row=line,
        plate=plate_of(values["platenumber"]),
        region=region_of(values.get("platestate", "")),
        entry_type=entry_type,
        category=category or slug(category_text) or "unclassified",
        source="genetec",
        reason=category_text or "unclassified Genetec hotlist entry",
        raw=raw,
        offense_class=offense,
        missing_endangered=category == "missing_person",
        record_id=values.get("ncicnumber", "") or values.get("recordid", ""),
        entered_at=entered_at_of(values.get("effectivedate", ""), "EffectiveDate", tz),
        expires_at=expires_at_of(values.get("expirydate", ""), "ExpiryDate", tz),
    )


IMPORTER = Importer(
    name=NAME, title="Genetec Security Center hotlist", expected=EXPECTED, parse=parse
)
