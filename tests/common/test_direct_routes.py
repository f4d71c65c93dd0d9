"""Direct routes (`alpr_common.direct`): a marked route is answered without the framework's
routing and dependency injection, with the same checks and the same answers as the framework
would give; what a plan cannot do itself (a query string, a path value that does not convert)
goes the framework's way, and a route whose declaration asks for more is refused at start-up."""

from __future__ import annotations

import enum
from typing import Annotated

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse

from alpr_common import direct
from alpr_common.app import build_app
from alpr_common.auth import Principal, require
from alpr_common.errors import NotFound
from alpr_common.jwt import JWKSCache, TokenVerifier
from alpr_common.roles import Role
from alpr_common.settings import BaseServiceSettings
from alpr_common.testing.plugin import AUDIENCE, ISSUER, trust_minted_tokens


class Kind(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


async def get_label(request: Request) -> str:
    return str(request.headers.get("x-label", "none"))


Camera = Annotated[Principal, require(Role.CAMERA)]
Label = Annotated[str, Depends(get_label)]

router = APIRouter(prefix="/v1")


@router.post("/things/{kind}")
@direct.direct
async def post_thing(
    kind: Kind,
    request: Request,
    principal: Camera,
    label: Label,
    limit: Annotated[int, Query(ge=1, le=5)] = 3,
) -> JSONResponse:
    """Answer what the route was given, and which way it came."""
    if (await request.body()) == b"missing":
        raise NotFound("no such thing")
    return JSONResponse(
        {
            "kind": kind.value,
            "subject": principal.subject,
            "label": label,
            "limit": limit,
            # Set by the framework's router when it routes the request; the direct way has none.
            "routed": "router" in request.scope,
        }
    )


@pytest.fixture
async def app(tmp_path, keyring, tokens) -> FastAPI:
    settings = BaseServiceSettings(
        environment="test", run_relay=False, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    application = build_app(settings, title="t", routers=[router])
    trust_minted_tokens(application, tokens.directory)
    application.state.verifier = TokenVerifier(
        JWKSCache(static=keyring.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    return application


@pytest.fixture
async def client(app):
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_a_direct_route_is_answered_without_the_router(client, tokens):
    headers = tokens.headers(Role.CAMERA, subject="client:cam-1") | {"x-label": "north"}
    r = await client.post("/v1/things/red", headers=headers, content=b"x")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "kind": "red",
        "subject": "client:cam-1",
        "label": "north",
        "limit": 3,
        "routed": False,
    }
    assert r.headers["x-request-id"]


async def test_a_query_string_goes_the_frameworks_way_which_validates_it(client, tokens):
    headers = tokens.headers(Role.CAMERA, subject="client:cam-1")
    r = await client.post("/v1/things/blue?limit=5", headers=headers, content=b"x")
    assert r.status_code == 200, r.text
    assert r.json()["limit"] == 5
    assert r.json()["routed"] is True
    r = await client.post("/v1/things/blue?limit=9", headers=headers, content=b"x")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "limit"]


async def test_a_path_value_that_does_not_convert_gets_the_frameworks_422(client, tokens):
    r = await client.post("/v1/things/green", headers=tokens.headers(Role.CAMERA), content=b"x")
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["path", "kind"]


async def test_the_same_checks_and_error_answers_as_every_route(client, tokens):
    r = await client.post("/v1/things/red", content=b"x")
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    r = await client.post("/v1/things/red", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    r = await client.post("/v1/things/red", headers=tokens.headers(Role.INVESTIGATOR))
    assert r.status_code == 403
    assert "camera" in r.json()["detail"]
    # A deactivated principal is refused by the live status check, as on the framework's way.
    token = tokens.token(Role.CAMERA, subject="client:gone")
    tokens.directory.update("client:gone", active=False)
    r = await client.post("/v1/things/red", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code in (401, 403), r.text
    # An error raised by the endpoint is rendered by the app's handlers (a problem document).
    r = await client.post("/v1/things/red", headers=tokens.headers(Role.CAMERA), content=b"missing")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["instance"] == "/v1/things/red"


async def test_the_route_is_labelled_with_its_template_in_the_metrics(app, client, tokens):
    for _ in range(2):
        r = await client.post("/v1/things/red", headers=tokens.headers(Role.CAMERA), content=b"x")
        assert r.status_code == 200
    r = await client.get("/metrics")
    lines = [line for line in r.text.splitlines() if 'route="/v1/things/{kind}"' in line]
    assert any(line.startswith("alpr_http_requests_total") for line in lines), lines


def _install(endpoint) -> None:
    bad = APIRouter()
    bad.post("/v1/bad")(direct.direct(endpoint))
    direct.install(FastAPI(), [bad])


async def _with_body(principal: Camera, thing: dict) -> JSONResponse:
    raise AssertionError


async def _with_header(principal: Camera, x_label: Annotated[str, Header()]) -> JSONResponse:
    raise AssertionError


async def _with_required_query(principal: Camera, n: int) -> JSONResponse:
    raise AssertionError


async def _deeper(label: Label) -> str:
    return label


async def _with_nested_dependency(
    principal: Camera, x: Annotated[str, Depends(_deeper)]
) -> JSONResponse:
    raise AssertionError


async def _returning_data(principal: Camera) -> dict:
    raise AssertionError


@pytest.mark.parametrize(
    ("endpoint", "refusal"),
    [
        (_with_body, "only request, principal, path and query"),
        (_with_header, "only request, principal, path and query"),
        (_with_required_query, "query parameter n is required"),
        (_with_nested_dependency, "dependency x must be an async function of the request alone"),
        (_returning_data, "must return a Response"),
    ],
)
def test_a_declaration_the_plan_cannot_honour_is_refused_at_start_up(endpoint, refusal):
    with pytest.raises(TypeError, match=refusal):
        _install(endpoint)


def test_a_router_with_dependencies_of_its_own_is_refused():
    guarded = APIRouter(dependencies=[Depends(get_label)])
    guarded.post("/v1/guarded")(direct.direct(post_thing))
    with pytest.raises(TypeError, match="adds dependencies"):
        direct.install(FastAPI(), [guarded])
