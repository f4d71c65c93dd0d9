import codecs
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alpr_common.errors import Unprocessable
from alpr_hotlist.importers import (
    FORMATS,
    ImportOptions,
    MalformedImport,
    UnknownImportFormat,
    parse,
)
from alpr_hotlist.policy import (
    BOLO_MAX_LIFETIME,
    MANUAL_ENTRY_MAX_LIFETIME,
    EntryType,
    ManualEntryReason,
    OffenseClass,
)

FIXTURES = Path(__file__).parent / "fixtures"
STOLEN = EntryType.STOLEN_VEHICLE
WARRANT = EntryType.WARRANT


def load(fmt, name, **kwargs):
    return parse(fmt, (FIXTURES / name).read_bytes(), **kwargs)


def by_plate(result):
    return {e.plate: e for e in result.accepted} | {h.entry.plate: h.entry for h in result.held}


def held_by_plate(result):
    return {h.entry.plate: h for h in result.held}


def accepted_plates(result):
    return [e.plate for e in result.accepted]


def test_formats_lists_every_importer():
    assert set(FORMATS) == {
        "canonical",
        "tx_ncic",
        "tx_tcic",
        "ncic_fixed",
        "genetec",
        "rekor",
        "ca_clew",
    }
    assert all(importer.expected for importer in FORMATS.values())


def test_unknown_format_is_refused_with_the_known_ones():
    with pytest.raises(UnknownImportFormat, match="canonical"):
        parse("vigilant", b"x")


# --- canonical --------------------------------------------------------------------------------


def test_canonical_example_rows_are_read_and_normalised():
    result = load("canonical", "hotlist_canonical_1.csv")
    assert accepted_plates(result) == ["PXK7342", "LMN4821", "JKQ551"]
    stolen = result.accepted[0]
    assert stolen.row == 2
    assert stolen.region == "US-TX"
    assert stolen.entry_type is EntryType.STOLEN_VEHICLE
    assert stolen.source == "ncic"
    assert stolen.record_id == "V904418273"
    assert stolen.ori == "TX2279900"
    assert stolen.raw["vehicle_make"] == "HOND"
    assert result.accepted[2].region == "US-OK"
    assert result.errors == []


def test_canonical_dates_are_agency_days_in_utc():
    stolen = load("canonical", "hotlist_canonical_1.csv").accepted[0]
    # entry_date 2025-03-02 starts at midnight Central (UTC-6 before DST).
    assert stolen.entered_at == datetime(2025, 3, 2, 6, tzinfo=UTC)
    # expiration_date 2025-09-02 is valid through that day: stops at midnight CDT (UTC-5).
    assert stolen.expires_at == datetime(2025, 9, 3, 5, tzinfo=UTC)
    assert stolen.expires_at.tzinfo is UTC


def test_time_zone_of_bare_dates_is_the_callers_choice():
    stolen = load("canonical", "hotlist_canonical_1.csv", tz=UTC).accepted[0]
    assert stolen.entered_at == datetime(2025, 3, 2, tzinfo=UTC)


@pytest.mark.policy("344.2(c)")
def test_canonical_warrant_without_class_is_held_not_dropped():
    result = load("canonical", "hotlist_canonical_1.csv")
    held = held_by_plate(result)["BK4Z918"]
    assert held.clause == "344.2(c)"
    assert held.entry.entry_type is EntryType.WARRANT
    assert held.entry.category == "wanted_person"


@pytest.mark.policy("344.2(c)")
def test_canonical_missing_person_is_held_as_outside_the_categories():
    held = held_by_plate(load("canonical", "hotlist_canonical_1.csv"))["HJV2058"]
    assert held.clause == "344.2(c)"
    assert held.entry.entry_type is None
    assert held.entry.missing_endangered is True


@pytest.mark.policy("344.6(b)7")
def test_canonical_local_entry_without_reason_code_is_held():
    held = held_by_plate(load("canonical", "hotlist_canonical_1.csv"))["GZW5108"]
    assert held.clause == "344.6(b)7"
    assert held.entry.source == "manual"
    assert held.entry.entry_type is EntryType.BOLO


@pytest.mark.policy("344.2(c)")
def test_canonical_warrant_with_qualifying_class_is_accepted():
    entry = by_plate(load("canonical", "hotlist_canonical_policy.csv"))["BK4Z918"]
    assert entry.offense_class is OffenseClass.SECOND_DEGREE_FELONY
    assert entry in load("canonical", "hotlist_canonical_policy.csv").accepted


