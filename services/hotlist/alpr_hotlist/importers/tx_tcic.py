"""Texas TCIC hot file, CSV: 8 columns, no header.

`record_id, plate, state, year, make, model, bodytype, color`. The **second** character of
record_id is the TCIC file (the first is the `T` of TCIC):

E violent person, M missing person, O protection order, P stolen plate, T threat against a
peace officer, V stolen vehicle, W wanted person, X sex offender, Y child safety check.

Traps: TCIC `T` (threat against an officer) is not NCIC `T` (gang/terrorist), and TCIC `O`
is NCIC `H` (protection order). The file has no dates and no ORI. Wanted-person records carry
no offense class and are held until one is recorded (344.2(c)).
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    check_layout,
    csv_records,
    decode,
    plate_of,
    region_of,
)
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult
from alpr_hotlist.policy import EntryType

NAME = "tx_tcic"
COLUMNS = ("record_id", "plate", "state", "year", "make", "model", "bodytype", "color")
EXPECTED = (
    "a headerless CSV of 8 columns: " + ", ".join(COLUMNS) + "; e.g. "
    "TW1026325915,17MFM5,TX,2009,FORD,TK,PK,WHI"
)

CODES: dict[str, tuple[EntryType | None, str, bool]] = {
    "E": (None, "violent_person", False),
    "M": (None, "missing_person", True),
    "O": (None, "protection_order", False),
    "P": (EntryType.STOLEN_PLATE, "stolen_plate", False),
    "T": (None, "threat_against_peace_officer", False),
    "V": (EntryType.STOLEN_VEHICLE, "stolen_vehicle", False),
    "W": (EntryType.WARRANT, "wanted_person", False),
    "X": (None, "sex_offender", False),
    # A child safety check alert is not an AMBER alert; a manager may enter one if it becomes so.
    "Y": (None, "child_safety_check", True),
}


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    text = decode(data, fmt=NAME, expected=EXPECTED)
    out = Collector(NAME)
    first = True
    for line, fields in csv_records(text, fmt=NAME, expected=EXPECTED):
        if first:
            check_layout(fields, line, name=NAME, expected=EXPECTED, columns=len(COLUMNS))
            first = False
        if len(fields) != len(COLUMNS):
            out.error(line, f"{len(fields)} columns, expected {len(COLUMNS)}")
            continue
        raw = {n: f.strip() for n, f in zip(COLUMNS, fields, strict=True)}
        try:
            _row(out, line, raw)
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


def _row(out: Collector, line: int, raw: dict[str, str]) -> None:
    record_id = raw["record_id"].upper()
    code = record_id[1:2]
    if len(record_id) < 3 or code not in CODES:
        raise ValueError(
            f"record_id {raw['record_id']!r}: its second character is not a known TCIC file "
            f"letter ({''.join(CODES)})"
        )
    entry_type, category, missing = CODES[code]
    out.add(
        row=line,
        plate=plate_of(raw["plate"]),
        region=region_of(raw["state"]),
        entry_type=entry_type,
        category=category,
        source="tcic",
        reason=f"TCIC {category.replace('_', ' ')}",
        raw=raw,
        missing_endangered=missing,
        record_id=record_id,
    )


IMPORTER = Importer(name=NAME, title="Texas TCIC hot file (CSV)", expected=EXPECTED, parse=parse)
