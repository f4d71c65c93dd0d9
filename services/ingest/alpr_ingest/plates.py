"""Plate search helpers: OCR-confusable folding and `?`/`*` patterns.

Each confusable group (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G) folds to one character, so two plates
that differ only by confusions share a key: the reads table stores the key of every plate and a
confusable search is an indexed equality on it, on both backends.

A partial plate (`PXK7*`, `*7342`, `PX?7342`) is looked up in a trigram index of the keys (a
pattern folds the same way, and a plate matching it has a key matching the folded pattern):
pg_trgm on PostgreSQL, an FTS5 trigram table on SQLite. Both find candidates by runs of three
known characters, where the start and the end of a plate count as one (`^PX`, `42$`); a pattern
without such a run would read the whole window, and is refused as too broad.
"""

from __future__ import annotations

import re

from alpr_ingest.normalize import MAX_PLATE_LENGTH

CONFUSABLE_GROUPS = ("0ODQ", "1I", "2Z", "5S", "8B", "6G")
_FOLD = str.maketrans({ch: group[0] for group in CONFUSABLE_GROUPS for ch in group})
# The same folding on ASCII bytes: stored plates are A-Z and 0-9, and it runs for every read.
_FOLD_ASCII = bytes.maketrans(
    "".join(ch for group in CONFUSABLE_GROUPS for ch in group).encode(),
    "".join(group[0] for group in CONFUSABLE_GROUPS for _ in group).encode(),
)
_PATTERN_SEPARATORS = re.compile(r"[\s.\-]")
_PATTERN = re.compile(r"^[A-Z0-9?*]+$")
MIN_LITERAL_CHARS = 3
# With a vehicle attribute, a camera or an area beside it: "a silver pickup, plate ends in 42".
MIN_LITERAL_CHARS_NARROWED = 2
TRIGRAM = 3


def fold_confusable(plate: str) -> str:
    """The plate with every confusable character replaced by its group's representative."""
    try:
        return plate.encode("ascii").translate(_FOLD_ASCII).decode("ascii")
    except UnicodeEncodeError:
        return plate.translate(_FOLD)


def parse_plate_query(text: str, *, narrowed: bool = False) -> tuple[str, bool]:
    """(normalised query, has wildcards). Raises ValueError when it is not a plate or pattern.

    `?` stands for one character, `*` for any run; a pattern needs at least three letters or
    digits so that a search stays a search for a vehicle, not a dump of the store. `narrowed`:
    the search also names a vehicle attribute, a camera or an area ("a silver pickup, plate
    ends in 42"), and two will do, at a fixed start or end (`*42`, `42*`).
    """
    query = _PATTERN_SEPARATORS.sub("", text.strip().upper())
    if not query or not _PATTERN.fullmatch(query):
        raise ValueError("plate must be letters and digits, with `?` (one character) and `*` (any)")
    query = re.sub(r"\*+", "*", query)
    literal = sum(ch not in "?*" for ch in query)
    wild = literal != len(query)
    least = MIN_LITERAL_CHARS_NARROWED if narrowed else MIN_LITERAL_CHARS
    if wild and literal < least:
        raise ValueError(
            f"a partial plate needs at least {MIN_LITERAL_CHARS} letters or digits besides "
            f"`?` and `*`, or {MIN_LITERAL_CHARS_NARROWED} at its start or end (`*42`) with a "
            "vehicle attribute, a camera or an area to narrow it"
        )
    if wild and longest_known_run(query) < TRIGRAM:
        raise ValueError(
            "a partial plate needs three known letters or digits in a row (two at its start or "
            "end), e.g. `PXK*`, `*342`, `PX?7342`; anything looser would read every plate"
        )
    if literal > MAX_PLATE_LENGTH or (not wild and len(query) > MAX_PLATE_LENGTH):
        raise ValueError(f"a plate has at most {MAX_PLATE_LENGTH} characters")
    return query, wild


def anchored(query: str) -> str:
    """The pattern with its fixed ends marked: `^` unless it starts with `*`, `$` unless it ends
    with one. The trigram index on SQLite holds `^<key>$` for every plate."""
    start = "" if query.startswith("*") else "^"
    end = "" if query.endswith("*") else "$"
    return f"{start}{query}{end}"


def longest_known_run(query: str) -> int:
    """The longest run of known characters, a fixed start or end counting as one."""
    return max(len(run) for run in re.split(r"[?*]", anchored(query)))


def like_pattern(query: str) -> str:
    """A SQL LIKE pattern for a `?`/`*` query (plates hold no `%` or `_` to escape)."""
    collapsed = re.sub(r"\*+", "*", query)
    return collapsed.replace("?", "_").replace("*", "%")
