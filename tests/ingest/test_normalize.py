from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpr_ingest.normalize import (
    MAX_PLATE_LENGTH,
    clock_skew,
    detect_epoch_unit,
    epoch_to_utc,
    infer_utc_offset,
    normalize_confidence,
    normalize_plate,
    normalize_region,
    parse_datetime,
    parse_split_date,
    to_utc,
)

CHICAGO = ZoneInfo("America/Chicago")

# --- plates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("hjv2058", "HJV2058"),
        ("JKQ-551", "JKQ551"),
        ("DTR 6610", "DTR6610"),
        (" abc.123 ", "ABC123"),
        ("\uff21\uff22\uff23\uff11\uff12\uff13", "ABC123"),  # full-width firmware output
        ("UNKNOWN1", "UNKNOWN1"),
    ],
)
def test_plate_is_upper_case_alphanumeric(raw, expected):
    assert normalize_plate(raw) == expected


@pytest.mark.parametrize(
    "raw", ["unknown", "UNKNOWN", " Unknown ", "", "   ", "-", "n/a", "NULL", "无车牌", None]
)
def test_unreadable_plates_are_refused(raw):
    with pytest.raises(ValueError):
        normalize_plate(raw)


def test_plate_with_an_unreadable_character_marker_is_refused_not_shortened():
    with pytest.raises(ValueError, match="'\\?'"):
        normalize_plate("AB?123")


def test_plate_longer_than_fifteen_characters_is_refused_without_echoing_it():
    with pytest.raises(ValueError) as err:
        normalize_plate("ABCDEFGHIJKLMNOP")
    assert "ABCDEFGHIJKLMNOP" not in str(err.value)
    assert "16 characters" in str(err.value)


_plate_text = st.text(
    alphabet=st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -._"),
    min_size=1,
    max_size=24,
)


@given(_plate_text)
def test_plate_normalisation_is_idempotent(raw):
    try:
        once = normalize_plate(raw)
    except ValueError:
        return
    assert normalize_plate(once) == once
    assert once.isascii() and once.isalnum() and once == once.upper()
    assert 1 <= len(once) <= MAX_PLATE_LENGTH


@given(_plate_text, st.sampled_from(["", " ", "-", ".", "  - "]))
def test_plate_separators_do_not_change_the_plate(raw, sep):
    try:
        plain = normalize_plate(raw)
    except ValueError:
        return
    assert normalize_plate(sep.join(plain.lower())) == plain


# --- regions ---------------------------------------------------------------------------------


@pytest.mark.policy("344.2(a)")
@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("us-tx", None, "US-TX"),
        ("US-TX", None, "US-TX"),
        ("tx", None, "US-TX"),
        ("TX", None, "US-TX"),
        ("Texas", None, "US-TX"),
        ("texas", None, "US-TX"),
        ("US_TX", None, "US-TX"),
        ("TX, USA", None, "US-TX"),
        ("mo", None, "US-MO"),  # old OpenALPR bare code
        ("ca", None, "US-CA"),  # bare `ca` is California, not Canada
        ("0H", None, "US-OH"),  # hot-list zero for O
        ("0K", None, "US-OK"),
        ("District of Columbia", None, "US-DC"),
        ("pr", None, "US-PR"),
        ("ON", None, "CA-ON"),
        ("ca-on", None, "CA-ON"),
        ("Québec", None, "CA-QC"),
        ("PQ", None, "CA-QC"),
        ("mx-nl", None, "MX-NLE"),
        ("Nuevo León", None, "MX-NLE"),
        ("NL", "MX", "MX-NLE"),
        ("NL", None, "CA-NL"),
        ("CDMX", None, "MX-CMX"),
        ("TX", "US", "US-TX"),
        ("TX", "USA", "US-TX"),
        ("BY", "DE", "DE-BY"),
        ("de-by", None, "DE-BY"),
        ("", None, None),
        ("-", None, None),
        ("unknown", None, None),
        ("USA", None, None),  # a country alone is no subdivision
        (None, None, None),
    ],
)
def test_region_spellings_become_iso_3166_2(raw, country, expected):
    assert normalize_region(raw, country=country) == expected


def test_unrecognised_region_raises_when_strict_and_is_unknown_otherwise():
    with pytest.raises(ValueError, match="ISO 3166-2"):
        normalize_region("Atlantis")
    assert normalize_region("Atlantis", strict=False) is None


_ALL_CODES = [
    f"US-{c}"
    for c in "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE "
    "NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC".split()
] + [f"CA-{c}" for c in "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()]


@given(st.sampled_from(_ALL_CODES), st.sampled_from([str.lower, str.upper, str.title]))
def test_region_normalisation_is_idempotent_and_case_blind(code, case):
    assert normalize_region(case(code)) == code
    assert normalize_region(normalize_region(code)) == code
    assert normalize_region(case(code.split("-")[1]), country=code[:2]) == code


# --- timestamps ------------------------------------------------------------------------------

_MOMENT = datetime(2025, 3, 14, 18, 31, 12, 90000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "unit"),
    [
        (1741974131, "s"),
        (1741979709.871204, "s"),
        (1741974131240, "ms"),
        ("1741978961733", "ms"),
        (1741974131240123, "us"),
        ("1741978961733000000", "ns"),
    ],
)
def test_epoch_unit_is_detected_by_magnitude(value, unit):
    assert detect_epoch_unit(float(value)) == unit
    assert to_utc(value).year == 2025


