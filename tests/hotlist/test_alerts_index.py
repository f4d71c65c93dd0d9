from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpr_hotlist.alerts.index import (
    CONFUSABLE_CLASSES,
    MAX_CONFUSIONS,
    Confusion,
    Match,
    PlateIndex,
    canonical,
)

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


def index_of(*rows):
    index = PlateIndex()
    index.bulk_load(rows)
    return index


def test_exact_match_on_plate():
    index = index_of((1, "PXK7342", "US-TX", None))
    assert index.lookup("PXK7342", "US-TX", NOW) == [Match(1, "exact")]


def test_read_plate_is_normalised_before_lookup():
    index = index_of((1, "JKQ551", "US-OK", None))
    assert index.lookup("jkq-551", "us-ok", NOW) == [Match(1, "exact")]


def test_entry_plate_is_normalised_on_add():
    index = PlateIndex()
    index.add(1, "dtr 6610", "US-TX", None)
    assert index.lookup("DTR6610", "US-TX", NOW) == [Match(1, "exact")]


def test_no_match_for_an_unrelated_plate():
    index = index_of((1, "PXK7342", "US-TX", None))
    assert index.lookup("PXK7343", "US-TX", NOW) == []


def test_known_region_read_does_not_match_entry_of_another_region():
    index = index_of((1, "JKQ551", "US-OK", None))
    assert index.lookup("JKQ551", "US-TX", NOW) == []


def test_known_region_read_matches_entry_of_unknown_region():
    index = index_of((1, "JKQ551", None, None))
    assert index.lookup("JKQ551", "US-TX", NOW) == [Match(1, "exact")]


def test_unknown_region_read_matches_on_plate_only():
    index = index_of((1, "JKQ551", "US-OK", None), (2, "JKQ551", "US-TX", None))
    assert {m.entry_id for m in index.lookup("JKQ551", None, NOW)} == {1, 2}


def test_confusable_match_reports_each_confusion():
    index = index_of((1, "B0Z5", None, None))
    assert index.lookup("8OZ5", None, NOW) == [
        Match(1, "confusable", (Confusion(0, "8", "B"), Confusion(1, "O", "0"))),
    ]


def test_two_confusions_match():
    index = index_of((1, "GDI1", None, None))
    assert index.lookup("6DII", None, NOW) == [
        Match(1, "confusable", (Confusion(0, "6", "G"), Confusion(3, "I", "1"))),
    ]


def test_three_confusions_do_not_match():
    index = index_of((1, "SOB123", None, None))
    assert index.lookup("5D8123", None, NOW) == []


def test_every_confusable_class_is_matched():
    for group in CONFUSABLE_CLASSES:
        for entry_char in group:
            for read_char in group:
                index = index_of((1, f"AX{entry_char}7", None, None))
                [match] = index.lookup(f"AX{read_char}7", None, NOW)
                assert match.match_type == ("exact" if read_char == entry_char else "confusable")


def test_characters_of_different_classes_are_not_confused():
    index = index_of((1, "ABC0", None, None))
    assert index.lookup("ABC1", None, NOW) == []
    assert index.lookup("A8CO", None, NOW)[0].match_type == "confusable"


def test_exact_matches_come_before_confusable_ones():
    index = index_of((1, "AB0", None, None), (2, "ABO", None, None), (3, "A80", None, None))
    matches = index.lookup("ABO", None, NOW)
    assert [m.entry_id for m in matches] == [2, 1, 3]
    assert [len(m.confusions) for m in matches] == [0, 1, 2]


def test_entry_stops_matching_at_its_expiry_instant():
    index = index_of((1, "PXK7342", None, NOW))
    assert index.lookup("PXK7342", None, NOW - timedelta(microseconds=1)) == [Match(1, "exact")]
    assert index.lookup("PXK7342", None, NOW) == []


def test_remove_stops_matching_and_keeps_other_entries_of_the_key():
    index = index_of((1, "AB0", None, None), (2, "ABO", None, None), (3, "AB0", "US-TX", None))
    assert index.remove(2) is True
    assert index.remove(2) is False
    assert {m.entry_id for m in index.lookup("ABO", None, NOW)} == {1, 3}
    index.remove(1)
    index.remove(3)
    assert len(index) == 0
    assert index.lookup("AB0", None, NOW) == []


def test_adding_an_existing_id_replaces_the_entry():
    index = index_of((1, "AAA111", None, None))
    index.add(1, "BBB222", None, None)
    assert index.lookup("AAA111", None, NOW) == []
    assert index.lookup("BBB222", None, NOW) == [Match(1, "exact")]
    assert len(index) == 1


