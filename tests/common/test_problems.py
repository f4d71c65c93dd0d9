"""Every error answer is an RFC 9457 problem (application/problem+json), whoever raises it: a
domain error, FastAPI's validation, an unknown route or method, a header or body limit; 401 has a
bearer challenge, 429 and 503 have Retry-After (docs/conventions.md)."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Query
from pydantic import BaseModel

from alpr_common.app import build_app
from alpr_common.auth import AnyPrincipal
from alpr_common.errors import (
    PROBLEM_JSON,
    Forbidden,
    OAuthInvalidClient,
    OAuthInvalidGrant,
    TooManyRequests,
    Unavailable,
    problem_type,
    responses,
)
from alpr_common.settings import BaseServiceSettings


class Thing(BaseModel):
    name: str
    count: int


class ClauseRefused(Forbidden):
    """A policy said no."""


router = APIRouter()


@router.post("/v1/things", responses=responses(ClauseRefused))
async def make(thing: Thing) -> Thing:
    """Make a thing."""
    if thing.name == "refused":
        raise ClauseRefused("not that one (344.4(a))", extra={"clause": "344.4(a)"})
    return thing


@router.get("/v1/things")
async def things(n: Annotated[int, Query()] = 1) -> list[int]:
    """List things."""
    return list(range(n))


@router.get("/v1/mine")
async def mine(principal: AnyPrincipal) -> str:
    """Whose."""
    return principal.subject


@router.get("/v1/busy")
async def busy(kind: str) -> None:
    """Always busy."""
    if kind == "503":
        raise Unavailable("the database is busy; retry", retry_after=2.5)
    if kind == "429":
        raise TooManyRequests("slow down", retry_after=7)
    if kind == "grant":
        raise OAuthInvalidGrant("invalid credentials")
    raise OAuthInvalidClient("invalid client credentials")


@pytest.fixture
async def client(tmp_path):
    settings = BaseServiceSettings(
        environment="test",
        run_relay=False,
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        max_header_bytes=4096,
    )
    app = build_app(settings, title="t", routers=[router])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:alpr:problem:")
    assert body["title"] and body["detail"]
    assert body["request_id"] == r.headers["x-request-id"]
    return body


async def test_domain_error_is_a_problem_with_its_clause(client):
    body = problem(await client.post("/v1/things", json={"name": "refused", "count": 1}), 403)
    assert body["type"] == problem_type("ClauseRefused") == "urn:alpr:problem:clause-refused"
    assert body["title"] == "Clause refused"
    assert body["clause"] == "344.4(a)"
    assert body["instance"] == "/v1/things"


@pytest.mark.parametrize(
    ("kwargs", "where"),
    [
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, "body"),
        ({"json": {"name": "x", "count": "many"}}, "count"),
        ({"json": {"name": "x"}}, "count"),
        ({"json": []}, "body"),
    ],
)
async def test_invalid_input_is_a_problem_naming_each_field(client, kwargs, where):
    body = problem(await client.post("/v1/things", **kwargs), 422)
    assert body["type"] == problem_type("ValidationFailed")
    assert body["errors"] and all({"loc", "msg", "type"} <= set(e) for e in body["errors"])
    assert any(where in [str(p) for p in e["loc"]] for e in body["errors"])


async def test_bad_query_parameter_is_a_problem(client):
    body = problem(await client.get("/v1/things", params={"n": "x"}), 422)
    assert body["errors"][0]["loc"] == ["query", "n"]


async def test_unknown_route_and_method_are_problems(client):
    body = problem(await client.get("/v1/nowhere"), 404)
    assert body["type"] == problem_type("NotFound")
    r = await client.delete("/v1/things")
    body = problem(r, 405)
    assert body["type"] == problem_type("MethodNotAllowed")
    assert r.headers["allow"]


async def test_headers_too_large_is_a_problem(client):
    body = problem(await client.get("/v1/things", headers={"x-big": "a" * 5000}), 431)
    assert body["type"] == problem_type("HeadersTooLarge")


async def test_missing_token_has_a_bare_bearer_challenge(client):
    r = await client.get("/v1/mine")
    problem(r, 401)
    assert r.headers["www-authenticate"] == 'Bearer realm="alpr"'


async def test_refused_token_has_an_invalid_token_challenge(client):
    r = await client.get("/v1/mine", headers={"Authorization": "Bearer not-a-jwt"})
    problem(r, 401)
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="alpr", error="invalid_token"'), challenge


async def test_retry_later_answers_carry_retry_after(client):
    r = await client.get("/v1/busy", params={"kind": "503"})
    problem(r, 503)
    assert r.headers["retry-after"] == "3"
    r = await client.get("/v1/busy", params={"kind": "429"})
    problem(r, 429)
    assert r.headers["retry-after"] == "7"


async def test_oauth_errors_carry_rfc6749_members(client):
    body = problem(await client.get("/v1/busy", params={"kind": "grant"}), 400)
    assert body["error"] == "invalid_grant"
    assert body["error_description"] == body["detail"]
    assert body["type"] == "urn:alpr:problem:oauth:invalid_grant"
    r = await client.get("/v1/busy", params={"kind": "client"})
    assert problem(r, 401)["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic ")


async def test_openapi_documents_every_error_as_a_problem(client):
    doc = (await client.get("/openapi.json")).json()
    assert "Problem" in doc["components"]["schemas"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    post = doc["paths"]["/v1/things"]["post"]["responses"]
    for code in ("403", "422", "400"):
        assert list(post[code]["content"]) == [PROBLEM_JSON], code
        schema = post[code]["content"][PROBLEM_JSON]["schema"]
        assert schema == {"$ref": "#/components/schemas/Problem"}
    assert "clause-refused" in post["403"]["description"]
    mine = doc["paths"]["/v1/mine"]["get"]["responses"]
    assert "WWW-Authenticate" in mine["401"]["headers"]
