"""Trace continuation (`alpr_common.telemetry.continue_trace`): a caller's W3C `traceparent`
carries its trace through the suite; anything else starts a new trace."""

from __future__ import annotations

import pytest
from opentelemetry import trace

from alpr_common.telemetry import continue_trace, outgoing_headers

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _span(carrier: dict[str, str]) -> trace.SpanContext:
    return trace.get_current_span(continue_trace(carrier)).get_span_context()


@pytest.mark.parametrize(
    ("traceparent", "sampled"),
    [
        (f"00-{TRACE}-00f067aa0ba902b7-01", True),
        (f"00-{TRACE}-00f067aa0ba902b7-00", False),
        (f" 00-{TRACE}-00f067aa0ba902b7-01 ", True),
        (f"01-{TRACE}-00f067aa0ba902b7-01-later-fields", True),  # a later version, read as 00
    ],
)
def test_a_callers_trace_continues_with_a_span_of_our_own(traceparent, sampled):
    span = _span({"traceparent": traceparent})
    assert f"{span.trace_id:032x}" == TRACE
    assert f"{span.span_id:016x}" != "00f067aa0ba902b7" and span.span_id != 0
    assert span.trace_flags.sampled is sampled


@pytest.mark.parametrize(
    "traceparent",
    [
        "",
        "garbage",
        f"ff-{TRACE}-00f067aa0ba902b7-01",  # version ff is invalid
        f"00-{TRACE}-00f067aa0ba902b7-01-extra",  # version 00 has exactly four fields
        f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
        f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
        f"00-{TRACE.upper()}-00f067aa0ba902b7-01",  # upper-case hex
        f"00-{TRACE}-00f067aa0ba902b7",  # no flags
    ],
)
def test_anything_else_starts_a_new_sampled_trace(traceparent):
    span = _span({"traceparent": traceparent} if traceparent else {})
    assert span.is_valid and f"{span.trace_id:032x}" != TRACE
    assert span.trace_flags.sampled


def test_the_trace_goes_on_to_the_next_service():
    from opentelemetry import context

    token = context.attach(continue_trace({"traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"}))
    try:
        version, trace_id, _span, flags = outgoing_headers()["traceparent"].split("-")
    finally:
        context.detach(token)
    assert (version, trace_id, flags) == ("00", TRACE, "01")
