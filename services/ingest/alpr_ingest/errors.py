"""Ingest's domain errors; each carries its HTTP status through the shared hierarchy."""

from __future__ import annotations

from alpr_common.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unavailable,
    Unprocessable,
)
from alpr_ingest.adapters.errors import (
    MalformedPayload,
    TooManyParts,
    UnknownFormat,
    UnsupportedContentType,
)


class CameraNotFound(NotFound):
    """No camera with that id."""


class CameraConflict(Conflict):
    """The camera id or one of its vendor keys is already registered."""


class CameraStateConflict(Conflict):
    """The camera is not in a state that allows this (retired, or no approved placement review)."""


class InvalidCamera(Unprocessable):
    """The camera's type, location, zip code or sector do not fit together."""


class CameraNotBound(Forbidden):
    """The camera client is not bound to the camera(s) it posted for."""


class BatchRefused(Unprocessable):
    """An all-or-nothing batch had invalid reads; nothing was stored."""


class BodyTooLarge(PayloadTooLarge):
    """The request body is larger than the ingest accepts."""


class ReadNotFound(NotFound):
    """No read with that id within the retention window."""


class InvalidSearch(Unprocessable):
    """The search criteria are malformed, too broad or outside the retention window."""


class PurgePending(Unavailable):
    """No read is answered until a purge has run since start-up (344.4(d)); retry shortly."""


class ProblemNotFound(NotFound):
    """No equipment-problem report with that id."""


class InvalidProblem(Unprocessable):
    """The equipment-problem update is incomplete (a resolution needs a description)."""


class HoldNotFound(NotFound):
    """No hold with that id."""


class HoldConflict(Conflict):
    """The hold is not active (released or expired)."""


class InvalidHold(Unprocessable):
    """The hold's reads or retention date are not acceptable."""


class ExportNotFound(NotFound):
    """No case export with that id, or its bundle is gone."""


class InvalidQuery(BadRequest):
    """A query parameter is not usable (unknown time zone, bad date order)."""


__all__ = [
    "BatchRefused",
    "BodyTooLarge",
    "CameraConflict",
    "CameraNotBound",
    "CameraNotFound",
    "CameraStateConflict",
    "ExportNotFound",
    "HoldConflict",
    "HoldNotFound",
    "InvalidCamera",
    "InvalidHold",
    "InvalidProblem",
    "InvalidQuery",
    "InvalidSearch",
    "MalformedPayload",
    "ProblemNotFound",
    "ReadNotFound",
    "TooManyParts",
    "UnknownFormat",
    "UnsupportedContentType",
]
