"""The in-memory hot-list index every replica matches reads against.

A read matches an entry exactly, or through OCR confusions: characters the engines mix up
(0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G), at most two of them per plate. Lookups never scan: every
plate is keyed by its canonical form (each confusable character replaced by its class
representative), so one dict lookup yields the few entries the read could match, exact ones
included, and only those are compared character by character.

Region rule: a read whose region is known matches entries of that region and entries whose
region is unknown; a read whose region is unknown matches on the plate alone. An entry stops
matching at its expiry instant.
"""

from __future__ import annotations

import math
import string
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final, Literal, NamedTuple, cast

CONFUSABLE_CLASSES: tuple[str, ...] = ("0ODQ", "1I", "2Z", "5S", "8B", "6G")
MAX_CONFUSIONS = 2

_CANON = str.maketrans({c: group[0] for group in CONFUSABLE_CLASSES for c in group})
# Separators a plate may be written with; anything else non-alphanumeric is not a plate.
_SEPARATOR_CHARS = " -._/"
_SEPARATORS = str.maketrans("", "", _SEPARATOR_CHARS)
# Index keys are bytes: bytes.translate upper-cases, canonicalises and drops separators in one
# C call, several times faster than str.translate with a dict, and the key is smaller too.
_KEY_TABLE = bytes.maketrans(
    string.ascii_lowercase.encode() + b"".join(g[1:].encode() for g in CONFUSABLE_CLASSES),
    string.ascii_uppercase.translate(_CANON).encode()
    + b"".join(g[0].encode() * (len(g) - 1) for g in CONFUSABLE_CLASSES),
)
_KEY_DELETE = _SEPARATOR_CHARS.encode()
_NEVER = math.inf

MatchType = Literal["exact", "confusable"]


def normalise_plate(plate: str) -> str:
    """Upper-case, separators removed: 'jkq-551' -> 'JKQ551'."""
    if plate.isalnum():
        return plate.upper()  # str.translate with a dict is slow: skip it when it has no work
    return plate.upper().translate(_SEPARATORS)


def canonical(plate: str) -> str:
    """The plate with every confusable character replaced by its class representative."""
    return plate.translate(_CANON)


class Confusion(NamedTuple):
    position: int
    read_char: str
    entry_char: str


class Match(NamedTuple):
    # A NamedTuple, not a frozen dataclass: built on the hot path, it is several times cheaper.
    entry_id: Any
    match_type: MatchType
    confusions: tuple[Confusion, ...] = ()


# An entry is a plain tuple (entry_id, plate, region, expires): as small as a __slots__ object
# and much faster to build, which matters when a replica loads 1,000,000 of them at start-up.
_Entry = tuple[Any, str, str | None, float]
_ID: Final = 0
_PLATE: Final = 1
_REGION: Final = 2
_EXPIRES: Final = 3


def _plate(plate: str) -> str:
    if plate.isalnum() and plate.isascii() and (plate.isupper() or plate.isdigit()):
        return plate  # already normal: keep the caller's string rather than a copy
    p = normalise_plate(plate)
    if not p or not p.isascii() or not p.isalnum():
        raise ValueError(f"not a plate: {len(plate)} characters, expected A-Z and 0-9")
    return p


def _region(region: str | None) -> str | None:
    # Interned so a million entries share a few dozen region strings.
    return sys.intern(region.strip().upper()) if region and region.strip() else None


def _expires(expires_at: datetime | None) -> float:
    if expires_at is None:
        return _NEVER
    if expires_at.utcoffset() is None:
        raise ValueError("expires_at must be timezone-aware")
    return expires_at.timestamp()


def _key(plate: str) -> bytes:
    return plate.encode().translate(_KEY_TABLE, _KEY_DELETE)


