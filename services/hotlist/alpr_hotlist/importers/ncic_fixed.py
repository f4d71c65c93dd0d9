"""NCIC-style fixed-width hot file (the layout of openalpr_hotlist_import's `ncic.py`).

The first line is a header and is skipped. Records, 0-based columns:

    0      record type / parse code      V
    0-9    NCIC number                   V904418273
    10-18  ORI                           TX2279900
    19-26  entry date YYYYMMDD           20250302
    27-36  plate, left-justified         PXK7342
    37-38  plate state                   TX  (zero for O: "0H")
    39-42  registration year             2025
    43-44  plate type                    PC
    45-48  vehicle year                  2018
    49-52  make (NCIC VMA)               HOND
    53-55  model (VMO)                   CRV
    56-57  style (VST)                   UT
    58-    color (VCO, may be XXX/YYY)   WHI

Parse codes: A Amber alert, F felony vehicle, W wanted person, V stolen vehicle, P stolen plate,
M missing person, C supervised release, H protection order, K protective interest, L violent
person, R stolen Canadian vehicle, T gang/terrorist member, X sex offender. Only A, P, R, V and
W are 344.2(c) categories; W is held until the warrant's offense class is recorded.

Traps: a record must be plain ASCII without tabs, or every column after the odd character
shifts; a record may end after the plate state (trailing fields blank and trimmed). The WA
variant (code at column 2) is a different layout and is not read here.
"""

from __future__ import annotations

from datetime import tzinfo

from alpr_hotlist.importers._common import (
    Collector,
    decode,
    default_tz,
    entered_at_of,
    fix_zeros,
    plate_of,
    region_of,
)
from alpr_hotlist.importers.model import Importer, ImportOptions, ImportResult
from alpr_hotlist.policy import EntryType

NAME = "ncic_fixed"
FIELDS: tuple[tuple[str, int, int | None], ...] = (
    ("ncic_number", 0, 10),
    ("ori", 10, 19),
    ("entry_date", 19, 27),
    ("plate", 27, 37),
    ("state", 37, 39),
    ("registration_year", 39, 43),
    ("plate_type", 43, 45),
    ("vehicle_year", 45, 49),
    ("make", 49, 53),
    ("model", 53, 56),
    ("style", 56, 58),
    ("color", 58, None),
)
MIN_LENGTH = 39  # through the plate state: a record without it cannot be matched by region
EXPECTED = (
    "a header line, then fixed-width records: NCIC number at columns 1-10, ORI 11-19, "
    "entry date YYYYMMDD 20-27, plate 28-37, state 38-39, then registration year, plate type, "
    "vehicle year, make, model, style, color"
)

CODES: dict[str, tuple[EntryType | None, str, bool]] = {
    "A": (EntryType.AMBER_ALERT, "amber_alert", True),
    # A vehicle used in a felony: close to a BOLO, but a manager decides (344.2(c)).
    "F": (None, "felony_vehicle", False),
    "W": (EntryType.WARRANT, "wanted_person", False),
    "V": (EntryType.STOLEN_VEHICLE, "stolen_vehicle", False),
    "P": (EntryType.STOLEN_PLATE, "stolen_plate", False),
    "M": (None, "missing_person", True),
    "C": (None, "supervised_release", False),
    "H": (None, "protection_order", False),
    "K": (None, "protective_interest", False),
    "L": (None, "violent_person", False),
    "R": (EntryType.STOLEN_VEHICLE, "stolen_canadian_vehicle", False),
    "T": (None, "gang_terrorist_member", False),
    "X": (None, "sex_offender", False),
}


def _looks_like_record(line: str) -> bool:
    return (
        len(line) >= MIN_LENGTH
        and line[0] in CODES
        and line[1:10].isdigit()
        and line[19:27].isdigit()
    )


def parse(
    data: bytes, *, tz: tzinfo | None = None, options: ImportOptions | None = None
) -> ImportResult:
    tz = tz or default_tz()
    text = decode(data, fmt=NAME, expected=EXPECTED)
    out = Collector(NAME)
    # split("\n"), not splitlines(): form feeds and other separators are data errors here,
    # not line breaks that would renumber every following line.
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        # The header is skipped, but never a first line that is itself a record.
        if number == 1 and not _looks_like_record(line):
            continue
        try:
            _row(out, number, line, tz)
        except ValueError as exc:
            out.error(number, str(exc))
    return out.result


def _row(out: Collector, number: int, line: str, tz: tzinfo) -> None:
    if not (line.isascii() and line.isprintable()):
        column, char = next(
            (i, c) for i, c in enumerate(line, start=1) if not (c.isascii() and c.isprintable())
        )
        raise ValueError(
            f"character {char!r} at column {column} would shift the fixed columns "
            "(records are plain ASCII, spaces only)"
        )
    if len(line) < MIN_LENGTH:
        raise ValueError(
            f"record is {len(line)} characters; it must reach the plate state (columns 38-39)"
        )
    raw = {name: line[start:end].strip() for name, start, end in FIELDS}
    ncic_number = raw["ncic_number"].upper()
    code = ncic_number[:1]
    if code not in CODES:
        raise ValueError(
            f"parse code {code!r} at column 1 is not one of {''.join(CODES)}",
        )
    if not ncic_number[1:].isdigit() or len(ncic_number) != 10:
        raise ValueError(f"NCIC number {ncic_number!r} (columns 1-10) is not a letter and 9 digits")
    entry_type, category, missing = CODES[code]
    ori = raw["ori"].upper()
    out.add(
        row=number,
        plate=plate_of(raw["plate"]),
        region=region_of(raw["state"]),
        entry_type=entry_type,
        category=category,
        source="ncic",
        reason=f"NCIC {category.replace('_', ' ')}",
        raw=raw,
        missing_endangered=missing,
        record_id=ncic_number,
        ori=fix_zeros(ori[:2]) + ori[2:],
        entered_at=entered_at_of(raw["entry_date"], "entry date (columns 20-27)", tz),
    )


IMPORTER = Importer(name=NAME, title="NCIC fixed-width hot file", expected=EXPECTED, parse=parse)
