"""The gateway's one declarative table: which services it fronts. Everything it needs to know
about a service's routes — allowed roles, whether the route reads ALPR data — the service declares
itself in its OpenAPI, so adding a service is one package and one line here.

- a route's OAuth2 scopes are the roles it allows; a route without security is public;
- a route that requires the `X-ALPR-Purpose` header reads ALPR data: the purpose is checked here;
- a route only the `service` role may call is internal and is never exposed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from alpr_common.purpose import PURPOSE_HEADER
from alpr_common.roles import Role


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    # 344.7(b): people need current training for everything but personnel administration.
    training_required: bool = True


SERVICES: dict[str, ServiceEntry] = {
    entry.name: entry
    for entry in (
        ServiceEntry("access", training_required=False),
        ServiceEntry("ingest"),
        ServiceEntry("hotlist"),
        ServiceEntry("sharing"),
        ServiceEntry("audit"),
    )
}

METHODS = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class RouteRule:
    method: str
    pattern: re.Pattern[str]
    template: str
    roles: frozenset[str]
    public: bool
    purpose: bool


def service_path(rest: str) -> str:
    """Public `/v1/<service>/<rest>` is the service's `/v1/<rest>`; only the JWKS lives outside
    `/v1` (`/v1/access/.well-known/jwks.json` is access's `/.well-known/jwks.json`)."""
    return f"/{rest}" if rest.startswith(".well-known/") else f"/v1/{rest}"


def public_template(service: str, template: str) -> str:
    """The public form of a service's route template (`service_path` in reverse), the route
    label of the gateway's request metrics."""
    rest = template[len("/v1") :] if template.startswith("/v1/") else template
    return f"/v1/{service}{rest}"


def _compile(template: str) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{[^}]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            out.append(".+" if part.endswith(":path}") else "[^/]+")
        else:
            out.append(re.escape(part))
    return re.compile("^" + "".join(out) + "$")


def rules_from_openapi(schema: dict[str, Any]) -> list[RouteRule]:
    rules: list[RouteRule] = []
    for path, ops in schema.get("paths", {}).items():
        for method in METHODS:
            op = ops.get(method)
            if op is None:
                continue
            security = op.get("security") or []
            roles = frozenset(s for req in security for scopes in req.values() for s in scopes)
            if roles == {Role.SERVICE.value}:
                continue  # internal: services call each other directly, never via the gateway
            params = [*ops.get("parameters", []), *op.get("parameters", [])]
            purpose = any(
                p.get("in") == "header"
                and p.get("name", "").lower() == PURPOSE_HEADER.lower()
                and p.get("required")
                for p in params
            )
            rules.append(
                RouteRule(method.upper(), _compile(path), path, roles, not security, purpose)
            )
    # Literal segments beat parameters: `/v1/users/me` before `/v1/users/{id}`.
    rules.sort(key=lambda r: (r.template.count("{"), -len(r.template)))
    return rules


class RouteTable:
    def __init__(self) -> None:
        self.rules: dict[str, list[RouteRule]] = {}

    def load(self, service: str, schema: dict[str, Any]) -> None:
        self.rules[service] = rules_from_openapi(schema)

    def loaded(self, service: str) -> bool:
        return service in self.rules

    def match(self, service: str, method: str, path: str) -> RouteRule | bool | None:
        """The rule for a request, None if no route has that path, False if the path exists but
        not with that method."""
        path_seen = False
        for rule in self.rules.get(service, []):
            if rule.pattern.match(path):
                if rule.method == method:
                    return rule
                path_seen = True
        return False if path_seen else None
