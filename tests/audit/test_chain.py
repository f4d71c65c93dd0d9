"""The chain's canonical encoding (344.4(d)), checked against the text its specification
(`alpr_audit.chain`'s docstring) gives for a known entry: an auditor re-verifies an export with
that text, not with this code."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alpr_audit.chain import canonical_json, entry_hash, envelope, format_time

pytestmark = pytest.mark.policy("344.4(d)")

ENTRY = {
    "seq": 7,
    "event_id": "ev-7",
    "source": "gateway",
    "type": "gateway.request",
    "subject": "user:42",
    # Two hours east of UTC: hashed as the UTC time.
    "occurred_at": datetime(2026, 11, 30, 8, 32, 45, 123456, tzinfo=timezone(timedelta(hours=2))),
    "recorded_at": datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),
    "request_id": "r1",
    "status": None,
    "flags": ",a,b,",
    "problem": None,
    "data": {
        "z": [1.0, 1e20, -0.0, 0.1, 1.5e-07, True, None],
        "name": "Zoë \U0001f600",
        "nested": {"b": ("x",), "a": {}},
    },
    "prev_hash": "0" * 64,
}

CANONICAL = (
    '{"data":{"name":"Zo\\u00eb \\ud83d\\ude00","nested":{"a":{},"b":["x"]},'
    '"z":[1,100000000000000000000,0,0.1,1.5e-07,true,null]},'
    '"event_id":"ev-7","flags":",a,b,","occurred_at":"2026-11-30T06:32:45.123456Z",'
    '"prev_hash":"' + "0" * 64 + '","problem":null,'
    '"recorded_at":"0999-01-02T03:04:05.000000Z","request_id":"r1","seq":7,'
    '"source":"gateway","status":null,"subject":"user:42","type":"gateway.request","v":1}'
)


def test_an_entry_is_hashed_as_the_specification_writes_it():
    assert canonical_json(envelope(ENTRY)) == CANONICAL
    assert entry_hash(ENTRY) == hashlib.sha256(CANONICAL.encode()).hexdigest()


def test_times_are_utc_with_six_fraction_digits_and_naive_ones_are_refused():
    assert format_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    east = timezone(timedelta(hours=-5))
    assert format_time(datetime(2026, 1, 1, 22, 0, tzinfo=east)) == "2026-01-02T03:00:00.000000Z"
    with pytest.raises(ValueError, match="naive"):
        format_time(datetime(2026, 1, 2))


def _specification_text(value):
    """The docstring's line for canonical_json, as written there."""
    import json

    from alpr_audit.chain import _normalize

    return json.dumps(
        _normalize(value), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    )


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(max_codepoint=0x7F))  # every ASCII character, controls and DEL
    | st.text(st.characters(codec="utf-8", max_codepoint=0x2FF))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="abcXYZ_09-é", max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(_VALUES)
def test_the_encoding_is_the_specifications_line_whatever_the_value(value):
    """canonical_json takes a faster encoder when it can; its text must be the docstring's line
    byte for byte, or every hash changes."""
    assert canonical_json({"data": value}) == _specification_text({"data": value})


@pytest.mark.parametrize(
    "value",
    [
        1e-05,
        1.5e-07,
        123456.789,
        0.1,
        -2.5,
        2**63,
        -(2**63) - 1,
        2**64,
        "\x7f",
        "é",
        {"é": 1},
        "\ud800",
    ],
)
def test_values_orjson_writes_otherwise_are_written_as_the_specification_says(value):
    assert canonical_json({"v": value}) == _specification_text({"v": value})
