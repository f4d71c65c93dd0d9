"""The public API document: the services' own OpenAPI documents, merged as the gateway serves them.

The gateway already reads each service's document for its route table (`routes.py`); the same
documents, merged, are `/openapi.json` at the gateway:

- paths are the public ones (`/v1/ingest/reads`, see `routes.service_path`); internal routes
  (the `service` role only) are left out, as the gateway never forwards them;
- operationIds are the service's (its route function's name) prefixed with the service
  (`ingest_search_reads`); tags are `<service> <tag>`, grouped per service (`x-tagGroups`);
- components keep their names where every service that defines one defines it the same way,
  and are prefixed with the service (`IngestPlacementReviewRead`) where two differ;
- security: the four ways in (OAuth2 password with the TOTP field, OAuth2 client credentials, a
  bearer token from either, and for cameras on ingest the ingest key in a header or as HTTP
  basic); each operation lists the roles it allows and whether it needs the purpose headers,
  in its description and as `x-alpr-roles` / `x-alpr-purpose`;
- the answers the gateway itself may give on any route (429, 502, 503, 504, 413) are added.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from alpr_common.errors import Unavailable
from alpr_common.purpose import PURPOSE_HEADER
from alpr_common.roles import MACHINE_ROLES, PERSON_ROLES, Role
from alpr_gateway.routes import METHODS

SIGN_IN_URL = "/v1/access/token"
INGEST_KEY_HEADER = "X-ALPR-Ingest-Key"

_PERSON = frozenset(r.value for r in PERSON_ROLES)
_CLIENT = frozenset(r.value for r in MACHINE_ROLES) - {Role.SERVICE.value}

SECURITY_SCHEMES: dict[str, Any] = {
    "password": {
        "type": "oauth2",
        "description": (
            "People: `POST /v1/access/token` with `grant_type=password`, `username`, `password` "
            "and `totp`, the six-digit code of the person's authenticator app (form-encoded). "
            "The token carries every role the person holds; scopes are not requested."
        ),
        "flows": {
            "password": {
                "tokenUrl": SIGN_IN_URL,
                "scopes": {r: f"role {r}" for r in sorted(_PERSON)},
            }
        },
    },
    "clientCredentials": {
        "type": "oauth2",
        "description": (
            "Camera and agency clients: `POST /v1/access/token` with "
            "`grant_type=client_credentials`, `client_id` and `client_secret`."
        ),
        "flows": {
            "clientCredentials": {
                "tokenUrl": SIGN_IN_URL,
                "scopes": {r: f"role {r}" for r in sorted(_CLIENT)},
            }
        },
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A token from `POST /v1/access/token` (either grant), valid 15 minutes.",
    },
    "ingestKey": {
        "type": "apiKey",
        "in": "header",
        "name": INGEST_KEY_HEADER,
        "description": "Cameras on ingest routes only: the camera's ingest key.",
    },
    "ingestKeyBasic": {
        "type": "http",
        "scheme": "basic",
        "description": (
            "Cameras on ingest routes only: the ingest key as the password of HTTP basic "
            "(any user name), for cameras that can only send basic credentials."
        ),
    },
}

GATEWAY_RESPONSES: dict[str, str] = {
    "429": "Too many requests from this caller; retry after `Retry-After` seconds.",
    "502": "The service behind the gateway could not be reached.",
    "503": "The gateway or the service cannot take the request now; retry after `Retry-After`.",
    "504": "The service behind the gateway did not answer in time.",
}

DESCRIPTION = """\
The public API of the ALPR governance suite (GO 344), as the gateway serves it: every route of
every service under `/v1/<service>/...`.

**Signing in.** People: `POST /v1/access/token` (form-encoded) with `grant_type=password`,
`username`, `password` and `totp` (the authenticator code). Camera and agency clients:
`grant_type=client_credentials` with `client_id` and `client_secret`. Send the token as
`Authorization: Bearer <token>`; it lasts at most 15 minutes. Cameras may instead send their
ingest key to ingest routes (`X-ALPR-Ingest-Key: <key>`, or HTTP basic with the key as password).

**Roles.** Each operation lists the roles that may call it (its OAuth2 scopes, and
`x-alpr-roles`).

**Purpose of use (344.4(a)).** Operations that read ALPR data (`x-alpr-purpose: true`) need
`X-ALPR-Purpose` (a code), `X-ALPR-Case` (case or incident number) and `X-ALPR-Reason` (why);
`X-ALPR-Criminal-Nexus` too when the query concerns First Amendment activity.

Every request through the gateway is recorded in the audit log (344.4(d)).
"""


def public_path(service: str, path: str) -> str | None:
    """The inverse of `routes.service_path`: a service's `/v1/<rest>` is `/v1/<service>/<rest>`."""
    if path.startswith("/v1/"):
        return f"/v1/{service}/{path[len('/v1/') :]}"
    if path.startswith("/.well-known/"):
        return f"/v1/{service}{path}"
    return None


