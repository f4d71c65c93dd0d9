"""Query and path parameters the access routes share."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from alpr_access.schemas import ID_PATTERN

UserId = Annotated[str, Path(pattern=ID_PATTERN)]
ClientIdPath = Annotated[str, Path(pattern=ID_PATTERN)]
KeyId = Annotated[str, Path(pattern=ID_PATTERN)]
FilterText = Annotated[str | None, Query(max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")]
