"""Vendor values to canonical ones: plates, regions (ISO 3166-2), UTC timestamps, 0..1 confidence.

Every function raises `ValueError` with a message that says what is wrong and never echoes a
plate number (messages end up in responses and logs).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Literal

MAX_PLATE_LENGTH = 15

# --- plates -------------------------------------------------------------------------------------

# No-read sentinels sent in the plate field itself (docs/formats.md §6 "Plate normalisation"):
# Hikvision `unknown`, Chinese-firmware Dahua/Hikvision "no plate", and the usual placeholders.
_PLATE_SENTINELS = frozenset(
    {"unknown", "unk", "none", "null", "nil", "n/a", "noplate", "no plate", "no-plate", "无车牌"}
)
# Separators printed on plates or used by hot lists (`JKQ-551`, `DTR 6610`); anything else
# (`?`, `*`) is how some engines mark an unreadable character, so it rejects the read.
_PLATE_SEPARATORS = frozenset(" \t-._·•")
_PLATE_CHAR = re.compile(r"[A-Z0-9]")
_CLEAN_PLATE = re.compile(rf"[A-Z0-9]{{1,{MAX_PLATE_LENGTH}}}")
# Cyrillic and Greek capitals that Unicode's confusables (UTS #39 confusables.txt) map to a
# Latin capital or a digit of the plate alphabet: an OCR engine trained on several alphabets
# writes PXK7342 with a Cyrillic Ze (U+0417) for the 3. Only these fold; other letters are
# refused.
LOOKALIKES: dict[str, str] = {
    # Cyrillic
    "\u0410": "A", "\u0412": "B", "\u0415": "E", "\u0417": "3", "\u041a": "K", "\u041c": "M",
    "\u041d": "H", "\u041e": "O", "\u0420": "P", "\u0421": "C", "\u0422": "T", "\u0423": "Y",
    "\u0425": "X", "\u0405": "S", "\u0406": "I", "\u0408": "J", "\u051a": "Q", "\u051c": "W",
    "\u04ae": "Y", "\u04c0": "I",
    # Greek
    "\u0391": "A", "\u0392": "B", "\u0395": "E", "\u0396": "Z", "\u0397": "H", "\u0399": "I",
    "\u039a": "K", "\u039c": "M", "\u039d": "N", "\u039f": "O", "\u03a1": "P", "\u03a4": "T",
    "\u03a5": "Y", "\u03a7": "X", "\u03f9": "C", "\u037f": "J",
}  # fmt: skip


def normalize_plate(raw: str | None) -> str:
    """Upper-case ASCII alphanumeric plate text, separators removed, look-alike Cyrillic and
    Greek capitals folded to the Latin letter or digit they show (`LOOKALIKES`).

    Raises ValueError for a missing plate, a no-read sentinel, characters other than letters,
    digits and separators, or more than 15 characters.
    """
    if type(raw) is str and _CLEAN_PLATE.fullmatch(raw) and raw.lower() not in _PLATE_SENTINELS:
        return raw  # already canonical: the common case, kept cheap
    if raw is None:
        raise ValueError("plate is missing (null)")
    if not isinstance(raw, str):
        raise ValueError(f"plate must be a string, not {type(raw).__name__}")
    stripped = raw.strip()
    if stripped.casefold() in _PLATE_SENTINELS:
        raise ValueError(f"plate is the no-read sentinel {stripped.casefold()!r}")
    # NFKC folds full-width letters and digits (some firmware) into ASCII.
    text = unicodedata.normalize("NFKC", stripped).upper()
    out: list[str] = []
    for ch in text:
        if _PLATE_CHAR.fullmatch(ch):
            out.append(ch)
        elif ch in LOOKALIKES:
            out.append(LOOKALIKES[ch])
        elif ch not in _PLATE_SEPARATORS:
            raise ValueError(
                f"plate contains {ch!r}; send letters A-Z and digits 0-9 only "
                "(spaces, hyphens and dots are removed)"
            )
    plate = "".join(out)
    if not plate:
        raise ValueError("plate is empty (no letters or digits)")
    if len(plate) > MAX_PLATE_LENGTH:
        raise ValueError(
            f"plate has {len(plate)} characters after normalisation; at most "
            f"{MAX_PLATE_LENGTH} allowed"
        )
    return plate


# --- regions ------------------------------------------------------------------------------------

_US = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa",
    "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland",
    "MA": "Massachusetts", "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi",
    "MO": "Missouri", "MT": "Montana", "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire",
    "NJ": "New Jersey", "NM": "New Mexico", "NY": "New York", "NC": "North Carolina",
    "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming", "DC": "District of Columbia",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "UM": "U.S. Minor Outlying Islands",
}  # fmt: skip
_CA = {
    "AB": "Alberta", "BC": "British Columbia", "MB": "Manitoba", "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador", "NS": "Nova Scotia", "NT": "Northwest Territories",
    "NU": "Nunavut", "ON": "Ontario", "PE": "Prince Edward Island", "QC": "Quebec",
    "SK": "Saskatchewan", "YT": "Yukon",
}  # fmt: skip
# ISO 3166-2:MX codes with the names and the usual abbreviations (plates, SAT/SEPOMEX usage).
_MX: dict[str, tuple[str, ...]] = {
    "AGU": ("Aguascalientes", "AGS", "AG"),
    "BCN": ("Baja California", "BC"),
    "BCS": ("Baja California Sur", "BS"),
    "CAM": ("Campeche", "CAMP", "CM"),
    "CHP": ("Chiapas", "CHIS", "CS"),
    "CHH": ("Chihuahua", "CHIH", "CH"),
    "CMX": ("Ciudad de Mexico", "CDMX", "DF", "Distrito Federal", "CX"),
    "COA": ("Coahuila", "Coahuila de Zaragoza", "COAH", "CO"),
    "COL": ("Colima", "CL"),
    "DUR": ("Durango", "DGO", "DG"),
    "GUA": ("Guanajuato", "GTO", "GT"),
    "GRO": ("Guerrero", "GR"),
    "HID": ("Hidalgo", "HGO", "HG"),
    "JAL": ("Jalisco", "JA"),
    "MEX": ("Estado de Mexico", "EDOMEX", "EM"),
    "MIC": ("Michoacan", "Michoacan de Ocampo", "MICH", "MI"),
    "MOR": ("Morelos", "MO"),
    "NAY": ("Nayarit", "NA"),
    "NLE": ("Nuevo Leon", "NL"),
    "OAX": ("Oaxaca", "OA"),
    "PUE": ("Puebla", "PU"),
    "QUE": ("Queretaro", "QRO", "QT"),
    "ROO": ("Quintana Roo", "QROO", "QR"),
    "SLP": ("San Luis Potosi", "SL"),
    "SIN": ("Sinaloa", "SI"),
    "SON": ("Sonora", "SO"),
    "TAB": ("Tabasco", "TB"),
    "TAM": ("Tamaulipas", "TAMPS", "TM"),
    "TLA": ("Tlaxcala", "TLAX", "TL"),
    "VER": ("Veracruz", "Veracruz de Ignacio de la Llave", "VE"),
    "YUC": ("Yucatan", "YU"),
    "ZAC": ("Zacatecas", "ZAC", "ZA"),
}

_COUNTRY_ALIASES = {
    "US": "US", "USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "CA": "CA", "CAN": "CA", "CANADA": "CA",
    "MX": "MX", "MEX": "MX", "MEXICO": "MX",
}  # fmt: skip
# A country on its own is no subdivision; bare `CA` is California, not Canada (old OpenALPR).
_COUNTRY_ONLY = frozenset(_COUNTRY_ALIASES) - {"CA"}
_REGION_UNKNOWN = frozenset(
    {"", "-", "--", "?", "UNKNOWN", "UNK", "NONE", "NULL", "N/A", "NA", "XX"}
)


def _fold(text: str) -> str:
    """Upper-case, accents removed, runs of separators collapsed to one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_only = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s_.,/]+", " ", ascii_only).strip().upper()


