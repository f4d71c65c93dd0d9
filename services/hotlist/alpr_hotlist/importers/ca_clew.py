"""California DOJ CLEW hot-list extract (`.tbl`): fixed width, one file per list.

    DATE03/14/2025 06:00
    8KDT517 CA1920250302
    4RWB882 CA3720250228
    TOTAL RECORD 0000002

The first line is `DATE` and the extract's date and time (MM/DD/YYYY HH:MM). Each record is
the plate (left-justified, 8 characters), the state (2), the county code (2) and the date of
loss (YYYYMMDD); the plate is read as whatever precedes the last 12 characters, so a record
whose plate field is narrower still reads. The last line, `TOTAL RECORD nnnnnnn`, counts the
records: a file whose count does not match (a truncated transfer) is refused whole, as is one
without it.

CLEW sends separate files per list (`svs.tbl` stolen vehicles, `slr.tbl` stolen license
plates, `sfr.tbl` felony vehicles) and a record does not say which: the 344.2(c) type is the
import's `list_type` (the list the file is imported into), and without it every record is held
for review, saying so. Felony vehicles are not a 344.2(c) type of their own; a hotlist manager
may import them as BOLOs tied to the felony's case.
"""

from __future__ import annotations

import re
from datetime import datetime, tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    decode,
    default_tz,
    entered_at_of,
    plate_of,
    region_of,
    resolve_type,
)
from alpr_hotlist.importers.errors import MalformedImport
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult

NAME = "ca_clew"
EXPECTED = (
    "a CA DOJ CLEW .tbl extract: a first line 'DATEMM/DD/YYYY HH:MM', fixed-width records "
    "(plate 8, state 2, county 2, date of loss YYYYMMDD) and a last line 'TOTAL RECORD "
    "nnnnnnn' giving the number of records"
)
_HEADER = re.compile(r"DATE\s*(\d{2}/\d{2}/\d{4})(?:\s+(\d{1,2}:\d{2}))?")
_FOOTER = re.compile(r"TOTAL\s+RECORDS?\s*(\d+)", re.IGNORECASE)
_TAIL = re.compile(r"(?P<state>[A-Z0-9 ]{2})(?P<county>[0-9 ]{2})(?P<date>\d{8})")
TAIL_LENGTH = 12
_UNCLEAR = (
    "a CLEW .tbl file does not say which list its records are on (svs.tbl stolen vehicles, "
    "slr.tbl stolen license plates, sfr.tbl felony vehicles); import it with "
    "list_type=<the type of the list it belongs to>, or review the row"
)


def _refuse(problem: str, line: int | None = None) -> MalformedImport:
    return MalformedImport(problem, fmt=NAME, expected=EXPECTED, line=line)


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    options = options or ImportOptions()
    tz = tz or default_tz()
    text = decode(data, fmt=NAME, expected=EXPECTED)
    lines = [(n, line.rstrip("\r")) for n, line in enumerate(text.split("\n"), start=1)]
    lines = [(n, line) for n, line in lines if line.strip()]
    header_line, header = lines[0]
    match = _HEADER.fullmatch(header.strip())
    if match is None:
        raise _refuse("the first line is not the 'DATEMM/DD/YYYY HH:MM' header", header_line)
    try:
        datetime.strptime(match.group(1), "%m/%d/%Y")
    except ValueError:
        raise _refuse(f"the header's date {match.group(1)!r} is not a date", header_line) from None
    footer_line, footer = lines[-1]
    total = _FOOTER.fullmatch(footer.strip())
    if total is None or len(lines) < 2:
        raise _refuse(
            "the last line is not 'TOTAL RECORD nnnnnnn': the file is incomplete (a truncated "
            "transfer?); fetch the extract again",
            footer_line,
        )
    records = lines[1:-1]
    if int(total.group(1)) != len(records):
        raise _refuse(
            f"the footer counts {int(total.group(1))} records but the file has {len(records)}: "
            "the file is incomplete or altered; fetch the extract again",
            footer_line,
        )
    entry_type, category, unclear = resolve_type(
        "", column="list type", list_type=options.list_type
    )
    out = Collector(NAME)
    for line, record in records:
        body = record.rstrip()
        tail = _TAIL.fullmatch(body[-TAIL_LENGTH:]) if len(body) > TAIL_LENGTH else None
        if tail is None:
            out.error(
                line,
                "not a CLEW record (plate, then state 2, county 2 and date of loss YYYYMMDD)",
            )
            continue
        raw = {
            "plate": body[:-TAIL_LENGTH].strip(),
            "state": tail["state"].strip(),
            "county": tail["county"].strip(),
            "date_of_loss": tail["date"],
        }
        try:
            out.add(
                row=line,
                plate=plate_of(raw["plate"]),
                region=region_of(raw["state"]),
                entry_type=entry_type,
                category=category,
                source="clew",
                reason=f"CA DOJ CLEW {category.replace('_', ' ')} (county {raw['county']})",
                raw=raw,
                entered_at=entered_at_of(raw["date_of_loss"], "date of loss", tz),
                unclear=None if unclear is None else _UNCLEAR,
            )
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


IMPORTER = Importer(
    name=NAME, title="California DOJ CLEW hot list (.tbl)", expected=EXPECTED, parse=parse
)
