"""What the sharing routes share: the error answers every authenticated route may give, and the
one pagination (limit and offset)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

AUTH_ERRORS = (Unauthorized, Forbidden, Unprocessable)

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def errors(*extra: type) -> dict[int | str, dict[str, object]]:
    return responses(*AUTH_ERRORS, *extra)
