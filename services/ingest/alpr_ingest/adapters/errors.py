from __future__ import annotations

from alpr_common.errors import NotFound, PayloadTooLarge, Unprocessable, UnsupportedMediaType


class UnknownFormat(NotFound):
    """The URL names a wire format the ingest does not know."""


class UnsupportedContentType(UnsupportedMediaType):
    """The body's Content-Type is not one this format arrives in."""


class MalformedPayload(Unprocessable):
    """The whole payload cannot be read (not JSON/XML, wrong envelope, missing message type)."""


class TooManyParts(PayloadTooLarge):
    """A multipart body with more or larger parts than a camera sends (the event and a few
    images), refused before the rest is parsed."""
