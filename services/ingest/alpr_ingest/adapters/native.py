"""The suite's own JSON: one read, a list of reads, or a `ReadBatchIn` envelope."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Collector,
    ItemError,
    Payload,
    build_read,
    load_json,
    malformed,
)
from alpr_ingest.schemas import MAX_BATCH_READS, ReadIn

NAME = "native"
_EXPECTED = 'send {"reads": [...], "atomic": false}, one read object, or a list of reads'


def _envelope(body: Any) -> tuple[list[Any], bool, str | None]:
    """The reads, the atomic flag, and the path prefix of each read (None: a bare object)."""
    if isinstance(body, list):
        return body, False, ""
    if not isinstance(body, dict):
        raise malformed(NAME, "body", f"is a JSON {type(body).__name__}", _EXPECTED)
    if "reads" not in body:
        return [body], False, None
    unknown = sorted(set(body) - {"reads", "atomic"})
    if unknown:
        raise malformed(NAME, unknown[0], "is not a batch field", _EXPECTED)
    atomic = body.get("atomic", False)
    if not isinstance(atomic, bool):
        raise malformed(NAME, "atomic", "must be true or false", _EXPECTED)
    if not isinstance(body["reads"], list):
        raise malformed(NAME, "reads", "must be a list", _EXPECTED)
    return body["reads"], atomic, "reads"


class _Batch(BaseModel):
    # The fast path's envelope: exactly what `_envelope` accepts as a batch object.
    model_config = ConfigDict(extra="forbid")

    reads: list[ReadIn] = Field(min_length=1, max_length=MAX_BATCH_READS)
    atomic: StrictBool = False


def _all_valid(payload: Payload) -> AdapterResult | None:
    """A batch whose every read is valid, validated in one pydantic-core pass over the bytes
    (no json.loads, no per-read dict); None sends anything else down the per-read path, which
    names each problem. NaN and Infinity are not JSON: that path refuses them."""
    body = payload.body
    if b"NaN" in body or b"Infinity" in body:
        return None
    try:
        batch = _Batch.model_validate_json(body)
    except ValidationError:
        return None
    result = payload.result()
    result.reads = batch.reads
    return result


def parse(payload: Payload) -> AdapterResult:
    fast = _all_valid(payload)
    if fast is not None:
        return fast
    reads, atomic, prefix = _envelope(load_json(NAME, payload.body))
    if not 1 <= len(reads) <= MAX_BATCH_READS:
        raise malformed(
            NAME, prefix or "body", f"holds {len(reads)} reads", f"send 1 to {MAX_BATCH_READS}"
        )
    col = Collector(payload)
    for i, item in enumerate(reads):
        path = "" if prefix is None else f"{prefix}[{i}]"
        vendor_id = item.get("vendor_read_id") if isinstance(item, dict) else None
        with col.item(index=i, vendor_id=vendor_id if isinstance(vendor_id, str) else None):
            if not isinstance(item, dict):
                raise ItemError(path, "is not a read object")
            fields = {name: f"{path}.{name}" if path else name for name in item}
            col.result.reads.append(build_read({"source": NAME, **item}, fields))
    if atomic and col.result.rejected:
        # All-or-nothing: one bad read fails the batch, and the client learns every problem.
        reasons = "; ".join(f"{r.field}: {r.reason}" for r in col.result.rejected)
        raise malformed(NAME, "reads", f"atomic batch has invalid reads ({reasons})", _EXPECTED)
    return col.result


ADAPTER = Adapter(
    name=NAME,
    title="Native JSON reads",
    content_types=frozenset({"application/json"}),
    parse=parse,
)
