"""What every service's OpenAPI fuzz test (`test_openapi_fuzz.py`, schemathesis) shares: the
checks each answer must pass, the example budget, and sending a generated case through the
plugin's ASGI client."""

from __future__ import annotations

import json
from typing import Any

import httpx
import requests
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
"""No 5xx; only documented status codes, content types and bodies."""


def fuzz_settings(max_examples: int = 25) -> Any:
    """Hypothesis settings for a fuzz test: no deadline (a database is behind each call), and
    the plugin's function-scoped fixtures are fine to share between examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


async def send(client: httpx.AsyncClient, case: Any, headers: dict[str, str]) -> httpx.Response:
    """Send a schemathesis case through `client` (the plugin's app, on the test's database)."""
    kwargs = case.as_transport_kwargs(base_url="http://test", headers=headers)
    sent_headers = dict(kwargs.get("headers") or {})
    body = kwargs.get("data")
    if kwargs.get("files"):
        # Encode multipart the way schemathesis's own transport does (requests), then send bytes.
        prepared = requests.PreparedRequest()
        prepared.prepare_headers(None)
        prepared.prepare_body(body, kwargs["files"])
        body = prepared.body
        sent_headers["Content-Type"] = prepared.headers["Content-Type"]
    elif isinstance(body, dict):
        body = {k: v if isinstance(v, str | bytes) else json.dumps(v) for k, v in body.items()}
    return await client.request(
        kwargs["method"],
        kwargs["url"],
        headers=sent_headers,
        params=kwargs.get("params"),
        json=kwargs.get("json"),
        content=body if isinstance(body, bytes | str) else None,
        data=body if isinstance(body, dict) else None,
    )
