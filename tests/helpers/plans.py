"""Reading PostgreSQL's `EXPLAIN (FORMAT JSON)`: which scans a plan makes of a relation, for the
tests that a statement on a growing table stays one index probe per key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def _nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)


def scans(plan: Any, relation: str) -> list[tuple[str, str]]:
    """(node type, index name) of each scan of a relation whose name starts with `relation`
    (a partitioned table's partitions too); not the nodes that write it."""
    root = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return [
        (n["Node Type"], n.get("Index Name", ""))
        for n in _nodes(root)
        if n.get("Relation Name", "").startswith(relation) and n["Node Type"].endswith("Scan")
    ]