def test_bad_plate_leaves_the_existing_entry_in_place():
    index = index_of((1, "AAA111", None, None))
    with pytest.raises(ValueError):
        index.add(1, "#!", None, None)
    assert index.lookup("AAA111", None, NOW) == [Match(1, "exact")]


def test_naive_datetimes_are_refused():
    index = index_of((1, "AAA111", None, None))
    with pytest.raises(ValueError):
        index.add(2, "BBB222", None, datetime(2030, 1, 1))
    with pytest.raises(ValueError):
        index.lookup("AAA111", None, datetime(2025, 1, 1))


def test_remove_expired_drops_only_expired_entries():
    index = index_of(
        (1, "AAA111", None, NOW), (2, "BBB222", None, LATER), (3, "CCC333", None, None)
    )
    assert index.remove_expired(NOW) == 1
    assert 1 not in index and 2 in index and 3 in index


def test_version_is_settable_by_the_service():
    index = PlateIndex()
    assert index.version == 0
    index.version = 42
    assert index.version == 42


# --- property test against a brute-force reference -----------------------------------------

_CLASS_OF = {c: group for group in CONFUSABLE_CLASSES for c in group}
# Mostly confusable characters, so that candidates with 1, 2 and 3+ confusions are common.
_ALPHABET = "0ODQ1I2Z5S8B6GAX7"
_REGIONS = [None, "US-TX", "US-OK"]
_TIMES = [None, NOW - timedelta(hours=1), NOW, NOW + timedelta(hours=1)]

plates = st.text(_ALPHABET, min_size=1, max_size=4)
regions = st.sampled_from(_REGIONS)
expiries = st.sampled_from(_TIMES)


def reference_lookup(entries, plate, region, at):
    """Every entry compared to the read, one by one: the linear scan the index must avoid."""
    found = set()
    for entry_id, (entry_plate, entry_region, expires_at) in entries.items():
        if expires_at is not None and at >= expires_at:
            continue
        if region is not None and entry_region is not None and entry_region != region:
            continue
        if len(entry_plate) != len(plate):
            continue
        confusions = []
        for i, (a, b) in enumerate(zip(plate, entry_plate)):
            if a == b:
                continue
            if a in _CLASS_OF and _CLASS_OF[a] == _CLASS_OF.get(b):
                confusions.append((i, a, b))
            else:
                break
        else:
            if not confusions:
                found.add((entry_id, "exact", ()))
            elif len(confusions) <= MAX_CONFUSIONS:
                found.add((entry_id, "confusable", tuple(confusions)))
    return found


operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.integers(0, 30), plates, regions, expiries),
        st.tuples(st.just("remove"), st.integers(0, 30)),
    ),
    max_size=60,
)
read_times = st.sampled_from([NOW - timedelta(hours=2), NOW, LATER])


def respelled(data, plate):
    """The plate with some characters swapped for others of their confusion class."""
    return "".join(data.draw(st.sampled_from(_CLASS_OF[c])) if c in _CLASS_OF else c for c in plate)


@settings(max_examples=400, deadline=None)
@given(
    initial=st.lists(st.tuples(plates, regions, expiries), max_size=40),
    ops=operations,
    data=st.data(),
)
def test_lookup_agrees_with_brute_force_reference(initial, ops, data):
    index = PlateIndex()
    entries = {}
    index.bulk_load((i, p, r, x) for i, (p, r, x) in enumerate(initial, start=100))
    entries.update({i: row for i, row in enumerate(initial, start=100)})
    for op in ops:
        if op[0] == "add":
            _, entry_id, plate, region, expires_at = op
            index.add(entry_id, plate, region, expires_at)
            entries[entry_id] = (plate, region, expires_at)
        else:
            assert index.remove(op[1]) == (entries.pop(op[1], None) is not None)
    assert len(index) == len(entries)
    # Half the reads respell a listed plate, so 1, 2 and 3+ confusions all occur.
    known = sorted(p for p, _, _ in entries.values())
    for _ in range(data.draw(st.integers(1, 20))):
        if known and data.draw(st.booleans()):
            plate = respelled(data, data.draw(st.sampled_from(known)))
        else:
            plate = data.draw(plates)
        region = data.draw(regions)
        at = data.draw(read_times)
        got = index.lookup(plate, region, at)
        as_set = {(m.entry_id, m.match_type, tuple(tuple(c) for c in m.confusions)) for m in got}
        assert len(as_set) == len(got)
        assert as_set == reference_lookup(entries, plate, region, at)
        assert [len(m.confusions) for m in got] == sorted(len(m.confusions) for m in got)


@given(plate=plates)
def test_canonical_form_is_shared_by_all_confusable_spellings(plate):
    spelled = "".join(_CLASS_OF.get(c, c)[-1] for c in plate)
    assert canonical(spelled) == canonical(plate)
