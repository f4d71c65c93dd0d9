"""One JSON encoder for stored JSON columns, event envelopes and bulk answers.

orjson (an order of magnitude faster than the standard library on the read batches), with the
standard library as the fallback for the few values orjson refuses (integers beyond 64 bits).
Times are written as pydantic writes them in JSON mode (`Z` for UTC), so an envelope encoded here
and one dumped by pydantic read the same.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

import orjson
from pydantic import BaseModel
from starlette.responses import Response

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z


def _default(value: Any) -> Any:
    if isinstance(value, set | frozenset):
        return list(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Decimal | PurePath):
        return str(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTIONS)
    except orjson.JSONEncodeError:
        return json.dumps(
            value, default=_default, separators=(",", ":"), ensure_ascii=False
        ).encode()


class FastJSONResponse(Response):
    """A JSON answer encoded by `dumps`: for routes that answer with large plain data (read
    batches, search pages) and have already shaped it, so no response model re-validates it."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


# JSON a client sends is a few levels deep; the standard library's decoder recurses once per
# level, so a body of 100,000 `[` ends in a RecursionError (a 500) unless refused first.
MAX_JSON_DEPTH = 32
_STRING = re.compile(rb'"[^"]*"')
_KEEP = bytes(c for c in range(256) if c not in b'[]{}"')


def json_depth_exceeds(data: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `data` nests arrays and objects deeper than `limit`, found without parsing it:
    escapes and strings are removed at C speed, then the brackets left are counted."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _KEEP)
    depth = 0
    for c in _STRING.sub(b"", raw):
        if c in b"[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
