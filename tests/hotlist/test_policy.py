import pickle
from datetime import UTC, datetime, timedelta

import pytest

from alpr_hotlist.policy import (
    BOLO_MAX_LIFETIME,
    MANUAL_ENTRY_MAX_LIFETIME,
    EntryType,
    ManualEntryReason,
    OffenseClass,
    Refusal,
    cap_expiry,
    check_entry,
    max_lifetime,
)

FELONIES = [
    OffenseClass.CAPITAL_FELONY,
    OffenseClass.FIRST_DEGREE_FELONY,
    OffenseClass.SECOND_DEGREE_FELONY,
    OffenseClass.THIRD_DEGREE_FELONY,
    OffenseClass.STATE_JAIL_FELONY,
]


@pytest.mark.policy("344.2(c)")
def test_hot_list_holds_exactly_the_six_categories_of_the_order():
    assert {t.value for t in EntryType} == {
        "stolen_vehicle",
        "stolen_plate",
        "bolo",
        "amber_alert",
        "silver_alert",
        "warrant",
    }


@pytest.mark.policy("344.2(c)")
@pytest.mark.parametrize("entry_type", [t for t in EntryType if t is not EntryType.WARRANT])
def test_non_warrant_categories_are_accepted(entry_type):
    assert check_entry(entry_type=entry_type, reason="Reported stolen 2025-03-02") is None


@pytest.mark.policy("344.2(c)")
@pytest.mark.parametrize(
    "category", ["sex_offender", "protection_order", "gang_terrorist_member", "missing_person"]
)
def test_categories_outside_the_order_are_refused_by_name(category):
    refusal = check_entry(entry_type=category)
    assert refusal.clause == "344.2(c)"
    assert category in refusal


@pytest.mark.policy("344.2(c)")
def test_missing_person_refusal_points_to_amber_and_silver_alerts():
    assert "Amber or Silver" in check_entry(entry_type="missing_person")


@pytest.mark.policy("344.2(c)")
def test_class_a_misdemeanor_or_greater_is_computed_from_rank():
    assert [c for c in OffenseClass if c.is_class_a_or_greater] == [
        *FELONIES,
        OffenseClass.CLASS_A_MISDEMEANOR,
    ]
    assert [c.rank for c in OffenseClass] == list(range(1, 9))


@pytest.mark.policy("344.2(c)")
@pytest.mark.parametrize("offense_class", [*FELONIES, OffenseClass.CLASS_A_MISDEMEANOR])
def test_warrant_of_class_a_or_greater_is_accepted(offense_class):
    assert check_entry(entry_type=EntryType.WARRANT, offense_class=offense_class) is None


@pytest.mark.policy("344.2(c)")
@pytest.mark.policy("344.4(a)5")
def test_warrant_without_offense_class_is_refused():
    refusal = check_entry(entry_type=EntryType.WARRANT, reason="Felony warrant")
    assert refusal.clause == "344.2(c)"
    assert "344.4(a)5" in refusal


@pytest.mark.policy("344.2(c)")
def test_class_b_warrant_is_refused():
    refusal = check_entry(
        entry_type=EntryType.WARRANT, offense_class=OffenseClass.CLASS_B_MISDEMEANOR
    )
    assert refusal.clause == "344.2(c)"
    assert "class_b_misdemeanor" in refusal


@pytest.mark.policy("344.4(a)5")
def test_class_c_warrant_is_refused_as_revenue_use():
    refusal = check_entry(
        entry_type=EntryType.WARRANT, offense_class=OffenseClass.CLASS_C_MISDEMEANOR
    )
    assert refusal.clause == "344.4(a)5"


@pytest.mark.policy("344.4(a)5")
def test_class_c_named_in_the_reason_is_refused_for_any_category():
    assert check_entry(entry_type="bolo", reason="Class C theft suspect").clause == "344.4(a)5"


@pytest.mark.policy("344.4(a)5")
@pytest.mark.parametrize(
    "reason",
    [
        "Owner has unpaid tolls",
        "Past due traffic fines",
        "Outstanding parking tickets x14",
        "Toll violation invoices 2024",
        "Warrant round-up March 2025",
        "warrant sweep",
        "Scofflaw list",
        "Collecting fees owed to the city",
        "Fines unpaid since 2023",
        "Failure to pay citation",
    ],
)
def test_revenue_purposes_are_refused(reason):
    refusal = check_entry(
        entry_type=EntryType.WARRANT,
        offense_class=OffenseClass.FIRST_DEGREE_FELONY,
        reason=reason,
    )
    assert refusal.clause == "344.4(a)5"


@pytest.mark.policy("344.4(a)5")
def test_revenue_purpose_in_notes_is_refused():
    refusal = check_entry(
        entry_type=EntryType.STOLEN_VEHICLE, reason="Stolen", notes="also owes court fees"
    )
    assert refusal.clause == "344.4(a)5"


@pytest.mark.parametrize(
    "reason",
    [
        "Stolen from the toll road park-and-ride",
        "Vehicle stolen during armed robbery, fine silver paint",
        "Stolen vehicle - recovered plates swapped",
    ],
)
def test_ordinary_words_are_not_mistaken_for_revenue_purposes(reason):
    assert check_entry(entry_type=EntryType.STOLEN_VEHICLE, reason=reason) is None


@pytest.mark.parametrize(
    "reason",
    ["Immigration status check", "ICE detainer", "Deportation order", "Undocumented driver"],
)
def test_immigration_status_purposes_are_refused(reason):
    assert check_entry(entry_type=EntryType.BOLO, reason=reason).clause == "344.4(a)6"


