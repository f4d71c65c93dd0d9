"""The transaction log's hash chain (344.4(d)): what an entry holds, how it is hashed, and how a
chain is verified. This docstring is the specification; an auditor can re-verify an export of
`log_entry` (or the database itself) with it and without this code.

Event envelope (what services send, `alpr_common.events.Event`, CloudEvents 1.0 names)::

    {"specversion": "1.0", "id": "<unique, <= 64 chars>", "source": "gateway",
     "type": "gateway.request", "time": "2026-11-30T06:32:45.123456Z",
     "subject": "user:42", "data": {...}}

Every event is recorded, whatever its type; an event id is recorded once.

Log entry (one `log_entry` row per event):

    seq          1, 2, 3, ... in append order, without gaps
    event_id     the event's `id`
    source       the event's `source`
    type         the event's `type`
    subject      the event's `subject`; for `gateway.request` without one, `data.subject`
    occurred_at  the event's `time` in UTC (an event time without offset is taken as UTC)
    recorded_at  when audit appended the entry, UTC
    request_id   `data.request_id` when it is a string of 1..64 characters, else null
    status       for `gateway.response`, `data.status` when an integer 100..599, else null
    flags        for `gateway.request`, the entries of `data.flags` matching [a-z0-9_]{1,50},
                 sorted, unique, written ",a,b," (leading and trailing comma); else null
    problem      null, or why the event did not have its type's expected shape. The log never
                 refuses an event: it records it and says what was wrong.
    data         the event's `data`, except that what no database can store is replaced, and
                 `problem` says so: NUL characters and unpaired surrogates in strings (by U+FFFD
                 and "?"), NaN and infinities (by the strings "nan", "inf", "-inf"), nesting
                 deeper than 64 levels (by the string "<nested too deep>")
    prev_hash    the `hash` of entry seq - 1; for seq 1, 64 zeros ("0" * 64)
    hash         lowercase hex SHA-256 of the canonical encoding of the entry (below)

Canonical encoding: hash = SHA-256(UTF-8(canonical_json(E))) where E is the JSON object with
exactly the keys v (the number 1), seq, event_id, source, type, subject, occurred_at,
recorded_at, request_id, status, flags, problem, data, prev_hash, and canonical_json writes:

- objects with their keys sorted by Unicode code point; no whitespace anywhere (separators
  "," and ":");
- strings as JSON strings, ASCII only: `\\"`, `\\\\`, `\\b`, `\\f`, `\\n`, `\\r`, `\\t` for those
  characters, `\\u00xx` for other control characters, `\\uxxxx` (lowercase hex, UTF-16
  surrogate pairs beyond U+FFFF) for every non-ASCII character;
- numbers: a number whose value is a whole number (1, 1.0, 1e20, -0.0) as plain decimal
  digits with an optional minus sign (1, 1, 100000000000000000000, 0); any other number as the
  shortest decimal that reads back as the same IEEE-754 double, in Python's repr() form
  (0.1, 1.5e-07);
- times (occurred_at, recorded_at) as strings "YYYY-MM-DDTHH:MM:SS.ffffffZ", UTC, always six
  fraction digits;
- true, false and null as themselves.

In Python: `json.dumps(normalize(E), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
allow_nan=False)`, `normalize` turning whole-valued floats into ints via `int(Decimal(repr(x)))`.
(`canonical_json` writes the same text with orjson when it can, several times faster, and with
that line when the text would differ: non-ASCII, DEL, integers beyond 64 bits.)
Whole numbers are written out because PostgreSQL's jsonb gives back `1e20` as
100000000000000000000: the hash must not depend on the database that stores the entry.

Verification walks the entries in seq order and reports, at the first entry where it happens:
`seq_gap` (seq is not previous + 1: entries were deleted or renumbered), `prev_hash_mismatch`
(the entry does not point at the previous entry's hash: rows removed, inserted or swapped) or
`hash_mismatch` (the entry's content no longer gives its hash: it was edited). Because each
entry commits to its predecessor, an edit that also rewrites the hashes of all later entries is
still caught by the signed checkpoints (checkpoints.py), which fix (seq, hash) pairs outside the
database.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import orjson

GENESIS_HASH = "0" * 64
ENVELOPE_VERSION = 1
MAX_DEPTH = 64
HASHED_FIELDS = (
    "seq",
    "event_id",
    "source",
    "type",
    "subject",
    "occurred_at",
    "recorded_at",
    "request_id",
    "status",
    "flags",
    "problem",
    "data",
    "prev_hash",
)

BreakKind = Literal["seq_gap", "prev_hash_mismatch", "hash_mismatch"]


def format_time(value: datetime) -> str:
    """UTC, microseconds, `Z`; zero-padded years, whatever the platform's strftime does."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: the chain hashes UTC-aware times only")
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    # isoformat writes four-digit years and six fraction digits (timespec) on every platform.
    return v.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


