"""The types every adapter shares and the parsing helpers (JSON, XML, multipart, forms)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import quopri
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from pydantic import ValidationError
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from alpr_common.jsonenc import MAX_JSON_DEPTH, json_depth_exceeds
from alpr_ingest.adapters.errors import MalformedPayload, TooManyParts
from alpr_ingest.normalize import (
    ConfidenceScale,
    DateOrder,
    normalize_confidence,
    normalize_plate,
)
from alpr_ingest.schemas import MAX_IMAGE_BYTES, ReadIn, validate_read


@dataclass(frozen=True, slots=True)
class Rejection:
    """One read inside a good payload that could not be accepted."""

    index: int | None
    vendor_id: str | None
    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A camera-health record (OpenALPR `heartbeat`, Hikvision keep-alive)."""

    camera: str
    at: datetime
    source: str
    camera_label: str | None = None
    streaming: bool | None = None
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class AdapterResult:
    """What one vendor message turned into.

    `ignored` lists messages that carry no read by design (test pings, non-ANPR events, parked
    or plate-less vehicles). `ack` is the body the HTTP layer must answer with; None means the
    suite's standard answer.
    """

    format: str
    received_at: datetime
    reads: list[ReadIn] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    heartbeats: list[Heartbeat] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    ack: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ParseOptions:
    """Per-source settings for payloads that leave something out.

    `local_tz`: the zone of cameras that send wall-clock time without an offset (Dahua,
    Hikvision `absTime`, some Hikvision firmware). `date_order`: Genetec's locale-dependent
    split date. `camera_key`: the camera for payloads that carry no identity (Dahua ITSAPI,
    a Plate Recognizer Snapshot call made without `camera_id`, CodeProject.AI). `captured_at`:
    the capture time of payloads that carry none (a CodeProject.AI response). `headers`: the
    request headers that identify a device (lower-case names; Survision's serial number).
    """

    local_tz: tzinfo | None = None
    date_order: DateOrder = "MDY"
    camera_key: str | None = None
    captured_at: datetime | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Payload:
    format: str
    media_type: str
    params: Mapping[str, str]
    body: bytes
    received_at: datetime
    options: ParseOptions

    def result(self) -> AdapterResult:
        return AdapterResult(format=self.format, received_at=self.received_at)


@dataclass(frozen=True, slots=True)
class Adapter:
    """One wire format: its name in the URL, the content types it arrives in, its parser."""

    name: str
    title: str
    content_types: frozenset[str]
    parse: Callable[[Payload], AdapterResult]


def malformed(fmt: str, path: str, problem: str, expected: str) -> MalformedPayload:
    return MalformedPayload(
        f"{fmt}: {path}: {problem}; {expected}", extra={"format": fmt, "path": path}
    )


# --- per-item errors ----------------------------------------------------------------------------


class ItemError(Exception):
    """A single read is unusable; it becomes a Rejection, the rest of the payload goes on."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def check(path: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a normaliser; its ValueError becomes an ItemError naming the vendor field."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ItemError(path, str(exc)) from None


# ReadIn is a pydantic dataclass, whose field errors are worded as a Python call's: a JSON
# client reads them as a model's.
_AS_A_MODEL = {
    "unexpected_keyword_argument": "Extra inputs are not permitted",
    "missing_argument": "Field required",
}


def _pydantic_reason(error: Mapping[str, Any]) -> str:
    message = _AS_A_MODEL.get(error.get("type", ""), str(error.get("msg", "invalid")))
    return message.removeprefix("Value error, ")


def build_read(values: dict[str, Any], paths: Mapping[str, str]) -> ReadIn:
    """Validate a native read; a failure names the vendor field it came from."""
    try:
        return validate_read(values)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        parts = []
        for error in errors:
            loc = [str(p) for p in error["loc"]]
            where = paths.get(loc[0], loc[0]) if loc else "read"
            if len(loc) > 1:
                where = ".".join([where, *loc[1:]])
            parts.append((where, _pydantic_reason(error)))
        first = parts[0][0]
        reason = "; ".join(f"{w}: {r}" if w != first else r for w, r in parts)
        raise ItemError(first, reason) from None
    except (ValueError, TypeError) as exc:
        raise ItemError("read", str(exc)) from None


class Collector:
    """Accumulates the reads and rejections of one message."""

    def __init__(self, payload: Payload) -> None:
        self.result = payload.result()

    @contextmanager
    def item(self, index: int | None = None, vendor_id: str | None = None) -> Iterator[None]:
        try:
            yield
        except ItemError as exc:
            self.result.rejected.append(
                Rejection(index=index, vendor_id=vendor_id, field=exc.path, reason=exc.reason)
            )

    def add(self, values: dict[str, Any], paths: Mapping[str, str]) -> None:
        self.result.reads.append(build_read(values, paths))


# --- values -------------------------------------------------------------------------------------


def text_or_none(value: Any) -> str | None:
    """A vendor string with blanks and placeholder dashes turned into None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    text = str(value).strip()
    return text if text and text not in ("-", "--", "null", "None") else None