_instants = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(_instants, st.sampled_from(["s", "ms", "us", "ns"]))
def test_epoch_unit_detection_round_trips(moment, unit):
    factor = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[unit]
    micros = int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(microseconds=1))
    value = micros * factor // 1_000_000
    expected = epoch_to_utc(value, unit)
    assert to_utc(value) == expected
    assert to_utc(str(value)) == expected
    assert abs(expected - moment) < timedelta(seconds=1)


@given(_instants, st.integers(min_value=-14 * 4, max_value=14 * 4))
def test_iso_strings_with_any_offset_round_trip(moment, quarters):
    zone = timezone(timedelta(minutes=15 * quarters))
    local = moment.astimezone(zone)
    assert to_utc(local.isoformat()) == moment
    assert to_utc(local.isoformat(sep=" ")) == moment
    assert to_utc(local) == moment


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-14T18:31:12.090Z",
        "2025-03-14T13:31:12.090-05:00",
        "2025-03-14 13:31:12.090-05:00",  # Plate Recognizer timestamp_local
        "2025-03-14 19:31:12.090+0100",  # offset without a colon
        "20250314 183112090",  # Axis `datetime`, UTC
        "20250314 193112090+0100",
    ],
)
def test_vendor_time_strings_become_the_same_utc_instant(text):
    parsed = parse_datetime(text)
    assert to_utc(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)) == _MOMENT


def test_time_without_offset_needs_a_zone_or_a_receive_time():
    with pytest.raises(ValueError, match="no UTC offset"):
        to_utc("2025-03-14T13:31:12.090")
    assert to_utc("2025-03-14T13:31:12.090", tz=CHICAGO) == _MOMENT
    assert to_utc("2025-03-14T13:31:12.090", received_at=_MOMENT + timedelta(seconds=4)) == _MOMENT


def test_compact_hikvision_abs_time_is_local():
    assert to_utc(parse_datetime("20250314133112090"), tz=CHICAGO) == _MOMENT
    assert parse_datetime("20200424T1616270000") == datetime(2020, 4, 24, 16, 16, 27)


def test_offset_inference_refuses_a_wrong_clock():
    assert infer_utc_offset(datetime(2025, 3, 14, 13, 31), _MOMENT) == timedelta(hours=-5)
    with pytest.raises(ValueError, match="time zone"):
        infer_utc_offset(datetime(2025, 3, 16, 13, 31), _MOMENT)


@pytest.mark.parametrize("bad", [0, -5, "abc", True, float("nan"), "", "2025-13-45T00:00:00Z"])
def test_invalid_timestamps_are_refused(bad):
    with pytest.raises(ValueError):
        to_utc(bad)


@pytest.mark.parametrize(
    ("date_text", "time_text", "order", "expected"),
    [
        ("03/14/2025", "18:03:27", "MDY", datetime(2025, 3, 14, 18, 3, 27)),
        ("14/03/2025", "18:03:27", "MDY", datetime(2025, 3, 14, 18, 3, 27)),  # day > 12
        ("2025-03-14", "18:03:27.640", "DMY", datetime(2025, 3, 14, 18, 3, 27, 640000)),
        ("2025:03:14", "18:03:27", "MDY", datetime(2025, 3, 14, 18, 3, 27)),  # FTP template
        ("04/03/2025", "09:15:00", "DMY", datetime(2025, 3, 4, 9, 15)),
        ("04/03/2025", "09:15:00", "MDY", datetime(2025, 4, 3, 9, 15)),
    ],
)
def test_genetec_split_dates_follow_the_locale(date_text, time_text, order, expected):
    assert parse_split_date(date_text, time_text, order=order) == expected


# --- confidence ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (94.2187, "percent", 0.942187),
        ("92.5", "percent", 0.925),
        (0.903, "unit", 0.903),
        ("0.874512", "unit", 0.874512),
        (201, "byte", round(201 / 255, 6)),
        (94, "auto", 0.94),
        (0.5, "auto", 0.5),
        (-1, "percent", None),  # Genetec "not available"
        (None, "unit", None),
        ("", "unit", None),
    ],
)
def test_confidence_is_on_a_zero_to_one_scale(value, scale, expected):
    assert normalize_confidence(value, scale=scale) == expected


@pytest.mark.parametrize(("value", "scale"), [(101, "percent"), (1.5, "unit"), ("x", "auto")])
def test_confidence_out_of_its_scale_is_refused(value, scale):
    with pytest.raises(ValueError):
        normalize_confidence(value, scale=scale)


@given(st.floats(min_value=0, max_value=100))
def test_percent_confidence_maps_into_unit_interval(value):
    result = normalize_confidence(value, scale="percent")
    assert 0 <= result <= 1
    assert result == pytest.approx(value / 100, abs=1e-6)


# --- clock skew ------------------------------------------------------------------------------


def test_clock_skew_flags_a_camera_far_behind_or_ahead():
    received = _MOMENT
    threshold = timedelta(minutes=5)
    assert not clock_skew(received - timedelta(seconds=10), received, threshold=threshold).flagged
    behind = clock_skew(received - timedelta(hours=13), received, threshold=threshold)
    assert behind.flagged and behind.seconds == -13 * 3600
    assert clock_skew(received + timedelta(minutes=6), received, threshold=threshold).flagged


def test_clock_skew_future_threshold_can_be_tighter():
    received = _MOMENT
    check = clock_skew(
        received + timedelta(seconds=90),
        received,
        threshold=timedelta(hours=1),
        future_threshold=timedelta(seconds=60),
    )
    assert check.flagged
    late = clock_skew(received - timedelta(minutes=50), received, threshold=timedelta(hours=1))
    assert not late.flagged  # a delayed delivery within the threshold


def test_clock_skew_needs_aware_datetimes():
    with pytest.raises(ValueError):
        clock_skew(datetime(2025, 3, 14), _MOMENT)
