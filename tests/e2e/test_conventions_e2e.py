"""docs/conventions.md, walked: every route in every service's OpenAPI, called on the service
and through the gateway with bad input (no credentials, undecodable JSON, wrong types, unknown
ids), answers an RFC 9457 problem (application/problem+json) with the right status, never a 5xx;
a 401 carries a bearer challenge, a 429 or 503 `Retry-After`."""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from alpr_common.roles import PERSON_ROLES
from alpr_common.suite import Suite
from alpr_common.testing.plugin import PURPOSE_HEADERS
from tests.helpers.e2e import PASSWORD, create_cso, create_person, login, record_training

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SERVICES = ("access", "ingest", "hotlist", "audit", "sharing")
PROBLEM = "application/problem+json"
CSO_PASSWORD = "conventions-cso-pass-4417"
AUDIT_PURPOSE = {
    "X-ALPR-Purpose": "audit_review",
    "X-ALPR-Case": "AUD-2026-Q4",
    "X-ALPR-Reason": "quarterly audit of ALPR transactions (GO 344.6)",
}


def _auth(omni: dict[str, Any], service: str) -> dict[str, str]:
    return {**omni["headers"], **(AUDIT_PURPOSE if service == "audit" else PURPOSE_HEADERS)}


@pytest.fixture(scope="module")
def omni(suite: Suite, gateway: httpx.Client) -> dict[str, Any]:
    """A trained person holding every person role: past the role checks of most routes, so
    bad input reaches validation and lookups."""
    cso_info = create_cso(suite, "conv-cso", CSO_PASSWORD)
    cso = login(gateway, "conv-cso", CSO_PASSWORD, cso_info["totp_secret"])
    person = create_person(gateway, cso, "omni", "training_coordinator")
    roles = {"training_coordinator"}
    for role in sorted(PERSON_ROLES - {"training_coordinator"}):
        r = gateway.post(f"/v1/access/users/{person['id']}/roles", headers=cso, json={"role": role})
        if r.status_code in (200, 201):
            roles.add(role)
    trainer = create_person(gateway, cso, "conv-trainer", "training_coordinator")
    record_training(
        gateway,
        login(gateway, "conv-trainer", PASSWORD, trainer["totp"]),
        person["id"],
        datetime.now(UTC) - timedelta(days=1),
    )
    headers = login(gateway, "omni", PASSWORD, person["totp"])
    return {"headers": headers, "roles": frozenset(roles)}


def _operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method.upper(), op


def _streams(op: dict[str, Any]) -> bool:
    return any(
        "text/event-stream" in (r.get("content") or {}) for r in op.get("responses", {}).values()
    )


def _scopes(op: dict[str, Any]) -> set[str] | None:
    """The roles a route allows (empty: any principal), or None for a public route."""
    security = op.get("security")
    if not security:
        return None
    return {s for req in security for scopes in req.values() for s in scopes}


def _fill(path: str, op: dict[str, Any], unknown: bool) -> str:
    params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}

    def value(m: re.Match[str]) -> str:
        schema = params.get(m[1], {}).get("schema", {})
        if schema.get("type") == "integer":
            return "987654321"
        return "zzunknown0000" if unknown else "x"

    return re.sub(r"\{([^}]+)\}", value, path)


def _public(service: str, path: str) -> str:
    return f"/v1/{service}/{path.removeprefix('/v1/')}"