@pytest.mark.policy("344.2(c)")
def test_canonical_class_b_warrant_is_held():
    assert held_by_plate(load("canonical", "hotlist_canonical_policy.csv"))["RTM2207"].clause == (
        "344.2(c)"
    )


@pytest.mark.policy("344.4(a)5")
@pytest.mark.parametrize("plate", ["WRT4432", "MNO4455", "TOL3390"])
def test_canonical_class_c_round_up_and_toll_entries_are_held(plate):
    assert held_by_plate(load("canonical", "hotlist_canonical_policy.csv"))[plate].clause == (
        "344.4(a)5"
    )


def test_canonical_immigration_entry_is_held():
    held = held_by_plate(load("canonical", "hotlist_canonical_policy.csv"))["ICE7781"]
    assert held.clause == "344.4(a)6"


@pytest.mark.policy("344.6(b)7")
def test_canonical_manual_entries_carry_their_reason_code():
    result = load("canonical", "hotlist_canonical_policy.csv")
    entry = by_plate(result)["KDM2231"]
    assert entry in result.accepted
    assert entry.source == "manual"
    assert entry.manual_reason is ManualEntryReason.STOLEN_PLATE_PENDING_NCIC
    assert held_by_plate(result)["AMB1100"].clause == "344.6(b)7"


@pytest.mark.policy("344.6(b)7")
def test_canonical_manual_entry_expiry_is_capped():
    entry = by_plate(load("canonical", "hotlist_canonical_policy.csv"))["KDM2231"]
    assert entry.expires_at == entry.entered_at + MANUAL_ENTRY_MAX_LIFETIME


def test_canonical_bolo_expiry_is_capped_to_the_bolo_lifetime():
    entry = by_plate(load("canonical", "hotlist_canonical_policy.csv"))["GZW5108"]
    assert entry.expires_at == entry.entered_at + BOLO_MAX_LIFETIME
    assert entry.raw["expiration_date"] == "2025-06-30"


def test_canonical_amber_and_silver_alerts_are_missing_endangered():
    entry = by_plate(load("canonical", "hotlist_canonical_policy.csv"))["SLV0917"]
    assert entry.entry_type is EntryType.SILVER_ALERT
    assert entry.missing_endangered is True


def test_canonical_columns_may_come_in_any_order_and_case():
    data = b"Source,PLATE,List_Type,State,Offense_Class\nNCIC,abc 123,warrant,tx,Class A\n"
    [entry] = parse("canonical", data).accepted
    assert (entry.plate, entry.region, entry.offense_class) == (
        "ABC123",
        "US-TX",
        OffenseClass.CLASS_A_MISDEMEANOR,
    )


def test_canonical_bad_fields_are_row_errors_naming_the_field():
    data = (
        b"plate,state,list_type,source,entry_date,offense_class,manual_reason\n"
        b"AAA111,TX,stolen_vehicle,NCIC,2025-02-30,,\n"
        b"BBB222,TX,warrant,NCIC,,felony,\n"
        b"CCC333,TX,bolo,MANUAL,,,because\n"
        b"DDD444,TX,bolo,DMV,,,\n"
        b"EEE555,TX,,NCIC,,,\n"
        b"0000,TX,stolen_vehicle,NCIC,,,\n"
        b"FFF666,TX,stolen_vehicle\n"
        b"GGG777,TX,stolen_vehicle,NCIC,,,\n"
    )
    result = parse("canonical", data)
    assert accepted_plates(result) == ["GGG777"]
    messages = {e.row: e.message for e in result.errors}
    assert "entry_date" in messages[2]
    assert "offense class" in messages[3]
    assert "manual_reason" in messages[4]
    assert "source" in messages[5]
    assert "list_type" in messages[6]
    assert "placeholder" in messages[7]
    assert "3 fields" in messages[8]


def test_canonical_quoted_field_with_newline_keeps_row_numbers():
    data = (
        b"plate,list_type,source,notes\n"
        b'AAA111,stolen_vehicle,NCIC,"line one\nline two"\n'
        b"BBB222,stolen_vehicle,NCIC,\n"
    )
    result = parse("canonical", data)
    assert [(e.plate, e.row) for e in result.accepted] == [("AAA111", 2), ("BBB222", 4)]


def test_canonical_utf8_bom_is_accepted():
    data = codecs.BOM_UTF8 + b"plate,list_type,source\nAAA111,stolen_plate,TCIC\n"
    [entry] = parse("canonical", data).accepted
    assert entry.source == "tcic"


