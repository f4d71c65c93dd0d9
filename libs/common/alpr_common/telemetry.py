"""JSON logs, a request id on every request and every inter-service call, OpenTelemetry traces
exported over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and kept in-process otherwise."""

from __future__ import annotations

import contextvars
import json
import logging
import os
import random
import re
import sys
import uuid
from datetime import UTC, datetime
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

REQUEST_ID_HEADER = "X-Request-ID"
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log would print query strings (which may hold plates) at INFO.
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every URL at INFO, and URLs may carry plates (search, back-match).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


_configured_tracing = False


def configure_tracing(service: str) -> None:
    """With an OTLP endpoint, one SDK TracerProvider per process exporting in batches. Without
    one, no provider at all: spans that nobody exports would still be recorded on every request
    (FastAPI's native telemetry records them whenever an SDK provider is installed), and
    `RequestContextMiddleware` keeps `traceparent` and the logs' trace ids flowing on its own."""
    global _configured_tracing
    if _configured_tracing or not tracing_exported():
        return
    _configured_tracing = True
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def tracing_exported() -> bool:
    return bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"))


# W3C Trace Context, version 00 (and later versions, read as 00 reads them): trace id, parent
# span id, flags. All-zero ids and version ff are invalid.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")


def _caller_trace(traceparent: str | None) -> tuple[int, int] | None:
    """The caller's trace id and flags from its `traceparent`, None if it sent none valid."""
    if not traceparent:
        return None
    m = _TRACEPARENT.fullmatch(traceparent.strip())
    if m is None or m[1] == "ff" or (m[1] == "00" and m[5]):
        return None
    trace_id, span_id = int(m[2], 16), int(m[3], 16)
    if trace_id == 0 or span_id == 0:
        return None
    return trace_id, int(m[4], 16)


def continue_trace(carrier: dict[str, str]) -> Context:
    """A context carrying the caller's trace (a new span id in it), or a new trace, without
    recording spans: enough for `traceparent` to flow and for logs to name the trace.

    Read here, not by the global propagator: only the trace id and flags are kept, and on every
    request of every service that propagator (trace context and baggage, a context built for a
    span thrown away) cost more than the rest of the request's bookkeeping."""
    caller = _caller_trace(carrier.get("traceparent"))
    trace_id, flags = caller or (random.getrandbits(128), TraceFlags.SAMPLED)
    span = NonRecordingSpan(
        SpanContext(
            trace_id=trace_id,
            span_id=random.getrandbits(64),
            is_remote=False,
            trace_flags=TraceFlags(flags),
        )
    )
    return trace.set_span_in_context(span)


def new_request_id() -> str:
    return uuid.uuid4().hex


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current request id and W3C trace context to the next service."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    rid = request_id_var.get()
    if rid:
        headers[REQUEST_ID_HEADER] = rid
    return headers