def _send(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    for _ in range(5):
        r = client.request(method, url, **kwargs)
        if r.status_code != 429:
            return r
        time.sleep(float(r.headers["retry-after"]))
    return r


def _check_problem(r: httpx.Response, allowed: set[int], what: str) -> None:
    assert r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    assert r.status_code in allowed, f"{what}: {r.status_code} not in {allowed}: {r.text[:300]}"
    assert r.headers["content-type"] == PROBLEM, f"{what}: {r.headers['content-type']}"
    body = r.json()
    assert body["status"] == r.status_code, what
    assert body["type"].startswith("urn:alpr:problem:"), what
    assert body["title"] and body["detail"], what
    assert body["request_id"] == r.headers["x-request-id"], what
    if r.status_code == 401:
        assert r.headers["www-authenticate"].startswith(("Bearer ", "Basic ")), what
    if r.status_code in (429, 503):
        assert int(r.headers["retry-after"]) >= 1, what


@pytest.fixture(scope="module")
def documents(suite: Suite) -> dict[str, dict[str, Any]]:
    return {svc: httpx.get(f"{suite.url(svc)}/openapi.json").json() for svc in SERVICES}


def test_every_route_answers_bad_input_with_a_problem(
    suite: Suite, gateway: httpx.Client, omni: dict[str, Any], documents: dict[str, Any]
) -> None:
    walked = 0
    for service in SERVICES:
        auth = _auth(omni, service)
        with httpx.Client(base_url=suite.url(service), timeout=15.0) as direct:
            for path, method, op in _operations(documents[service]):
                if _streams(op):
                    continue
                walked += 1
                scopes = _scopes(op)
                internal = scopes is not None and scopes <= {"service", "camera", "agency"}
                refused = scopes is not None and bool(scopes) and not (scopes & omni["roles"])
                targets = [("direct", direct, _fill(path, op, unknown=True))]
                if not internal:
                    public = _public(service, _fill(path, op, unknown=True))
                    targets.append(("gateway", gateway, public))
                for where, client, url in targets:
                    what = f"{where} {method} {url}"
                    # No credentials: 401 with a challenge (or the public route's own answer).
                    if scopes is not None:
                        r = _send(client, method, url, content=b"{}")
                        _check_problem(r, {401}, f"{what} without a token")
                    # A body that is not JSON.
                    if "requestBody" in op:
                        r = _send(
                            client,
                            method,
                            url,
                            headers={**auth, "Content-Type": "application/json"},
                            content=b'{"not": json',
                        )
                        # FastAPI decodes a body before it checks roles: 422 may come first.
                        want = {400, 413, 415, 422} | ({403} if refused else {404})
                        _check_problem(r, want, f"{what} with undecodable JSON")
                    # Wrong types in every typed query parameter.
                    typed = {
                        p["name"]: "not-a-number"
                        for p in op.get("parameters", [])
                        if p["in"] == "query"
                        and p.get("schema", {}).get("type") in ("integer", "number", "boolean")
                    }
                    if typed:
                        r = _send(client, method, url, headers=auth, params=typed, json={})
                        want = {403} if refused else {400, 404, 415, 422}
                        _check_problem(r, want, f"{what} with wrong types {sorted(typed)}")
                    # Unknown ids, with an empty body.
                    if "{" in path:
                        r = _send(client, method, url, headers=auth, json={})
                        want = {403} if refused else {400, 404, 409, 415, 422}
                        _check_problem(r, want, f"{what} (unknown id)")
        # Unknown routes and methods, on the service and through the gateway.
        with httpx.Client(base_url=suite.url(service), timeout=15.0) as direct:
            _check_problem(direct.get("/v1/no-such-route", headers=auth), {404}, service)
            _check_problem(direct.request("TRACE", "/livez"), {405}, service)
        _check_problem(
            _send(gateway, "GET", f"/v1/{service}/no-such-route", headers=auth), {404}, service
        )
    auth = _auth(omni, "ingest")
    _check_problem(_send(gateway, "GET", "/v1/nowhere/x", headers=auth), {404}, "gateway")
    _check_problem(_send(gateway, "GET", "/elsewhere", headers=auth), {404}, "gateway")
    assert walked > 100, walked


def test_oversized_headers_and_bodies_are_problems(gateway: httpx.Client, suite: Suite) -> None:
    big = {"X-Padding": "a" * 40_000}
    _check_problem(gateway.get("/v1/access/users", headers=big), {431}, "gateway 431")
    r = httpx.get(f"{suite.url('access')}/v1/users", headers=big)
    _check_problem(r, {431}, "access 431")
    # A declared body over the gateway's limit is refused before a byte of it is read.
    host, port = gateway.base_url.host, gateway.base_url.port
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            b"POST /v1/ingest/reads HTTP/1.1\r\nHost: gateway\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        )
        answer = http.client.HTTPResponse(sock)
        answer.begin()
        body = json.loads(answer.read())
    assert answer.status == 413, body
    assert answer.getheader("content-type") == PROBLEM
    assert body["status"] == 413 and body["type"] == "urn:alpr:problem:payload-too-large"


def test_lists_page_with_limit_and_cursor_everywhere(
    suite: Suite, gateway: httpx.Client, omni: dict[str, Any], documents: dict[str, Any]
) -> None:
    """One pagination style: every list takes `limit` and `cursor` and answers `items`, `next`
    and `next_cursor`; no route takes `offset`, `page` or `page_size`."""
    lists = 0
    for service in SERVICES:
        auth = _auth(omni, service)
        doc = documents[service]
        for path, method, op in _operations(doc):
            names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            assert not names & {"offset", "page", "page_size"}, f"{service} {method} {path}"
            schema = (
                op.get("responses", {})
                .get("200", {})
                .get("content", {})
                .get("application/json", {})
                .get("schema", {})
            )
            ref = schema.get("$ref", "").rpartition("/")[2]
            props = doc["components"]["schemas"].get(ref, {}).get("properties", {})
            if method != "GET" or "items" not in props or "next" not in props:
                continue
            lists += 1
            assert {"limit", "cursor"} <= names, f"{service} {path}"
            if "{" in path or _scopes(op) is None:
                continue
            r = _send(gateway, "GET", _public(service, path), headers=auth, params={"limit": 1})
            if r.status_code != 200:
                continue  # a role or a required filter: the walk above checked its refusal
            body = r.json()
            assert set(body) >= {"items", "next", "next_cursor", "total"}, path
            if body["next"]:
                again = _send(gateway, "GET", _public(service, path) + body["next"], headers=auth)
                assert again.status_code == 200, again.text
            bad = _send(
                gateway, "GET", _public(service, path), headers=auth, params={"cursor": "%%%"}
            )
            _check_problem(bad, {400}, f"{service} {path} foreign cursor")
    assert lists >= 20, lists