# --- Texas NCIC ------------------------------------------------------------------------------


def test_tx_ncic_example_is_read_with_zero_for_o_fixed():
    result = load("tx_ncic", "hotlist_tx_ncic_1.csv")
    assert accepted_plates(result) == ["PXK7342", "LMN4821", "JKQ551"]
    okla = result.accepted[2]
    assert okla.region == "US-OK"  # "0K" in the file
    assert okla.ori == "OK0550000"  # "0K0550000" in the file
    assert okla.raw["ori"] == "0K0550000"
    assert okla.row == 4
    assert okla.source == "ncic"
    assert okla.entered_at == datetime(2025, 2, 28, 6, tzinfo=UTC)
    assert result.errors == []  # the blank ,,,,,,,,,, line is skipped


@pytest.mark.policy("344.2(c)")
def test_tx_ncic_wanted_and_supervised_release_are_held():
    result = load("tx_ncic", "hotlist_tx_ncic_1.csv")
    held = held_by_plate(result)
    assert held["BK4Z918"].clause == "344.2(c)"
    assert held["BK4Z918"].entry.entry_type is EntryType.WARRANT
    assert held["DTR6610"].entry.category == "supervised_release"
    assert held["DTR6610"].clause == "344.2(c)"


def test_tx_ncic_deported_felon_is_held_as_immigration():
    data = b"N845120099,TX2279900,20250110,KLM4410,TX,2025,2019,FORD,F15,PK,RED\n"
    [held] = parse("tx_ncic", data).held
    assert held.clause == "344.4(a)6"


def test_tx_ncic_file_with_header_is_malformed():
    with pytest.raises(MalformedImport, match="header") as info:
        load("tx_ncic", "bad_tx_ncic_with_header.csv")
    assert info.value.line == 1


def test_tcic_file_given_as_tx_ncic_is_malformed():
    with pytest.raises(MalformedImport, match="8 columns, not 11"):
        load("tx_ncic", "hotlist_tx_tcic_1.csv")


# --- Texas TCIC ------------------------------------------------------------------------------


def test_tx_tcic_codes_are_read_from_the_second_character():
    result = load("tx_tcic", "hotlist_tx_tcic_1.csv")
    assert accepted_plates(result) == ["RPL4410", "KDM2231"]
    assert [e.entry_type for e in result.accepted] == [
        EntryType.STOLEN_VEHICLE,
        EntryType.STOLEN_PLATE,
    ]
    assert all(e.source == "tcic" for e in result.accepted)


@pytest.mark.policy("344.2(c)")
def test_tx_tcic_records_outside_the_order_are_held_with_their_meaning():
    held = held_by_plate(load("tx_tcic", "hotlist_tx_tcic_1.csv"))
    # TCIC T is a threat against an officer, not NCIC's gang/terrorist file.
    assert held["GHT7730"].entry.category == "threat_against_peace_officer"
    # TCIC O is NCIC H, a protection order; the state is "0K" in the file.
    assert held["CCX4408"].entry.category == "protection_order"
    assert held["CCX4408"].entry.region == "US-OK"
    assert held["17MFM5"].entry.entry_type is EntryType.WARRANT
    assert held["NZV3318"].entry.missing_endangered is True
    assert {h.clause for h in held.values()} == {"344.2(c)"}


def test_tx_tcic_bad_rows_are_errors_with_line_numbers():
    result = load("tx_tcic", "hotlist_tx_tcic_1.csv")
    messages = {e.row: e.message for e in result.errors}
    assert set(messages) == {11, 12, 13, 14}
    assert "plate is empty" in messages[11]
    assert "TCIC file letter" in messages[12]
    assert "duplicate of the record on line 2" in messages[13]
    assert "9 columns" in messages[14]


# --- NCIC fixed width ------------------------------------------------------------------------


def test_ncic_fixed_width_records_are_sliced_by_column():
    result = load("ncic_fixed", "hotlist_ncic_fixed_1.txt")
    assert accepted_plates(result) == ["PXK7342", "LMN4821", "HJV2058", "CBRT551", "OHB4412"]
    stolen = result.accepted[0]
    assert (stolen.record_id, stolen.ori, stolen.row) == ("V904418273", "TX2279900", 2)
    assert stolen.raw["make"] == "H0ND"
    assert stolen.raw["color"] == "WHI"
    amber = result.accepted[2]
    assert amber.entry_type is EntryType.AMBER_ALERT
    assert amber.missing_endangered is True
    canadian = result.accepted[3]
    assert (canadian.region, canadian.entry_type) == ("CA-ON", EntryType.STOLEN_VEHICLE)
    ohio = result.accepted[4]
    assert (ohio.region, ohio.ori) == ("US-OH", "OH0550000")