def as_object(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one when the vendor sent null or another type."""
    return value if isinstance(value, dict) else {}


def number_or_none(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def position(lat: Any, lon: Any, path: str) -> dict[str, float] | None:
    """A position from vendor lat/lon (numbers or strings); 0,0 means "no GPS fix"."""
    la, lo = number_or_none(lat), number_or_none(lon)
    if la is None or lo is None or (la == 0 and lo == 0):
        return None
    if not (-90 <= la <= 90 and -180 <= lo <= 180):
        raise ItemError(path, f"position {la}, {lo} is outside the valid latitude/longitude range")
    return {"lat": la, "lon": lo}


_B64_WHITESPACE = re.compile(rb"\s+")


def jpeg_base64(value: str | bytes | None) -> str | None:
    """Base64 of a JPEG within the size bound, from base64 text or raw bytes; else None.

    An oversize or broken image is dropped rather than the read: the read is the evidence.
    """
    if not value:
        return None
    if isinstance(value, str):
        cleaned = _B64_WHITESPACE.sub(b"", value.encode("ascii", "ignore"))
        try:
            raw = base64.b64decode(cleaned, validate=True)
        except (binascii.Error, ValueError):
            return None
    else:
        raw = value
    if not raw.startswith(b"\xff\xd8\xff") or len(raw) > MAX_IMAGE_BYTES:
        return None
    return base64.b64encode(raw).decode("ascii")


def clean_candidates(
    pairs: Iterable[tuple[Any, Any]], *, scale: ConfidenceScale, exclude: Any = None
) -> list[dict[str, Any]]:
    """Alternative readings, normalised, without the read itself, unreadable ones dropped."""
    try:
        main = normalize_plate(exclude) if exclude is not None else None
    except ValueError:
        main = None
    seen = {main}
    out: list[dict[str, Any]] = []
    for plate, confidence in pairs:
        try:
            normal = normalize_plate(plate)
        except ValueError:
            continue
        if normal in seen:
            continue
        seen.add(normal)
        try:
            score = normalize_confidence(confidence, scale=scale)
        except ValueError:
            score = None
        out.append({"plate": normal, "confidence": score})
        if len(out) == 20:
            break
    return out


def synthetic_id(*parts: Any) -> str:
    """A stable opaque id for vendors that send none, so a re-sent message dedups."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return f"h-{digest[:32]}"


def strip_credentials(url: str | None) -> str | None:
    """An RTSP/HTTP URL without `user:password@` (heartbeats carry camera URLs)."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


# --- bodies -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def load_json(fmt: str, data: bytes | str, *, where: str = "body") -> Any:
    if json_depth_exceeds(data, MAX_JSON_DEPTH):
        raise malformed(
            fmt,
            where,
            f"is nested too deeply (more than {MAX_JSON_DEPTH} levels of arrays and objects)",
            "send the vendor's JSON message unchanged; a read is a few levels deep",
        )
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:  # unreachable after the depth check; never a 500 all the same
        raise malformed(fmt, where, "is nested too deeply", "send a flatter message") from None
    except UnicodeDecodeError:
        raise malformed(fmt, where, "is not UTF-8 text", "send UTF-8 encoded JSON") from None
    except json.JSONDecodeError as exc:
        raise malformed(
            fmt,
            where,
            f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})",
            "send the vendor's JSON message unchanged",
        ) from None
    except ValueError as exc:
        raise malformed(fmt, where, str(exc), "send finite numbers") from None


def load_json_object(fmt: str, data: bytes | str, *, where: str = "body") -> dict[str, Any]:
    value = load_json(fmt, data, where=where)
    if not isinstance(value, dict):
        raise malformed(
            fmt, where, f"is a JSON {type(value).__name__}, not an object", "send one JSON object"
        )
    return value


# An NVR forwarding a camera's alert may keep a prefix (`ns1:`) without declaring it.
_UNDECLARED_PREFIX = re.compile(rb"(</?)[A-Za-z_][\w.\-]*:(?=[A-Za-z_])")


def load_xml(fmt: str, data: bytes, *, where: str = "body") -> Element:
    """Parse XML safely (defusedxml) and drop namespaces, which vary by firmware."""
    try:
        root = SafeET.fromstring(data)
    except ParseError as exc:
        if "unbound prefix" not in str(exc):
            raise malformed(
                fmt, where, f"is not well-formed XML ({exc})", "send the XML unchanged"
            ) from None
        try:
            root = SafeET.fromstring(_UNDECLARED_PREFIX.sub(rb"\1", data))
        except ParseError as exc2:
            raise malformed(
                fmt, where, f"is not well-formed XML ({exc2})", "send the XML unchanged"
            ) from None
    except DefusedXmlException as exc:
        raise malformed(
            fmt, where, f"uses a forbidden XML feature ({type(exc).__name__})", "send plain XML"
        ) from None
    for element in root.iter():
        if isinstance(element.tag, str) and "}" in element.tag:
            element.tag = element.tag.rsplit("}", 1)[1]
        if element.attrib:
            element.attrib = {k.rsplit("}", 1)[-1]: v for k, v in element.attrib.items()}
    return root


def xml_text(element: Element | None, *paths: str) -> str | None:
    """The stripped text of the first of `paths` (ElementTree paths) found under `element`."""
    if element is None:
        return None
    for path in paths:
        found = element.find(path)
        if found is not None and found.text is not None and found.text.strip():
            return found.text.strip()
    return None


@dataclass(frozen=True, slots=True)
class Part:
    name: str | None
    filename: str | None
    content_type: str
    data: bytes


# A camera's multipart message is its event (XML or JSON) and a few images: the parts and their
# headers are bounded, so a body of many tiny parts is refused after the first few, not parsed.
MAX_PARTS = 8
MAX_PART_HEADER_BYTES = 8 * 1024
MAX_PART_BYTES = MAX_IMAGE_BYTES * 2


class _PartsRefused(Exception):
    def __init__(self, path: str, problem: str, expected: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem
        self.expected = expected


def parse_multipart(fmt: str, payload: Payload, *, max_parts: int = MAX_PARTS) -> list[Part]:
    """The parts of a multipart body (form-data or mixed), bytes preserved.

    Streaming (python-multipart, callbacks over the bytes): the parser stops at the first part
    beyond `max_parts` or `MAX_PART_BYTES`, so its cost is bounded whatever the body holds.
    """
    boundary = payload.params.get("boundary")
    if not boundary:
        raise malformed(
            fmt,
            "Content-Type",
            "multipart body without a boundary parameter",
            "send 'multipart/form-data; boundary=...'",
        )
    parts: list[Part] = []
    headers: dict[str, str] = {}
    field_name = bytearray()
    field_value = bytearray()
    header_bytes = 0
    data = bytearray()

    def on_part_begin() -> None:
        nonlocal header_bytes
        if len(parts) >= max_parts:
            raise _PartsRefused(
                "body",
                f"has more than {max_parts} parts",
                f"a {fmt} message is its event and at most {max_parts - 1} images",
            )
        headers.clear()
        data.clear()
        header_bytes = 0

    def on_header_field(buf: bytes, start: int, end: int) -> None:
        _count_header(end - start)
        field_name.extend(buf[start:end])

    def on_header_value(buf: bytes, start: int, end: int) -> None:
        _count_header(end - start)
        field_value.extend(buf[start:end])

    def _count_header(n: int) -> None:
        nonlocal header_bytes
        header_bytes += n
        if header_bytes > MAX_PART_HEADER_BYTES:
            raise _PartsRefused(
                f"part {len(parts)}",
                f"has more than {MAX_PART_HEADER_BYTES} bytes of headers",
                "send Content-Disposition and Content-Type only",
            )

    def on_header_end() -> None:
        headers[field_name.decode("latin-1").strip().lower()] = field_value.decode(
            "latin-1"
        ).strip()
        field_name.clear()
        field_value.clear()

    def on_part_data(buf: bytes, start: int, end: int) -> None:
        data.extend(buf[start:end])
        if len(data) > MAX_PART_BYTES:
            raise _PartsRefused(
                f"part {len(parts)}",
                f"is larger than {MAX_PART_BYTES} bytes",
                "send one event and its images",
            )

    def on_part_end() -> None:
        parts.append(_part(headers, bytes(data)))

    parser = MultipartParser(
        boundary.encode("latin-1", "replace"),
        callbacks={
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(payload.body)
        parser.finalize()
    except _PartsRefused as exc:
        raise TooManyParts(
            f"{fmt}: {exc.path}: {exc.problem}; {exc.expected}",
            extra={"format": fmt, "path": exc.path},
        ) from None
    except MultipartParseError as exc:
        if not parts:
            raise malformed(
                fmt, "body", f"is not a multipart body ({exc})", "send the parts with the boundary"
            ) from None
        # A cut-off or sloppy epilogue after complete parts: keep what was complete, as the
        # email parser did.
    if not parts:
        raise malformed(
            fmt, "body", f"has no parts delimited by boundary {boundary!r}", "check the boundary"
        )
    return parts


def _part(headers: Mapping[str, str], data: bytes) -> Part:
    disposition, params = parse_options_header(headers.get("content-disposition", ""))
    name = params.get(b"name", b"").decode("utf-8", "replace") or None
    filename_raw = params.get(b"filename")
    filename = filename_raw.decode("utf-8", "replace") if filename_raw is not None else None
    ctype, _ = parse_options_header(headers.get("content-type", "text/plain"))
    content_type = ctype.decode("latin-1").lower() or "text/plain"
    encoding = headers.get("content-transfer-encoding", "").lower()
    if encoding == "base64":
        try:
            data = base64.b64decode(data)
        except (binascii.Error, ValueError):
            pass
    elif encoding == "quoted-printable":
        data = quopri.decodestring(data)
    del disposition
    return Part(name=name, filename=filename, content_type=content_type, data=data)


# A webhook form carries a handful of fields (Plate Recognizer: `json` and an upload).
MAX_FORM_FIELDS = 32


def parse_form(fmt: str, body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise malformed(fmt, "body", "is not UTF-8 form data", "send UTF-8 form fields") from None
    except ValueError:  # more fields than allowed, counted before any is parsed
        raise TooManyParts(
            f"{fmt}: body: has more than {MAX_FORM_FIELDS} form fields; send the webhook's own",
            extra={"format": fmt, "path": "body"},
        ) from None
    return {key: values[0] for key, values in fields.items()}


def dig(obj: Any, *keys: str | int) -> Any:
    """obj[k1][k2]... or None when any step is missing or of the wrong type."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(obj, list) or not -len(obj) <= key < len(obj):
                return None
        elif not isinstance(obj, dict):
            return None
        obj = obj[key] if isinstance(key, int) else obj.get(key)
    return obj