def _walk_refs(node: Any, rename: Callable[[str], str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = rename(value)
            else:
                out[key] = _walk_refs(value, rename)
        return out
    if isinstance(node, list):
        return [_walk_refs(v, rename) for v in node]
    return node


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for v in node:
            yield from _refs(v)


def _component_key(ref: str) -> tuple[str, str] | None:
    """`#/components/schemas/X` -> ("schemas", "X")."""
    parts = ref.split("/")
    if len(parts) == 4 and parts[:2] == ["#", "components"]:
        return parts[2], parts[3]
    return None


def _reachable(paths: dict[str, Any], components: dict[str, Any]) -> set[tuple[str, str]]:
    """The components the kept paths use, directly or through other components."""
    seen: set[tuple[str, str]] = set()
    todo = [k for k in map(_component_key, _refs(paths)) if k is not None]
    while todo:
        key = todo.pop()
        if key in seen or key[1] not in components.get(key[0], {}):
            continue
        seen.add(key)
        todo.extend(k for k in map(_component_key, _refs(components[key[0]][key[1]])) if k)
    return seen


def _roles(op: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for requirement in op.get("security") or []:
        for scopes in requirement.values():
            found.extend(s for s in scopes if s not in found)
    return found


def _needs_purpose(path_item: dict[str, Any], op: dict[str, Any]) -> bool:
    params = [*path_item.get("parameters", []), *op.get("parameters", [])]
    return any(
        p.get("in") == "header"
        and p.get("name", "").lower() == PURPOSE_HEADER.lower()
        and p.get("required")
        for p in params
    )


def _security(service: str, roles: list[str]) -> list[dict[str, list[str]]]:
    people = [r for r in roles if r in _PERSON]
    clients = [r for r in roles if r in _CLIENT]
    out: list[dict[str, list[str]]] = []
    if people:
        out.append({"password": people})
    if clients:
        out.append({"clientCredentials": clients})
    out.append({"bearerToken": []})
    if service == "ingest" and Role.CAMERA.value in roles:
        out.extend([{"ingestKey": []}, {"ingestKeyBasic": []}])
    return out


def _describe_access(roles: list[str], purpose: bool) -> str:
    if not roles:
        return "**Access:** public, no credentials."
    lines = [f"**Roles:** {', '.join(f'`{r}`' for r in roles)}."]
    if purpose:
        lines.append(
            "**Purpose headers (344.4(a)):** `X-ALPR-Purpose`, `X-ALPR-Case` and "
            "`X-ALPR-Reason` required; `X-ALPR-Criminal-Nexus` for First Amendment matters."
        )
    return "\n\n".join(lines)


def _error_ref(op: dict[str, Any]) -> dict[str, Any] | None:
    """The content of the service's own error answers (`Problem`, application/problem+json)."""
    for code, resp in op.get("responses", {}).items():
        if code[:1] in "45" and resp.get("content"):
            return copy.deepcopy(resp["content"])
    return None


def _operation(
    service: str,
    path_item: dict[str, Any],
    op: dict[str, Any],
    tag_names: dict[str, str],
) -> dict[str, Any]:
    out = copy.deepcopy(op)
    roles = _roles(op)
    purpose = _needs_purpose(path_item, op)
    out["operationId"] = f"{service}_{op['operationId']}"
    out["tags"] = [tag_names[t] for t in op.get("tags") or [""]]
    access = _describe_access(roles, purpose)
    out["description"] = f"{op['description']}\n\n{access}" if op.get("description") else access
    out["x-alpr-roles"] = roles
    out["x-alpr-purpose"] = purpose
    if roles:
        out["security"] = _security(service, roles)
    else:
        out["security"] = []
    responses = out.setdefault("responses", {})
    content = _error_ref(op)
    extra = dict(GATEWAY_RESPONSES)
    if "requestBody" in op:
        extra.setdefault("413", "The body is larger than the gateway accepts.")
    if roles:
        extra.setdefault("401", "Missing, invalid, expired or revoked credentials.")
        extra.setdefault("403", "None of the allowed roles, or not allowed now (training).")
    for code, description in extra.items():
        if code not in responses:
            responses[code] = {"description": description}
            if content is not None:
                responses[code]["content"] = copy.deepcopy(content)
    return out


def merge(
    documents: dict[str, dict[str, Any]],
    *,
    servers: list[dict[str, str]] | None = None,
    version: str = "0.1.0",
) -> dict[str, Any]:
    """One OpenAPI 3.1 document from the services' own, in the order given."""
    # Per service: the kept operations under their public paths, and the components they use.
    kept: dict[str, dict[str, dict[str, Any]]] = {}
    used: dict[str, dict[tuple[str, str], Any]] = {}
    tags: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for service, doc in documents.items():
        tag_docs = {t["name"]: t for t in doc.get("tags", [])}
        tag_names: dict[str, str] = {}
        paths: dict[str, dict[str, Any]] = {}
        for path, item in doc.get("paths", {}).items():
            public = public_path(service, path)
            if public is None:
                continue
            for method in METHODS:
                op = item.get(method)
                if op is None or _roles(op) == [Role.SERVICE.value]:
                    continue  # internal: the gateway never forwards it
                for tag in op.get("tags") or [""]:
                    tag_names.setdefault(tag, f"{service} {tag}".strip())
                paths.setdefault(public, {})[method] = _operation(service, item, op, tag_names)
            if public in paths and item.get("parameters"):
                paths[public]["parameters"] = copy.deepcopy(item["parameters"])
        own = doc.get("components", {})
        kept[service] = paths
        used[service] = {key: own[key[0]][key[1]] for key in _reachable(paths, own)}
        for tag, name in tag_names.items():
            entry = {"name": name}
            if tag_docs.get(tag, {}).get("description"):
                entry["description"] = tag_docs[tag]["description"]
            tags.append(entry)
        if tag_names:
            groups.append({"name": service, "tags": list(tag_names.values())})

    rename = _component_names(used)
    merged_components: dict[str, dict[str, Any]] = defaultdict(dict)
    merged_paths: dict[str, Any] = {}
    for service in documents:

        def local(ref: str, service: str = service) -> str:
            key = _component_key(ref)
            if key is None:
                return ref
            return f"#/components/{key[0]}/{rename[service].get(key, key[1])}"

        for (section, name), definition in used[service].items():
            public_name = rename[service].get((section, name), name)
            merged = _walk_refs(definition, local)
            if public_name != name and "title" in merged:
                merged["title"] = public_name  # generators name classes by title
            merged_components[section][public_name] = merged
        for path, item in kept[service].items():
            merged_paths[path] = _walk_refs(item, local)

    components: dict[str, Any] = {k: dict(sorted(v.items())) for k, v in merged_components.items()}
    components["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ALPR governance suite",
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "servers": servers or [{"url": "/", "description": "this gateway"}],
        "paths": merged_paths,
        "components": components,
        "tags": tags,
        "x-tagGroups": groups,
    }


def _component_names(
    used: dict[str, dict[tuple[str, str], Any]],
) -> dict[str, dict[tuple[str, str], str]]:
    """Per service, the components that must take a service prefix: those another service
    defines differently, directly or through a component that is itself prefixed."""
    owners: dict[tuple[str, str], list[str]] = defaultdict(list)
    for service, components in used.items():
        for key in components:
            owners[key].append(service)
    prefixed: set[tuple[str, str]] = set()
    taken = {(key[0], key[1]) for key in owners}

    def public(service: str, key: tuple[str, str]) -> str:
        if key not in prefixed:
            return key[1]
        name = f"{service.title()}{key[1]}"
        # `HotlistRead` may already be a name of its own: then `Hotlist_Read`.
        return f"{service.title()}_{key[1]}" if (key[0], name) in taken else name

    changed = True
    while changed:
        changed = False
        for key, services in owners.items():
            if key in prefixed or len(services) < 2:
                continue

            def form(service: str, key: tuple[str, str] = key) -> str:
                def local(ref: str) -> str:
                    k = _component_key(ref)
                    return ref if k is None else f"#/components/{k[0]}/{public(service, k)}"

                return json.dumps(_walk_refs(used[service][key], local), sort_keys=True)

            if len({form(s) for s in services}) > 1:
                prefixed.add(key)
                changed = True
    return {
        service: {key: public(service, key) for key in components if key in prefixed}
        for service, components in used.items()
    }


class PublicDocument:
    """The services' documents as last loaded, and their merge, rebuilt when one changes."""

    def __init__(self, services: Iterable[str], *, public_url: str = "") -> None:
        self.services = list(services)
        self.public_url = public_url
        self.documents: dict[str, dict[str, Any]] = {}
        self._merged: dict[str, Any] | None = None

    def load(self, service: str, document: dict[str, Any]) -> None:
        if self.documents.get(service) != document:
            self.documents[service] = document
            self._merged = None

    def document(self) -> dict[str, Any]:
        missing = [s for s in self.services if s not in self.documents]
        if missing:
            raise Unavailable(
                f"the API document is not complete until {', '.join(missing)} publish their "
                "routes; retry"
            )
        if self._merged is None:
            servers = [{"url": self.public_url or "/", "description": "the ALPR gateway"}]
            self._merged = merge(
                {s: self.documents[s] for s in self.services},
                servers=servers,
            )
        return self._merged
