"""What the sharing routes share: the error answers every authenticated route may give."""

from __future__ import annotations

from alpr_common.errors import Forbidden, Unauthorized, Unprocessable, responses

AUTH_ERRORS = (Unauthorized, Forbidden, Unprocessable)


def errors(*extra: type) -> dict[int | str, dict[str, object]]:
    return responses(*AUTH_ERRORS, *extra)