def _build_tables() -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    by_country: dict[str, dict[str, str]] = {"US": {}, "CA": {}, "MX": {}}
    for code, name in _US.items():
        by_country["US"][code] = f"US-{code}"
        by_country["US"][_fold(name)] = f"US-{code}"
    for code, name in _CA.items():
        by_country["CA"][code] = f"CA-{code}"
        by_country["CA"][_fold(name)] = f"CA-{code}"
    # Pre-2001 Canadian postal codes still printed by older systems.
    by_country["CA"].update({"PQ": "CA-QC", "NF": "CA-NL", "YK": "CA-YT", "LB": "CA-NL"})
    by_country["CA"].update({"NEWFOUNDLAND": "CA-NL", "PEI": "CA-PE", "YUKON TERRITORY": "CA-YT"})
    by_country["US"].update({"WASHINGTON DC": "US-DC", "D C": "US-DC"})
    for code, aliases in _MX.items():
        by_country["MX"][code] = f"MX-{code}"
        for alias in aliases:
            by_country["MX"][_fold(alias)] = f"MX-{code}"
    # Without a country, a bare code is read as a US state first, then a Canadian province
    # (the two sets do not overlap), and only unambiguous Mexican names and ISO codes.
    bare: dict[str, str] = {}
    mx_codes = {
        key: value
        for key, value in by_country["MX"].items()
        if len(key) > 2 and key not in ("CAM", "COL", "MEX")
    }
    for table in (mx_codes, by_country["CA"], by_country["US"]):
        bare.update(table)
    return by_country, bare


