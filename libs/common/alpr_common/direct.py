"""Direct routes: a route on the hot path answered without the framework's routing and dependency
injection, which cost a single-read post as much CPU as storing the read.

A camera that posts one read per request (most vendor webhooks, issue 21) pays FastAPI's route
matching (every included router scanned, twice) and its dependency resolution on every post.
Measured in process on PostgreSQL, that was 300-400 µs of the 650-800 µs a single-read post cost
ingest (`bench/ingest/README.md`).

A direct route is declared like any other (`@router.post(...)`: its OpenAPI, which the gateway's
route table, the docs and the contract tests read, is unchanged) and marked `@direct`. At start-up
`install` reads the route's own declaration and plans the call:

- the `Request` parameter;
- the principal, `Security(get_principal, scopes=roles)`: `authenticate`, the check every route
  applies (token, live status, roles);
- dependencies that take only the request (`get_runtime`, the event batch's body), awaited with
  it; they and the principal in the order the route declares them, as the framework resolves
  them (an undecodable body is refused before the token is looked at, or after it, alike);
- path parameters (`str`, or an `Enum` by value);
- query parameters, with their defaults: a request with a query string goes the framework's way,
  which validates it.

Anything else (a body parameter, a header parameter, another dependency, a dependency of the
router or the app) is refused at start-up, so a direct route can never skip a check its
declaration asks for. A path parameter that does not convert (an unknown vendor format) goes the
framework's way too, which answers it (422).

The layer sits inside the app's exception middleware, around the router: errors raised on the
direct way are answered by the same handlers as on the framework's, and the metrics label the
request with the route's template.
"""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from fastapi import FastAPI, Request
from fastapi.routing import APIRoute, APIRouter
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from alpr_common.auth import authenticate, get_principal

F = TypeVar("F", bound=Callable[..., Awaitable[Response]])
RequestDependency = Callable[[Request], Awaitable[Any]]

_MARK = "__alpr_direct__"


def direct(endpoint: F) -> F:
    """Mark a route's endpoint to be answered by `DirectRoutes` (under the route decorator)."""
    setattr(endpoint, _MARK, True)
    return endpoint


async def _principal(request: Request, *, roles: frozenset[str]) -> Any:
    return await authenticate(request, roles)


def _converter(annotation: Any) -> Callable[[str], Any]:
    if annotation is str:
        return str
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return annotation
    raise TypeError(f"a direct route's path parameter is a str or an Enum, not {annotation!r}")


@dataclass(frozen=True)
class _Plan:
    route: APIRoute
    request_name: str | None
    # The principal (`authenticate` with the route's roles) and the request's dependencies, in
    # the order the route declares them.
    deps: tuple[tuple[str, RequestDependency], ...]
    path_params: tuple[tuple[str, Callable[[str], Any]], ...]
    defaults: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, route: APIRoute) -> _Plan:
        name = f"{sorted(route.methods or ())} {route.path}"
        d = route.dependant
        extra = (
            d.header_params,
            d.cookie_params,
            d.body_params,
            d.websocket_param_name,
            d.http_connection_param_name,
            d.response_param_name,
            d.background_tasks_param_name,
            d.security_scopes_param_name,
        )
        if any(extra):
            raise TypeError(f"direct route {name}: only request, principal, path and query")
        answer = inspect.signature(route.endpoint, eval_str=True).return_annotation
        if not (isinstance(answer, type) and issubclass(answer, Response)):
            # The framework would validate and serialize anything else; the plan sends as is.
            raise TypeError(f"direct route {name}: the endpoint must return a Response")
        deps: list[tuple[str, RequestDependency]] = []
        for dep in d.dependencies:
            if dep.call is get_principal:
                roles = frozenset(dep.own_oauth_scopes or ())
                deps.append((str(dep.name), functools.partial(_principal, roles=roles)))
                continue
            params = (dep.path_params, dep.query_params, dep.header_params, dep.cookie_params)
            only_request = (
                dep.request_param_name is not None
                and not dep.dependencies
                and not any((*params, dep.body_params))
                and inspect.iscoroutinefunction(dep.call)
            )
            if not only_request:
                raise TypeError(
                    f"direct route {name}: dependency {dep.name} must be an async function of "
                    "the request alone"
                )
            deps.append((str(dep.name), cast(RequestDependency, dep.call)))
        defaults = []
        for field in d.query_params:
            if field.field_info.is_required():
                raise TypeError(f"direct route {name}: query parameter {field.name} is required")
            defaults.append((field.name, field.field_info.get_default(call_default_factory=True)))
        return cls(
            route=route,
            request_name=d.request_param_name,
            deps=tuple(deps),
            path_params=tuple((f.name, _converter(f.field_info.annotation)) for f in d.path_params),
            defaults=tuple(defaults),
        )

    def arguments(self, path: str) -> dict[str, Any] | None:
        """The endpoint's arguments found in the path, or None where the framework must answer."""
        match = self.route.path_regex.match(path)
        if match is None:
            return None
        kwargs: dict[str, Any] = dict(self.defaults)
        for name, convert in self.path_params:
            try:
                kwargs[name] = convert(match[name])
            except ValueError:
                return None
        return kwargs

    async def __call__(self, request: Request, kwargs: dict[str, Any]) -> Response:
        if self.request_name is not None:
            kwargs[self.request_name] = request
        for name, call in self.deps:
            kwargs[name] = await call(request)
        endpoint: Callable[..., Awaitable[Response]] = self.route.endpoint
        return await endpoint(**kwargs)


class DirectRoutes:
    """Pure ASGI, around the app's router: requests of a direct route without a query string are
    answered by its plan; everything else goes on to the router."""

    def __init__(self, app: ASGIApp, plans: Iterable[_Plan]) -> None:
        self.app = app
        self.plans: dict[str, list[_Plan]] = {}
        for plan in plans:
            for method in plan.route.methods or ():
                self.plans.setdefault(method, []).append(plan)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope["query_string"]:
            for plan in self.plans.get(scope["method"], ()):
                kwargs = plan.arguments(scope["path"])
                if kwargs is not None:
                    scope["route"] = plan.route
                    scope["endpoint"] = plan.route.endpoint
                    response = await plan(Request(scope, receive, send), kwargs)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Answer the `@direct` routes of `routers` directly; their routers and the app must add no
    dependencies of their own (the plan would not know them)."""
    plans = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and getattr(route.endpoint, _MARK, False):
                if router.dependencies or app.router.dependencies:
                    raise TypeError(f"direct route {route.path}: its router adds dependencies")
                plans.append(_Plan.of(route))
    if plans:
        app.router.middleware_stack = DirectRoutes(app.router.middleware_stack, plans)