class PlateIndex:
    """Hot-list entries keyed by canonical plate. Not thread-safe: one writer, or swap a fresh
    index built with `bulk_load` in place of the old one."""

    __slots__ = ("_by_id", "_by_key", "version")

    def __init__(self) -> None:
        # canonical plate -> one entry, or a list of entries when several share the key (a plate
        # on two lists, or confusable plates); a bare entry saves a container for most keys.
        self._by_key: dict[bytes, _Entry | list[_Entry]] = {}
        self._by_id: dict[Any, _Entry] = {}
        # The change version the index reflects; the service sets it as it applies changes.
        self.version = 0

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, entry_id: object) -> bool:
        return entry_id in self._by_id

    def add(
        self,
        entry_id: Any,
        plate: str,
        region: str | None,
        expires_at: datetime | None,
    ) -> None:
        """Add an entry, replacing any entry with the same id."""
        self.bulk_load(((entry_id, plate, region, expires_at),))

    def bulk_load(self, entries: Iterable[tuple[Any, str, str | None, datetime | None]]) -> int:
        """Add many `(entry_id, plate, region, expires_at)` rows, replacing entries with the same
        id; returns how many rows were read. A bad row (not a plate, naive expiry) raises
        ValueError and leaves the index as it was before that row."""
        by_key = self._by_key
        by_id = self._by_id
        get = by_key.get
        regions: dict[str | None, str | None] = {None: None}
        n = 0
        for entry_id, plate, region, expires_at in entries:
            n += 1
            p = _plate(plate)
            try:
                r = regions[region]
            except KeyError:
                r = regions[region] = _region(region)
            e = (entry_id, p, r, _NEVER if expires_at is None else _expires(expires_at))
            if entry_id in by_id:
                self.remove(entry_id)
            by_id[entry_id] = e
            key = p.encode().translate(_KEY_TABLE, _KEY_DELETE)
            old = get(key)
            if old is None:
                by_key[key] = e
            elif type(old) is list:
                old.append(e)
            else:
                by_key[key] = [cast(_Entry, old), e]
        return n

    def remove(self, entry_id: Any) -> bool:
        """Remove an entry; False if it was not there."""
        e = self._by_id.pop(entry_id, None)
        if e is None:
            return False
        key = _key(e[_PLATE])
        old = self._by_key[key]
        if type(old) is list:
            rest = [x for x in old if x is not e]
            self._by_key[key] = rest[0] if len(rest) == 1 else rest
        else:
            del self._by_key[key]
        return True

    def remove_expired(self, at: datetime) -> int:
        """Drop entries expired at `at` to free memory (they already stopped matching)."""
        now = _expires(at)
        gone = [e[_ID] for e in self._by_id.values() if e[_EXPIRES] <= now]
        for entry_id in gone:
            self.remove(entry_id)
        return len(gone)

    def could_match(self, plate: str) -> bool:
        """False when no entry shares the plate's key, so `lookup` would find nothing: one
        dict probe, the whole cost of a read that misses. Raises UnicodeError as `lookup` does."""
        return plate.encode().translate(_KEY_TABLE, _KEY_DELETE) in self._by_key

    def lookup(self, plate: str, region: str | None, at: datetime) -> list[Match]:
        """Entries the read matches at instant `at`: exact ones first, then by confusions."""
        bucket = self._by_key.get(plate.encode().translate(_KEY_TABLE, _KEY_DELETE))
        if bucket is None:
            return []
        if at.tzinfo is None:
            raise ValueError("at must be timezone-aware")
        # datetime.timestamp() costs as much as the rest of an exact hit; most entries (NCIC
        # records) never expire, so it is computed only when an entry has an expiry.
        now = None
        if not region:
            region = None
        # Reads from ingest arrive normalised, so the read's own strings are compared first
        # and normalised only on a mismatch: this is the hot path of every read.
        p = plate
        normal = False
        found: list[Match] = []
        e: _Entry
        # `type(...) is list` is cheaper here than isinstance, but mypy narrows only the latter.
        for e in bucket if type(bucket) is list else (bucket,):  # type: ignore[assignment]
            expires = e[_EXPIRES]
            if expires != _NEVER:
                if now is None:
                    now = at.timestamp()
                if expires <= now:
                    continue
            er = e[_REGION]
            if region is not None and er is not None and er != region:
                if er != region.upper():
                    continue
            ep = e[_PLATE]
            if ep != p and not normal:
                p = normalise_plate(plate)
                normal = True
            if ep == p:
                found.append(_new(Match, (e[_ID], "exact", ())))
                continue
            # Same key means same length and every difference is a confusion.
            diffs = [i for i in range(len(p)) if p[i] != ep[i]]
            if len(diffs) <= MAX_CONFUSIONS:
                confusions = tuple([_new(Confusion, (i, p[i], ep[i])) for i in diffs])
                found.append(_new(Match, (e[_ID], "confusable", confusions)))
        if len(found) > 1:
            found.sort(key=_confusion_count)
        return found


# tuple.__new__ skips the Python-level __new__ a NamedTuple has: a third of the cost.
_new = tuple.__new__


def _confusion_count(match: Match) -> int:
    return len(match.confusions)