@pytest.mark.policy("344.2(c)")
def test_ncic_fixed_width_wanted_felony_vehicle_and_others_are_held():
    held = held_by_plate(load("ncic_fixed", "hotlist_ncic_fixed_1.txt"))
    assert {p: h.entry.category for p, h in held.items()} == {
        "BK4Z918": "wanted_person",
        "FLN6620": "felony_vehicle",
        "SXO4471": "sex_offender",
        "MSP3321": "missing_person",
    }
    assert "BOLO" in held["FLN6620"].reason


def test_ncic_fixed_width_bad_records_are_errors():
    messages = {e.row: e.message for e in load("ncic_fixed", "hotlist_ncic_fixed_1.txt").errors}
    assert "17 characters" in messages[11]
    assert "'\\t' at column 45" in messages[12]
    assert "20251399" in messages[13]
    assert "duplicate" in messages[14]
    assert "parse code 'Z'" in messages[15]


def test_ncic_fixed_width_first_line_is_read_when_it_is_a_record():
    line = "V904418273TX227990020250302PXK7342   TX2025PC2018HONDCRVUTWHI\n"
    assert accepted_plates(parse("ncic_fixed", line.encode())) == ["PXK7342"]


# --- Genetec ---------------------------------------------------------------------------------


def test_genetec_attributes_are_read_by_header_name():
    result = load("genetec", "hotlist_genetec_1.csv")
    entries = by_plate(result)
    stolen = entries["PXK7342"]
    assert (stolen.entry_type, stolen.record_id, stolen.source) == (
        EntryType.STOLEN_VEHICLE,
        "V904418273",
        "genetec",
    )
    assert stolen.raw["Unit"] == "ATIU"
    assert stolen.expires_at == datetime(2025, 9, 3, 5, tzinfo=UTC)
    assert entries["LMN4821"].entry_type is EntryType.STOLEN_PLATE
    assert entries["SLV0917"].entry_type is EntryType.SILVER_ALERT
    assert entries["CBRT551"].region == "CA-ON"


@pytest.mark.policy("344.2(c)")
def test_genetec_wanted_felon_with_class_is_accepted_and_class_b_held():
    result = load("genetec", "hotlist_genetec_1.csv")
    assert by_plate(result)["BK4Z918"] in result.accepted
    assert by_plate(result)["BK4Z918"].offense_class is OffenseClass.SECOND_DEGREE_FELONY
    assert held_by_plate(result)["RTM2207"].clause == "344.2(c)"
    assert held_by_plate(result)["PRK1120"].clause == "344.2(c)"


@pytest.mark.policy("344.4(a)5")
def test_genetec_toll_violators_and_class_c_warrants_are_held():
    held = held_by_plate(load("genetec", "hotlist_genetec_1.csv"))
    assert held["TOL3390"].clause == "344.4(a)5"
    assert held["WRT4432"].clause == "344.4(a)5"


def test_genetec_bolo_expiry_is_capped():
    bolo = by_plate(load("genetec", "hotlist_genetec_1.csv"))["GZW5108"]
    assert bolo.expires_at - bolo.entered_at == BOLO_MAX_LIFETIME


def test_genetec_bad_rows_are_errors():
    messages = {e.row: e.message for e in load("genetec", "hotlist_genetec_1.csv").errors}
    assert set(messages) == {13, 14}
    assert "BAD#1" in messages[13]
    assert "EffectiveDate" in messages[14]


def test_genetec_utf16_tab_delimited_file_is_read():
    result = load("genetec", "hotlist_genetec_tab_utf16.txt")
    assert accepted_plates(result) == ["PXK7342", "HJV2058"]
    assert result.accepted[1].entry_type is EntryType.AMBER_ALERT


def test_genetec_file_without_attribute_header_is_malformed():
    with pytest.raises(MalformedImport, match="PlateNumber"):
        load("genetec", "bad_genetec_no_header.csv")


def test_genetec_header_mixing_delimiters_is_malformed():
    with pytest.raises(MalformedImport, match="mixes delimiters"):
        parse("genetec", b"PlateNumber;Category,PlateState\nAAA111;Stolen,TX\n")


# --- Rekor -----------------------------------------------------------------------------------


