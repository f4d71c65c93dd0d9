"""Rekor (OpenALPR) alert-list CSV, as its alert-group import takes it.

    Plate Number,Description,State/Province
    PXK7342,Stolen vehicle NCIC V904418273,us-tx

The header is required and exact (case aside). The state is Rekor's `us-xx` form (a bare
`TX` is accepted too). A Rekor list is one alert group, so rows do not say which list they
are on: the 344.2(c) type is the import's `list_type` (the list the file is imported into),
never a guess from the description's words ("Stolen Vehicle 2014 Silver Nissan" is not a Silver
Alert). Without `list_type` every row is held for review, saying so. An NCIC number (a letter
and 9 digits) in the description becomes the record id, and an offense class stated in it
("Class A misdemeanor", "2nd degree felony") is used for warrants.
"""

from __future__ import annotations

import re
from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    csv_records,
    decode,
    plate_of,
    region_of,
    resolve_type,
)
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult
from alpr_hotlist.policy import OffenseClass

NAME = "rekor"
HEADER = ("Plate Number", "Description", "State/Province")
EXPECTED = "a CSV whose first line is 'Plate Number,Description,State/Province'"
# Rekor's importer refuses longer descriptions; a longer one here is not a Rekor export.
MAX_DESCRIPTION = 1000
_NCIC_NUMBER = re.compile(r"\b[A-Z]\d{9}\b")


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    text = decode(data, fmt=NAME, expected=EXPECTED)
    out = Collector(NAME)
    seen_header = False
    for line, fields in csv_records(text, fmt=NAME, expected=EXPECTED):
        if not seen_header:
            got = tuple(f.strip().lower() for f in fields)
            if got != tuple(h.lower() for h in HEADER):
                raise MalformedImport(
                    f"the header is {','.join(f.strip() for f in fields)!r}",
                    fmt=NAME,
                    expected=EXPECTED,
                    line=line,
                    column=1,
                )
            seen_header = True
            continue
        if len(fields) != len(HEADER):
            out.error(line, f"{len(fields)} fields, expected {len(HEADER)}")
            continue
        raw = {h: f.strip() for h, f in zip(HEADER, fields, strict=True)}
        try:
            _row(out, line, raw, options or ImportOptions())
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


def _row(out: Collector, line: int, raw: dict[str, str], options: ImportOptions) -> None:
    description = raw["Description"]
    if len(description) > MAX_DESCRIPTION:
        raise ValueError(f"description is longer than {MAX_DESCRIPTION} characters")
    # The file has no type column: the type is the import's, or unknown (held, saying why).
    entry_type, category, unclear = resolve_type(
        "", column="Description", list_type=options.list_type
    )
    record = _NCIC_NUMBER.search(description.upper())
    out.add(
        row=line,
        plate=plate_of(raw["Plate Number"]),
        region=region_of(raw["State/Province"]),
        entry_type=entry_type,
        category=category,
        source="rekor",
        reason=description or "unclassified Rekor alert-list entry",
        raw=raw,
        offense_class=OffenseClass.find_in(description),
        record_id=record.group(0) if record else None,
        unclear=None if unclear is None else _UNCLEAR,
    )


_UNCLEAR = (
    "a Rekor alert list does not say its list type (its description is free text, and types "
    "are never guessed from its words); import the file with list_type=<the type of the list "
    "it belongs to>, or review the row"
)


IMPORTER = Importer(name=NAME, title="Rekor / OpenALPR alert list", expected=EXPECTED, parse=parse)
