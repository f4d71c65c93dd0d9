"""Issue 17, hot-list side: a list type is never guessed from a description's words; Genetec
files without a header line read with an import-time column mapping; California DOJ CLEW
`.tbl` extracts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alpr_hotlist.importers import ImportOptions, MalformedImport, parse
from alpr_hotlist.policy import EntryType

FIXTURES = Path(__file__).parent / "fixtures"


def load(fmt: str, name: str, **options):
    return parse(fmt, (FIXTURES / name).read_bytes(), options=ImportOptions(**options))


def entries(result):
    return {e.plate: e for e in result.accepted} | {h.entry.plate: h.entry for h in result.held}


def held(result):
    return {h.entry.plate: h for h in result.held}


# --- item 2: no list type from a description's words -------------------------------------------


@pytest.mark.policy("344.2(c)")
def test_rekor_silver_car_is_not_a_silver_alert_without_a_list_type():
    result = load("rekor", "hotlist_rekor_silver_nissan.csv")
    assert not result.accepted and not result.errors
    for plate, hold in held(result).items():
        assert hold.entry.entry_type is None, plate
        assert not hold.entry.missing_endangered, plate
        assert hold.clause == "344.2(c)"
        assert "list_type=" in str(hold.reason) and "never guessed" in str(hold.reason)


@pytest.mark.policy("344.2(c)")
def test_rekor_rows_get_the_list_type_they_are_imported_as():
    result = load("rekor", "hotlist_rekor_silver_nissan.csv", list_type=EntryType.STOLEN_VEHICLE)
    assert not result.held
    assert {e.entry_type for e in result.accepted} == {EntryType.STOLEN_VEHICLE}
    assert not any(e.missing_endangered for e in result.accepted)
    assert entries(result)["DWL2790"].record_id == "V904477311"


@pytest.mark.policy("344.2(c)")
def test_genetec_category_is_matched_whole_never_searched():
    columns = "Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate"
    result = load("genetec", "hotlist_genetec_no_header.csv", columns=columns)
    found = entries(result)
    assert found["PXK7342"].entry_type is EntryType.STOLEN_VEHICLE
    assert found["HJV2058"].entry_type is EntryType.AMBER_ALERT
    assert found["SLV0917"].entry_type is EntryType.SILVER_ALERT
    # Free text in the Category column names no type: held, saying how to give one.
    silver_car = held(result)["SLN2014"]
    assert silver_car.entry.entry_type is None and silver_car.clause == "344.2(c)"
    assert "list_type=" in str(silver_car.reason)
    # A category 344.2(c) does not list is held by name.
    assert held(result)["RSO4410"].entry.category == "sex_offender"


def test_genetec_list_type_fills_in_and_contradictions_are_held():
    columns = "Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate"
    result = load(
        "genetec",
        "hotlist_genetec_no_header.csv",
        columns=columns,
        list_type=EntryType.STOLEN_VEHICLE,
    )
    found = entries(result)
    assert found["SLN2014"].entry_type is EntryType.STOLEN_VEHICLE  # the list's type
    assert found["SLN2014"] in result.accepted
    contradiction = held(result)["HJV2058"]  # an Amber alert row in a stolen-vehicle import
    assert "list_type=stolen_vehicle" in str(contradiction.reason)


def test_canonical_row_contradicting_the_import_list_type_is_held():
    data = b"plate,list_type,source\nPXK7342,stolen_vehicle,ncic\nHJV2058,amber_alert,ncic\n"
    result = parse("canonical", data, options=ImportOptions(list_type=EntryType.STOLEN_VEHICLE))
    assert [e.plate for e in result.accepted] == ["PXK7342"]
    assert "contradicts" in str(held(result)["HJV2058"].reason)


# --- item 3: Genetec without a header line -------------------------------------------------------


def test_genetec_headerless_file_reads_with_the_security_center_attribute_order():
    columns = "Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate"
    result = load("genetec", "hotlist_genetec_no_header.csv", columns=columns)
    assert not result.errors
    stolen = entries(result)["PXK7342"]
    assert stolen.region == "US-TX" and stolen.row == 1  # the first line is a record
    assert stolen.raw["Category"] == "Stolen"
    assert stolen.expires_at == datetime(2025, 9, 3, 5, 0, tzinfo=UTC)  # end of day, Central


def test_genetec_headerless_tab_file_with_delimiter_tab():
    result = load(
        "genetec",
        "hotlist_genetec_no_header_tab.txt",
        columns="Category,PlateState,PlateNumber,EffectiveDate,ExpiryDate",
        delimiter="tab",
    )
    found = entries(result)
    assert found["LMN4821"].entry_type is EntryType.STOLEN_PLATE
    assert found["BK4Z918"].entry_type is EntryType.WARRANT  # held: no offense class


def test_genetec_headerless_file_without_mapping_is_refused_saying_how():
    with pytest.raises(MalformedImport) as err:
        load("genetec", "hotlist_genetec_no_header.csv")
    assert "columns=Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate" in err.value.detail
    assert "delimiter=tab" in err.value.detail


def test_genetec_mapping_without_plate_number_is_refused():
    with pytest.raises(MalformedImport, match="does not name the PlateNumber"):
        load("genetec", "hotlist_genetec_no_header.csv", columns="Category;PlateState")


def test_genetec_header_file_still_reads_when_a_mapping_is_given():
    result = load("genetec", "hotlist_genetec_1.csv", columns="PlateNumber;Category")
    assert entries(result)["PXK7342"].record_id == "V904418273"


# --- item 8: California DOJ CLEW --------------------------------------------------------------


@pytest.mark.policy("344.2(c)")
def test_clew_stolen_vehicle_file_imported_as_its_list():
    result = load("ca_clew", "hotlist_ca_clew_svs.tbl", list_type=EntryType.STOLEN_VEHICLE)
    assert not result.errors and not result.held
    found = entries(result)
    assert set(found) == {"8KDT517", "4RWB882", "7MNP04", "6TRJ319"}
    first = found["8KDT517"]
    assert first.entry_type is EntryType.STOLEN_VEHICLE and first.source == "clew"
    assert first.region == "US-CA" and found["6TRJ319"].region == "US-NV"
    assert first.raw == {
        "plate": "8KDT517",
        "state": "CA",
        "county": "19",
        "date_of_loss": "20250302",
    }
    assert first.entered_at == datetime(2025, 3, 2, 6, 0, tzinfo=UTC)  # midnight, Central


@pytest.mark.policy("344.2(c)")
def test_clew_file_without_list_type_is_held_not_guessed():
    result = load("ca_clew", "hotlist_ca_clew_svs.tbl")
    assert not result.accepted and len(result.held) == 4
    assert all("svs.tbl" in str(h.reason) for h in result.held)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("bad_ca_clew_count_mismatch.tbl", "counts 72 records but the file has 2"),
        ("bad_ca_clew_no_footer.tbl", "TOTAL RECORD"),
        ("hotlist_rekor_1.csv", "DATE"),
    ],
)
def test_clew_file_whose_footer_does_not_match_is_refused_whole(name, problem):
    with pytest.raises(MalformedImport, match=problem):
        load("ca_clew", name, list_type=EntryType.STOLEN_VEHICLE)


# --- through the API ---------------------------------------------------------------------------


@pytest.mark.policy("344.2(c)")
async def test_import_api_takes_list_type_and_column_mapping(hl, fixtures):
    lst = await hl.hotlist("Genetec stolen (no header)", source="genetec")
    resp = await hl.import_file(
        lst["id"],
        "genetec",
        fixtures.read("hotlist_genetec_no_header.csv"),
        columns="Category;PlateState;PlateNumber;EffectiveDate;ExpiryDate",
        list_type="stolen_vehicle",
    )
    assert resp.status_code == 201, resp.text
    report = resp.json()
    # PXK7342 and SLN2014 as stolen vehicles; the Amber/Silver rows contradict, RSO4410 is held.
    assert (report["added"], report["held"], report["error_count"]) == (2, 3, 0)
    events = await hl.audit_events("hotlist.import")
    assert events[-1]["data"]["list_type"] == "stolen_vehicle"


async def test_import_api_refuses_headerless_genetec_without_mapping(hl, fixtures):
    lst = await hl.hotlist("Genetec no mapping", source="genetec")
    resp = await hl.import_file(
        lst["id"], "genetec", fixtures.read("hotlist_genetec_no_header.csv")
    )
    assert resp.status_code == 422
    assert "columns=" in resp.json()["detail"]


async def test_import_api_clew_file(hl, fixtures):
    lst = await hl.hotlist("CA CLEW stolen vehicles", source="clew")
    resp = await hl.import_file(
        lst["id"], "ca_clew", fixtures.read("hotlist_ca_clew_svs.tbl"), list_type="stolen_vehicle"
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["added"] == 4
