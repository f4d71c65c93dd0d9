"""Texas NCIC hot file, CSV: 11 columns, no header.

`record_id, ori, record_date (YYYYMMDD), plate, state, registration_year, vehicle_year, make,
model, bodytype, color`. The first character of record_id is the NCIC file:

B boat, C supervised release, H protection order, M missing person, N deported felon,
P stolen plate, R stolen Canadian vehicle, T gang/terrorist member, V stolen vehicle,
W wanted person, X sex offender.

Traps: zeros stand in for the letter O in codes (`0H` for Ohio, `0K0550000` ORIs, `H0ND`
makes), and the extract carries blank `,,,,,,,,,,` lines. Wanted-person records carry no offense
class, so each W record is held until a hotlist manager records the warrant's class (344.2(c)).
Files with 12 columns are the Minnesota variant (plate type added) and are refused.
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    check_layout,
    csv_records,
    decode,
    default_tz,
    entered_at_of,
    fix_zeros,
    plate_of,
    region_of,
)
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult
from alpr_hotlist.policy import EntryType

NAME = "tx_ncic"
COLUMNS = (
    "record_id",
    "ori",
    "record_date",
    "plate",
    "state",
    "registration_year",
    "vehicle_year",
    "make",
    "model",
    "bodytype",
    "color",
)
EXPECTED = (
    "a headerless CSV of 11 columns: " + ", ".join(COLUMNS) + "; e.g. "
    "V904418273,TX2279900,20250302,PXK7342,TX,2025,2018,HOND,CRV,UT,WHI"
)

# Record-type letter -> (344.2(c) type or None, category, missing/endangered).
CODES: dict[str, tuple[EntryType | None, str, bool]] = {
    "B": (None, "stolen_boat", False),
    "C": (None, "supervised_release", False),
    "H": (None, "protection_order", False),
    "M": (None, "missing_person", True),
    "N": (None, "deported_felon", False),
    "P": (EntryType.STOLEN_PLATE, "stolen_plate", False),
    "R": (EntryType.STOLEN_VEHICLE, "stolen_canadian_vehicle", False),
    "T": (None, "gang_terrorist_member", False),
    "V": (EntryType.STOLEN_VEHICLE, "stolen_vehicle", False),
    "W": (EntryType.WARRANT, "wanted_person", False),
    "X": (None, "sex_offender", False),
}


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    tz = tz or default_tz()
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
            _row(out, line, raw, tz)
        except ValueError as exc:
            out.error(line, str(exc))
    return out.result


def _row(out: Collector, line: int, raw: dict[str, str], tz: tzinfo) -> None:
    record_id = raw["record_id"].upper()
    code = record_id[:1]
    if code not in CODES:
        raise ValueError(
            f"record_id {raw['record_id']!r} does not start with a known NCIC file letter "
            f"({''.join(CODES)})"
        )
    entry_type, category, missing = CODES[code]
    ori = raw["ori"].upper()
    out.add(
        row=line,
        plate=plate_of(raw["plate"]),
        region=region_of(raw["state"]),
        entry_type=entry_type,
        category=category,
        source="ncic",
        reason=f"NCIC {category.replace('_', ' ')}",
        raw=raw,
        missing_endangered=missing,
        record_id=record_id,
        ori=fix_zeros(ori[:2]) + ori[2:],
        entered_at=entered_at_of(raw["record_date"], "record_date", tz),
    )


IMPORTER = Importer(name=NAME, title="Texas NCIC hot file (CSV)", expected=EXPECTED, parse=parse)