class _Fraction(float):
    """A float that is not a whole number, written in Python's repr() form by both encoders:
    the standard library writes a float subclass with float's repr, and orjson, which would
    write its own shortest form (1.5e-7), hands it to `_repr_text`."""

    __slots__ = ()


def _repr_text(value: Any) -> orjson.Fragment:
    if isinstance(value, _Fraction):
        return orjson.Fragment(float.__repr__(value))
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def _normalize(value: Any) -> Any:
    # The types JSON gives (and the log stores) first, by exact type: most of an entry is these.
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return value
    if kind is dict:
        return {str(k): _normalize(v) for k, v in value.items()}
    if kind is list:
        return [_normalize(v) for v in value]
    if isinstance(value, (int, str)):  # their subclasses (enums), bool among them
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinities have no canonical JSON form")
        exact = Decimal(repr(value))
        return int(exact) if exact == exact.to_integral_value() else _Fraction(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, Mapping):
        return {str(k): _normalize(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalize(v) for v in value]
    raise TypeError(f"{type(value).__name__} has no canonical JSON form")


def canonical_json(value: Any) -> str:
    """The canonical encoding of the module docstring.

    orjson writes it when its text is the specification's: ASCII keys sort the same by code
    point and by byte, and control characters are escaped alike (`tests/audit/test_chain.py`
    compares the two on generated values). It does not escape DEL or non-ASCII characters and
    refuses integers beyond 64 bits: then the standard library's line writes it."""
    normalized = _normalize(value)
    try:
        raw = orjson.dumps(normalized, default=_repr_text, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, or too deep
        pass
    else:
        if raw.isascii() and b"\x7f" not in raw:
            return raw.decode("ascii")
    return json.dumps(
        normalized,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
        allow_nan=False,
    )


def envelope(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The object that is hashed: the entry's fields (not its hash) and the format version."""
    return {"v": ENVELOPE_VERSION, **{name: entry[name] for name in HASHED_FIELDS}}


def entry_hash(entry: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(envelope(entry)).encode("utf-8")).hexdigest()


# ----------------------------------------------------------------------------- storable values


def _storable_str(value: str, problems: set[str]) -> str:
    if value.isascii() and "\x00" not in value:
        return value  # most strings: ASCII holds no surrogate (`isascii` reads a flag)
    if "\x00" in value:
        problems.add("NUL characters replaced by U+FFFD")
        value = value.replace("\x00", "\ufffd")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.add("unpaired surrogates replaced by '?'")
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def storable(value: Any, problems: set[str], depth: int = 0) -> Any:
    """`value` with what neither SQLite nor PostgreSQL can store replaced (module docstring);
    `problems` collects what was replaced."""
    kind = type(value)
    if kind is str:
        return _storable_str(value, problems)
    if kind is int or kind is bool or value is None:
        return value
    if isinstance(value, str):
        return _storable_str(value, problems)
    if isinstance(value, float) and not math.isfinite(value):
        problems.add("non-finite numbers replaced by strings")
        return str(value)
    if isinstance(value, (dict, list)) and depth >= MAX_DEPTH:
        problems.add(f"data nested deeper than {MAX_DEPTH} levels cut")
        return "<nested too deep>"
    if isinstance(value, dict):
        return {
            _storable_str(str(k), problems): storable(v, problems, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [storable(v, problems, depth + 1) for v in value]
    return value


def storable_text(value: str, problems: set[str]) -> str:
    return _storable_str(value, problems)


# ----------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class Break:
    seq: int
    event_id: str
    kind: BreakKind
    detail: str
    expected_seq: int | None = None


@dataclass(frozen=True)
class Anchor:
    """A (seq, hash) the chain must contain: a signed checkpoint or the chain head."""

    label: str
    seq: int
    hash: str


@dataclass(frozen=True)
class AnchorProblem:
    anchor: Anchor
    kind: Literal["hash_mismatch", "entry_missing", "beyond_end"]
    detail: str


@dataclass
class ChainVerifier:
    """Feed entries in seq order; each is checked against its predecessor and the anchors.

    After a break the walk goes on from the entry as stored, so one edited row yields one
    broken entry and the walk still reaches the anchors further on."""

    start_seq: int = 1
    prev_hash: str = GENESIS_HASH
    anchors: list[Anchor] = field(default_factory=list)
    checked: int = 0
    broken: int = 0
    first_break: Break | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    anchor_problems: list[AnchorProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._expected_seq = self.start_seq
        self._pending = sorted(self.anchors, key=lambda a: a.seq)
        # An anchor at the seq just before the walk starts concerns the starting hash.
        while self._pending and self._pending[0].seq < self.start_seq:
            anchor = self._pending.pop(0)
            if anchor.seq == self.start_seq - 1 and anchor.hash != self.prev_hash:
                self._anchor_problem(anchor, "hash_mismatch", self.prev_hash)

    def _break(self, brk: Break) -> None:
        self.broken += 1
        if self.first_break is None:
            self.first_break = brk

    def _anchor_problem(
        self,
        anchor: Anchor,
        kind: Literal["hash_mismatch", "entry_missing", "beyond_end"],
        found: str = "",
    ) -> None:
        detail = {
            "hash_mismatch": f"{anchor.label} fixes seq {anchor.seq} at hash {anchor.hash}, "
            f"the log has {found}",
            "entry_missing": f"{anchor.label} fixes seq {anchor.seq}, which is missing from "
            "the log",
            "beyond_end": f"{anchor.label} fixes seq {anchor.seq}, but the log ends at seq "
            f"{self.last_seq if self.last_seq is not None else self.start_seq - 1}: entries "
            "were deleted",
        }[kind]
        self.anchor_problems.append(AnchorProblem(anchor, kind, detail))

    def feed(self, entry: Mapping[Any, Any]) -> None:
        seq = int(entry["seq"])
        event_id = str(entry["event_id"])
        stored_hash = str(entry["hash"])
        self.checked += 1
        while self._pending and self._pending[0].seq < seq:
            self._anchor_problem(self._pending.pop(0), "entry_missing")
        if seq != self._expected_seq:
            missing = (
                f"entries {self._expected_seq}..{seq - 1} are missing"
                if seq > self._expected_seq
                else f"seq {seq} repeats or goes back"
            )
            self._break(
                Break(
                    seq,
                    event_id,
                    "seq_gap",
                    f"expected seq {self._expected_seq}, found {seq}: {missing}",
                    expected_seq=self._expected_seq,
                )
            )
        elif entry["prev_hash"] != self.prev_hash:
            self._break(
                Break(
                    seq,
                    event_id,
                    "prev_hash_mismatch",
                    f"prev_hash is {entry['prev_hash']}, the previous entry's hash is "
                    f"{self.prev_hash}",
                )
            )
        else:
            computed = entry_hash(entry)
            if computed != stored_hash:
                self._break(
                    Break(
                        seq,
                        event_id,
                        "hash_mismatch",
                        f"stored hash {stored_hash}, content hashes to {computed}: "
                        "the entry was changed",
                    )
                )
        while self._pending and self._pending[0].seq == seq:
            anchor = self._pending.pop(0)
            if anchor.hash != stored_hash:
                self._anchor_problem(anchor, "hash_mismatch", stored_hash)
        self.prev_hash = stored_hash
        self.last_seq = seq
        self.last_hash = stored_hash
        self._expected_seq = seq + 1

    def finish(self) -> None:
        for anchor in self._pending:
            self._anchor_problem(anchor, "beyond_end")
        self._pending = []

    @property
    def ok(self) -> bool:
        return self.first_break is None and not self.anchor_problems
