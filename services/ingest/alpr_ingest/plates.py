"""Plate search helpers: OCR-confusable folding and `?`/`*` patterns.

Each confusable group (0/O/D/Q, 1/I, 2/Z, 5/S, 8/B, 6/G) folds to one character, so two plates
that differ only by confusions share a key: the reads table stores the key of every plate and a
confusable search is an indexed equality (or LIKE) on it, on both backends.
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


def fold_confusable(plate: str) -> str:
    """The plate with every confusable character replaced by its group's representative."""
    try:
        return plate.encode("ascii").translate(_FOLD_ASCII).decode("ascii")
    except UnicodeEncodeError:
        return plate.translate(_FOLD)


def parse_plate_query(text: str) -> tuple[str, bool]:
    """(normalised query, has wildcards). Raises ValueError when it is not a plate or pattern.

    `?` stands for one character, `*` for any run; a pattern needs at least three letters or
    digits so that a search stays a search for a vehicle, not a dump of the store.
    """
    query = _PATTERN_SEPARATORS.sub("", text.strip().upper())
    if not query or not _PATTERN.fullmatch(query):
        raise ValueError("plate must be letters and digits, with `?` (one character) and `*` (any)")
    literal = sum(ch not in "?*" for ch in query)
    wild = literal != len(query)
    if wild and literal < MIN_LITERAL_CHARS:
        raise ValueError(
            f"a partial plate needs at least {MIN_LITERAL_CHARS} letters or digits besides "
            "`?` and `*`"
        )
    if literal > MAX_PLATE_LENGTH or (not wild and len(query) > MAX_PLATE_LENGTH):
        raise ValueError(f"a plate has at most {MAX_PLATE_LENGTH} characters")
    return query, wild


def like_pattern(query: str) -> str:
    """A SQL LIKE pattern for a `?`/`*` query (plates hold no `%` or `_` to escape)."""
    collapsed = re.sub(r"\*+", "*", query)
    return collapsed.replace("?", "_").replace("*", "%")