def test_rekor_rows_take_the_list_type_of_the_import():
    result = load("rekor", "hotlist_rekor_1.csv", options=ImportOptions(list_type=STOLEN))
    entries = by_plate(result)
    assert entries["PXK7342"].record_id == "V904418273"
    assert entries["PXK7342"].region == "US-TX"
    # The type is the list's, whatever the description's words ("Stolen plate", "AMBER").
    assert {e.entry_type for e in result.accepted} == {EntryType.STOLEN_VEHICLE}
    assert entries["LMN4821"] in result.accepted
    assert entries["CBRT551"].region == "CA-ON"
    assert all(e.source == "rekor" for e in result.accepted)


@pytest.mark.policy("344.2(c)")
def test_rekor_warrant_list_keeps_stated_classes_and_holds_the_rest():
    result = load("rekor", "hotlist_rekor_1.csv", options=ImportOptions(list_type=WARRANT))
    warrant = by_plate(result)["BK4Z918"]
    assert warrant in result.accepted
    assert warrant.offense_class is OffenseClass.SECOND_DEGREE_FELONY
    assert held_by_plate(result)["XYZ9988"].clause == "344.2(c)"  # no offense class stated


@pytest.mark.policy("344.4(a)5")
def test_rekor_unpaid_fines_warrant_is_held():
    result = load("rekor", "hotlist_rekor_1.csv", options=ImportOptions(list_type=WARRANT))
    assert held_by_plate(result)["MNO4455"].clause == "344.4(a)5"


def test_rekor_overlong_plate_is_an_error():
    [error] = load("rekor", "hotlist_rekor_1.csv").errors
    assert error.row == 10 and "longer than 10" in error.message


def test_rekor_wrong_header_is_malformed():
    with pytest.raises(MalformedImport, match="Plate Number,Description,State/Province"):
        load("rekor", "hotlist_canonical_1.csv")


# --- files that cannot be read at all --------------------------------------------------------


def test_malformed_import_is_unprocessable_and_names_the_place():
    with pytest.raises(MalformedImport) as info:
        load("canonical", "bad_latin1.csv")
    error = info.value
    assert isinstance(error, Unprocessable)
    assert error.status_code == 422
    assert (error.line, error.column) == (3, 110)
    assert "0xE9 is not UTF-8" in error.detail
    assert "Expected: a CSV file" in error.detail
    assert error.to_body()["line"] == 3


@pytest.mark.parametrize(
    ("name", "fragment", "line"),
    [
        ("bad_zipped.zip", "zip archive", None),
        ("bad_header_typo.csv", "unknown column(s) 'expiry_date'", 1),
        ("bad_no_required_columns.csv", "unknown column(s) 'Plate Number'", 1),
        ("bad_unterminated_quote.csv", "not valid CSV", 4),
        ("bad_nul_bytes.csv", "NUL bytes", 2),
    ],
)
def test_unreadable_canonical_files_are_malformed(name, fragment, line):
    with pytest.raises(MalformedImport) as info:
        load("canonical", name)
    assert fragment in info.value.detail
    assert info.value.line == line


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@pytest.mark.parametrize("data", [b"", b"  \n\n", b"\xff\xfe\x00"])
def test_empty_or_garbage_files_are_malformed_in_every_format(fmt, data):
    with pytest.raises(MalformedImport):
        parse(fmt, data)


def test_canonical_header_without_required_columns_is_malformed():
    with pytest.raises(MalformedImport, match="lacks the required column"):
        parse("canonical", b"plate,state\nAAA111,TX\n")


def test_canonical_duplicate_column_is_malformed():
    with pytest.raises(MalformedImport, match="appears twice"):
        parse("canonical", b"plate,list_type,source,Plate\nA,bolo,NCIC,B\n")


def test_every_import_keeps_the_raw_record():
    for fmt, name in [
        ("canonical", "hotlist_canonical_1.csv"),
        ("tx_ncic", "hotlist_tx_ncic_1.csv"),
        ("tx_tcic", "hotlist_tx_tcic_1.csv"),
        ("ncic_fixed", "hotlist_ncic_fixed_1.txt"),
        ("genetec", "hotlist_genetec_1.csv"),
        ("rekor", "hotlist_rekor_1.csv"),
    ]:
        result = load(fmt, name)
        entries = [*result.accepted, *(h.entry for h in result.held)]
        assert entries, fmt
        assert all(e.raw for e in entries), fmt
        assert all(re.fullmatch("[A-Z0-9]{1,10}", e.plate) for e in entries), fmt
        assert all(
            e.expires_at is None or e.expires_at.utcoffset() == timedelta(0) for e in entries
        )