def test_deported_felon_records_are_refused_as_immigration():
    assert check_entry(entry_type="deported_felon").clause == "344.4(a)6"


def test_reproductive_health_purposes_are_refused():
    assert check_entry(entry_type="bolo", reason="Drove to abortion clinic").clause == "344.4(a)6"


@pytest.mark.policy("344.6(b)7")
def test_manual_entry_without_reason_code_is_refused():
    refusal = check_entry(entry_type=EntryType.STOLEN_VEHICLE, source="manual")
    assert refusal.clause == "344.6(b)7"


@pytest.mark.policy("344.6(b)7")
def test_manual_entry_with_matching_reason_code_is_accepted():
    assert (
        check_entry(
            entry_type=EntryType.STOLEN_VEHICLE,
            source="manual",
            manual_reason=ManualEntryReason.STOLEN_VEHICLE_PENDING_NCIC,
        )
        is None
    )


@pytest.mark.policy("344.6(b)7")
def test_manual_reason_code_must_fit_the_entry_type():
    refusal = check_entry(
        entry_type=EntryType.BOLO, source="manual", manual_reason=ManualEntryReason.AMBER_ALERT
    )
    assert refusal.clause == "344.6(b)7"


@pytest.mark.policy("344.6(b)7")
def test_every_entry_type_has_its_own_manual_reason_code():
    specific = [r for r in ManualEntryReason if r is not ManualEntryReason.OTHER_AGENCY_REQUEST]
    for entry_type in EntryType:
        assert any(
            check_entry(
                entry_type=entry_type,
                offense_class=OffenseClass.CLASS_A_MISDEMEANOR,
                source="manual",
                manual_reason=reason,
            )
            is None
            for reason in specific
        )


@pytest.mark.policy("344.6(b)7")
def test_manual_warrant_still_needs_a_qualifying_class():
    refusal = check_entry(
        entry_type=EntryType.WARRANT,
        source="manual",
        manual_reason=ManualEntryReason.WARRANT_CLASS_A_OR_GREATER,
    )
    assert refusal.clause == "344.2(c)"


def test_refusal_is_a_string_that_carries_its_clause_through_pickling():
    refusal = Refusal("344.2(c)", "not a category")
    assert refusal == "344.2(c): not a category"
    copy = pickle.loads(pickle.dumps(refusal))
    assert copy == refusal and copy.clause == "344.2(c)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Class A", OffenseClass.CLASS_A_MISDEMEANOR),
        ("class_b_misdemeanor", OffenseClass.CLASS_B_MISDEMEANOR),
        ("MC", OffenseClass.CLASS_C_MISDEMEANOR),
        ("F2", OffenseClass.SECOND_DEGREE_FELONY),
        ("1st degree felony", OffenseClass.FIRST_DEGREE_FELONY),
        ("felony of the third degree", OffenseClass.THIRD_DEGREE_FELONY),
        ("State Jail Felony", OffenseClass.STATE_JAIL_FELONY),
        ("FS", OffenseClass.STATE_JAIL_FELONY),
        ("capital", OffenseClass.CAPITAL_FELONY),
    ],
)
def test_offense_class_is_read_from_common_spellings(text, expected):
    assert OffenseClass.parse(text) is expected


def test_unknown_offense_class_spelling_is_an_error():
    with pytest.raises(ValueError, match="not an offense class"):
        OffenseClass.parse("felony")


def test_offense_class_is_found_only_when_stated_explicitly():
    assert OffenseClass.find_in("Assault, Class A misdemeanor") is OffenseClass.CLASS_A_MISDEMEANOR
    assert OffenseClass.find_in("2nd-degree felony warrant") is OffenseClass.SECOND_DEGREE_FELONY
    assert OffenseClass.find_in("felony warrant") is None
    assert OffenseClass.find_in("first class candidate") is None


def test_bolo_lifetime_is_capped_from_its_entry_date():
    entered = datetime(2025, 3, 13, tzinfo=UTC)
    capped = cap_expiry(
        EntryType.BOLO, manual=False, entered_at=entered, expires_at=entered + timedelta(days=60)
    )
    assert capped == entered + BOLO_MAX_LIFETIME
    assert cap_expiry(EntryType.BOLO, manual=False, entered_at=entered, expires_at=None) == (
        entered + BOLO_MAX_LIFETIME
    )


@pytest.mark.policy("344.6(b)7")
def test_manual_entry_lifetime_is_capped():
    entered = datetime(2025, 3, 13, tzinfo=UTC)
    assert max_lifetime(EntryType.STOLEN_VEHICLE, manual=True) == MANUAL_ENTRY_MAX_LIFETIME
    assert max_lifetime(EntryType.BOLO, manual=True) == BOLO_MAX_LIFETIME
    assert (
        cap_expiry(EntryType.STOLEN_PLATE, manual=True, entered_at=entered, expires_at=None)
        == entered + MANUAL_ENTRY_MAX_LIFETIME
    )


def test_source_cleared_entries_have_no_lifetime_cap():
    entered = datetime(2025, 3, 13, tzinfo=UTC)
    assert max_lifetime(EntryType.STOLEN_VEHICLE, manual=False) is None
    assert (
        cap_expiry(EntryType.STOLEN_VEHICLE, manual=False, entered_at=entered, expires_at=None)
        is None
    )


def test_shorter_expiry_than_the_cap_is_kept():
    entered = datetime(2025, 3, 13, tzinfo=UTC)
    soon = entered + timedelta(days=2)
    assert cap_expiry(EntryType.BOLO, manual=True, entered_at=entered, expires_at=soon) == soon
