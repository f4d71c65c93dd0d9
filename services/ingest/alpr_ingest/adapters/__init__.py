"""Vendor payloads to native reads: one pure adapter per wire format (docs/formats.md).

`parse(fmt, content_type=..., body=..., received_at=...)` picks the adapter, checks the
content type, and returns the reads, the per-read rejections, camera heartbeats and the
vendor-specific acknowledgement body. A payload that cannot be read at all raises
`MalformedPayload`; one bad read in a good payload becomes a `Rejection`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from email.message import Message

from alpr_ingest.adapters import (
    axis,
    codeproject,
    dahua,
    frigate,
    genetec,
    hikvision,
    native,
    openalpr,
    platerecognizer,
    survision,
    verkada,
)
from alpr_ingest.adapters.base import (
    Adapter,
    AdapterResult,
    Heartbeat,
    ParseOptions,
    Payload,
    Rejection,
)
from alpr_ingest.adapters.errors import MalformedPayload, UnknownFormat, UnsupportedContentType

FORMATS: dict[str, Adapter] = {
    adapter.name: adapter
    for adapter in (
        native.ADAPTER,
        openalpr.ADAPTER,
        platerecognizer.ADAPTER,
        genetec.ADAPTER,
        hikvision.ADAPTER,
        axis.ADAPTER,
        verkada.ADAPTER,
        dahua.ADAPTER,
        frigate.ADAPTER,
        survision.ADAPTER,
        codeproject.ADAPTER,
    )
}

# Request headers an adapter reads to identify the device (lower-case).
DEVICE_HEADERS = (survision.SERIAL_HEADER,)

__all__ = [
    "DEVICE_HEADERS",
    "FORMATS",
    "Adapter",
    "AdapterResult",
    "Heartbeat",
    "MalformedPayload",
    "ParseOptions",
    "Rejection",
    "UnknownFormat",
    "UnsupportedContentType",
    "parse",
    "parse_content_type",
]


def parse_content_type(content_type: str) -> tuple[str, dict[str, str]]:
    """The lower-case media type and its parameters (`boundary`, `charset`)."""
    media_type, params = _parsed_content_type(content_type)
    return media_type, dict(params)


@functools.lru_cache(maxsize=256)
def _parsed_content_type(content_type: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    # A camera sends the same header on every post; the email parser costs more than a read's
    # validation. Multipart boundaries differ per post and only take a slot each.
    message = Message()
    message["Content-Type"] = content_type or ""
    params = {
        key.lower(): value
        for key, value in (message.get_params() or [])[1:]
        if isinstance(value, str)
    }
    return message.get_content_type().lower() if content_type else "", tuple(params.items())


def parse(
    fmt: str,
    *,
    content_type: str,
    body: bytes,
    received_at: datetime,
    options: ParseOptions | None = None,
) -> AdapterResult:
    adapter = FORMATS.get(fmt)
    if adapter is None:
        raise UnknownFormat(
            f"unknown ingest format {fmt!r}; use one of: {', '.join(sorted(FORMATS))}",
            extra={"format": fmt, "formats": sorted(FORMATS)},
        )
    media_type, params = parse_content_type(content_type)
    if media_type not in adapter.content_types:
        accepted = sorted(adapter.content_types)
        raise UnsupportedContentType(
            f"{fmt} does not accept Content-Type {media_type or '(none)'!r}; send one of: "
            f"{', '.join(accepted)}",
            extra={"format": fmt, "accepted": accepted},
        )
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    if not body.strip():
        raise MalformedPayload(
            f"{fmt}: body is empty; send the {adapter.title} message",
            extra={"format": fmt, "path": "body"},
        )
    payload = Payload(
        format=fmt,
        media_type=media_type,
        params=params,
        body=body,
        received_at=received_at,
        options=options or ParseOptions(),
    )
    return adapter.parse(payload)