_REGIONS_BY_COUNTRY, _REGIONS_BARE = _build_tables()
_ISO_3166_2 = re.compile(r"[A-Z]{2}-[A-Z0-9]{1,3}")


def _lookup(subdivision: str, country: str | None) -> str | None:
    if country is not None:
        if country in _REGIONS_BY_COUNTRY:
            return _REGIONS_BY_COUNTRY[country].get(subdivision)
        candidate = f"{country}-{subdivision}"
        return candidate if _ISO_3166_2.fullmatch(candidate) else None
    # Hot lists write `0` for `O` in state codes (`0H`, `0K`; docs/formats.md §5c).
    found = _REGIONS_BARE.get(subdivision)
    if found is None and len(subdivision) == 2 and "0" in subdivision:
        found = _REGIONS_BARE.get(subdivision.replace("0", "O"))
    return found


def normalize_region(
    raw: str | None, *, country: str | None = None, strict: bool = True
) -> str | None:
    """ISO 3166-2 subdivision (`US-TX`) from a vendor's spelling (see `_normalize_region`)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or (country is not None and not isinstance(country, str)):
        return _normalize_region(raw, country=country, strict=strict)
    # Each camera sends the same few spellings again and again: remember the answers.
    return _normalize_region_cached(raw, country, strict)


@functools.lru_cache(maxsize=8192)
def _normalize_region_cached(raw: str, country: str | None, strict: bool) -> str | None:
    return _normalize_region(raw, country=country, strict=strict)


def _normalize_region(
    raw: str | None, *, country: str | None = None, strict: bool = True
) -> str | None:
    """ISO 3166-2 subdivision (`US-TX`) from a vendor's spelling, or None when unknown.

    Accepts `us-tx`, `US_TX`, `tx`, `TX`, `Texas`, `TX, USA`, `0H`, Canadian and Mexican codes
    and names, and any well-formed ISO 3166-2 code of another country. `country` is the
    context when the value is a bare state (Genetec `Context`, Survision). Empty and unknown
    markers, and a country on its own (Axis `USA`), give None. An unrecognised value raises
    ValueError when `strict`, else gives None.
    """
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValueError(f"region must be a string, not {type(raw).__name__}")
    folded = _fold(raw.replace("-", " "))
    if folded in _REGION_UNKNOWN or folded in _COUNTRY_ONLY:
        return None
    ctx = _COUNTRY_ALIASES.get(_fold(country), _fold(country)) if country else None
    if ctx in _REGION_UNKNOWN:
        ctx = None
    result = _lookup(folded, ctx)
    if result is None:
        tokens = folded.split(" ")
        # `us-tx`, `tx us`, `TX, USA`: a country token and a subdivision token.
        for i, token in enumerate(tokens):
            if token in _COUNTRY_ALIASES and len(tokens) > 1:
                rest = " ".join(tokens[:i] + tokens[i + 1 :])
                result = _lookup(rest, _COUNTRY_ALIASES[token])
                if result is not None:
                    break
    if result is None and ctx is not None:
        result = _lookup(folded, None)
    if result is None:
        # Another country's well-formed code (`DE-BY`): kept as is, its subdivisions unchecked.
        iso = _ISO_3166_2.fullmatch(folded.replace(" ", "-", 1))
        if iso and folded[:2] not in _REGIONS_BY_COUNTRY:
            result = iso.group(0)
    if result is None and strict:
        raise ValueError(
            f"region {raw!r} is not a recognised state or province; send an ISO 3166-2 code "
            "such as 'US-TX', or null when unknown"
        )
    return result


# --- timestamps ---------------------------------------------------------------------------------

EpochUnit = Literal["s", "ms", "us", "ns"]
_UNIT_DIVISOR: dict[str, int] = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def detect_epoch_unit(value: float | Decimal) -> EpochUnit:
    """The unit of an epoch number by its magnitude (docs/formats.md §6: 1e9 s, 1e12 ms, 1e18 ns).

    Seconds up to 1e11 (year 5138), milliseconds up to 1e14, microseconds up to 1e17,
    nanoseconds beyond. A millisecond value before March 1973 would read as seconds, which no
    camera sends.
    """
    magnitude = abs(float(value))
    if magnitude < 1e11:
        return "s"
    if magnitude < 1e14:
        return "ms"
    if magnitude < 1e17:
        return "us"
    return "ns"


def epoch_to_utc(value: float | int | str | Decimal, unit: EpochUnit | None = None) -> datetime:
    """An epoch number (or numeric string, as Axis and Survision send) to an aware UTC datetime."""
    if isinstance(value, bool):
        raise ValueError("timestamp must be a number, not a boolean")
    try:
        number = Decimal(str(value).strip()) if isinstance(value, str | float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise ValueError(f"timestamp {value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError("timestamp is not a finite number")
    if number <= 0:
        raise ValueError("epoch timestamp must be positive (the camera clock is not set)")
    chosen = unit or detect_epoch_unit(number)
    micros = number * 1_000_000 / _UNIT_DIVISOR[chosen]
    try:
        return _EPOCH + timedelta(microseconds=int(micros.to_integral_value()))
    except OverflowError:
        raise ValueError(f"timestamp {value!r} is out of range") from None


# `20250314 190241733` (Axis), `20250314133112090` (Hikvision absTime),
# `20200424T1616270000` (Hikvision pull API), optionally followed by `Z` or `±HHMM`.
_COMPACT = re.compile(
    r"(?P<date>\d{8})[T ]?(?P<time>\d{6})(?P<frac>\d{1,9})?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)
_NUMERIC = re.compile(r"[+-]?\d+(\.\d+)?")


def _parse_offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_datetime(text: str) -> datetime:
    """ISO 8601 (with `T` or a space, `Z`, `±HH:MM` or `±HHMM`) or a compact vendor form.

    The result is naive when the string carries no offset; the caller decides the zone.
    """
    s = text.strip()
    if not s:
        raise ValueError("timestamp is empty")
    compact = _COMPACT.fullmatch(s)
    if compact:
        frac = (compact["frac"] or "")[:6].ljust(6, "0")
        try:
            parsed = datetime.strptime(compact["date"] + compact["time"], "%Y%m%d%H%M%S")
        except ValueError:
            raise ValueError(f"timestamp {text!r} is not a valid date and time") from None
        parsed = parsed.replace(microsecond=int(frac))
        if compact["tz"]:
            parsed = parsed.replace(tzinfo=_parse_offset(compact["tz"]))
        return parsed
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(
            f"timestamp {text!r} is not ISO 8601; send e.g. '2025-03-14T18:31:12.090Z'"
        ) from None


def infer_utc_offset(local: datetime, received_at: datetime) -> timedelta:
    """The UTC offset of a naive local time, assuming it was sent just now (15-minute steps).

    For a camera that pushes in real time with no zone in its payload. Raises ValueError when
    no real offset (within ±14 h) explains the gap, which is a wrong clock rather than a zone.
    """
    gap = local - received_at.astimezone(UTC).replace(tzinfo=None)
    quarter = timedelta(minutes=15)
    offset = round(gap / quarter) * quarter
    if abs(offset) > timedelta(hours=14):
        raise ValueError(
            "local time carries no UTC offset and is too far from the receive time to infer one; "
            "configure the camera's time zone for this source"
        )
    return offset


def to_utc(
    value: datetime | str | float | Decimal | None,
    *,
    tz: tzinfo | None = None,
    received_at: datetime | None = None,
) -> datetime:
    """Any timestamp a vendor sends, as an aware UTC datetime.

    Numbers (and numeric strings) are epochs with the unit detected by magnitude. Strings are
    ISO 8601 or compact vendor forms. A time without an offset is read in `tz`; with no `tz`,
    the offset is inferred from `received_at`; with neither it raises ValueError.
    """
    if value is None:
        raise ValueError("timestamp is missing")
    if isinstance(value, bool):
        raise ValueError("timestamp must be a number or a string, not a boolean")
    if isinstance(value, int | float | Decimal):
        return epoch_to_utc(value)
    if isinstance(value, str):
        if _NUMERIC.fullmatch(value.strip()):
            return epoch_to_utc(value)
        parsed = parse_datetime(value)
    elif isinstance(value, datetime):
        parsed = value
    else:
        raise ValueError(f"timestamp must be a number or a string, not {type(value).__name__}")
    return localize(parsed, tz=tz, received_at=received_at)


def localize(
    parsed: datetime, *, tz: tzinfo | None = None, received_at: datetime | None = None
) -> datetime:
    """An aware UTC datetime from a possibly naive one (see `to_utc` for the rules)."""
    try:
        if parsed.tzinfo is not None and parsed.utcoffset() is not None:
            return parsed.astimezone(UTC)
        if tz is not None:
            # fold=0 picks the first of two ambiguous wall-clock times at the end of DST.
            return parsed.replace(tzinfo=tz).astimezone(UTC)
        if received_at is not None:
            return (parsed - infer_utc_offset(parsed, received_at)).replace(tzinfo=UTC)
    except OverflowError:
        # Year 1 or 9999 shifted by its offset falls outside what a datetime can hold.
        raise ValueError(f"timestamp {parsed.isoformat()!r} is out of range") from None
    raise ValueError(
        f"timestamp {parsed.isoformat()!r} has no UTC offset; send one (e.g. 'Z' or '-05:00')"
    )


DateOrder = Literal["MDY", "DMY", "YMD"]
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?")


def parse_split_date(date_text: str, time_text: str, *, order: DateOrder = "MDY") -> datetime:
    """Genetec's split `DateUtc` + `TimeUtc` into a naive datetime.

    The date is locale-dependent (docs/formats.md §4d). A four-digit first field is always Y-M-D;
    a first field above 12 forces D-M-Y, a second above 12 forces M-D-Y; otherwise `order`.
    """
    parts = re.split(r"[/.:\-]", date_text.strip())
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"date {date_text!r} is not a D/M/Y, M/D/Y or Y-M-D date")
    a, b, c = (int(p) for p in parts)
    if len(parts[0]) == 4:
        year, month, day = a, b, c
    elif a > 12:
        day, month, year = a, b, c
    elif b > 12:
        month, day, year = a, b, c
    elif order == "DMY":
        day, month, year = a, b, c
    elif order == "YMD":
        year, month, day = a, b, c
    else:
        month, day, year = a, b, c
    if year < 100:
        year += 2000
    try:
        day_part = date(year, month, day)
    except ValueError:
        raise ValueError(f"date {date_text!r} is not a valid calendar date") from None
    time_match = _CLOCK.fullmatch(time_text.strip())
    if not time_match:
        raise ValueError(f"time {time_text!r} is not HH:MM[:SS[.fff]]")
    hour, minute = int(time_match[1]), int(time_match[2])
    second = int(time_match[3] or 0)
    micro = int((time_match[4] or "0").ljust(6, "0"))
    try:
        return datetime(day_part.year, day_part.month, day_part.day, hour, minute, second, micro)
    except ValueError:
        raise ValueError(f"time {time_text!r} is out of range") from None


# --- confidence ---------------------------------------------------------------------------------

ConfidenceScale = Literal["auto", "unit", "percent", "byte"]
_SCALE_MAX = {"unit": 1.0, "percent": 100.0, "byte": 255.0}


def normalize_confidence(
    value: float | int | str | None, *, scale: ConfidenceScale = "auto"
) -> float | None:
    """A confidence on the 0..1 scale, or None when absent or "not available" (negative).

    `unit` is 0..1 (Plate Recognizer, Verkada, Axis, Frigate), `percent` 0..100 (OpenALPR,
    Hikvision, Genetec), `byte` 0..255 (Dahua, inferred). `auto` reads values up to 1 as 0..1
    and up to 100 as a percentage: use it only when the scale is unknown, since 1 % would read
    as certainty.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("confidence must be a number, not a boolean")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"confidence {value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError("confidence is not a finite number")
    if number < 0:
        return None  # Genetec `Score: -1` means "not available".
    chosen = scale
    if chosen == "auto":
        chosen = "unit" if number <= 1.0 else "percent"
    top = _SCALE_MAX[chosen]
    if number > top:
        raise ValueError(f"confidence {value!r} is above {top:g}, the top of its {chosen} scale")
    return round(number / top, 6)


# --- clock skew ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """How far a camera's clock is from ours for one read.

    `skew` is device time minus receive time: negative is the normal delivery delay (or a clock
    running behind), positive means the camera claims a time in our future.
    """

    skew: timedelta
    flagged: bool

    @property
    def seconds(self) -> float:
        return self.skew.total_seconds()


def clock_skew(
    device_time: datetime,
    received_at: datetime,
    *,
    threshold: timedelta = timedelta(minutes=5),
    future_threshold: timedelta | None = None,
) -> ClockSkew:
    """Flag a read whose camera clock is far off (docs/formats.md §6: clock or time-zone mistakes).

    Flagged when the device time is more than `threshold` before the receive time, or more than
    `future_threshold` (default: the same threshold) after it. Both datetimes must be aware.
    """
    if device_time.tzinfo is None or received_at.tzinfo is None:
        raise ValueError("clock_skew needs timezone-aware datetimes")
    if threshold < timedelta(0):
        raise ValueError("threshold must not be negative")
    ahead_limit = threshold if future_threshold is None else future_threshold
    skew = device_time - received_at
    flagged = skew > ahead_limit or -skew > threshold
    return ClockSkew(skew=skew, flagged=flagged)
