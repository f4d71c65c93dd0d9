"""The public API document in tests: the services' own documents built in-process, and the lint
every merged document must pass (OpenAPI 3.1 validity plus the project's own rules)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from alpr_common.purpose import PURPOSE_HEADER
from alpr_common.roles import Role
from alpr_gateway.routes import METHODS, SERVICES

OPERATION_ID = re.compile(r"^([a-z]+)_[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# FastAPI's default ids end in the path and the method (`search_reads_v1_reads_get`).
DEFAULT_ID = re.compile(r"_v1_|_(get|post|put|patch|delete)$")
# The main operations of issue 18 carry examples.
EXAMPLED = ("ingest_post_reads", "ingest_search_reads", "hotlist_confirm_visually")
EXAMPLED_BODIES = ("ingest_post_reads", "hotlist_confirm_visually", "hotlist_create_import")


def service_documents() -> dict[str, dict[str, Any]]:
    """Each service's own OpenAPI, from its real app (no database is opened)."""
    from alpr_access.main import SPEC as ACCESS
    from alpr_audit.main import SPEC as AUDIT
    from alpr_hotlist.main import SPEC as HOTLIST
    from alpr_ingest.main import SPEC as INGEST
    from alpr_sharing.main import SPEC as SHARING

    tmp = Path(tempfile.mkdtemp())
    docs = {}
    for spec in (ACCESS, INGEST, HOTLIST, SHARING, AUDIT):
        extra: dict[str, Any] = {}
        if spec is INGEST:
            extra = {"image_dir": tmp / "images", "export_dir": tmp / "exports"}
        settings = spec.settings_cls(
            environment="test",
            run_relay=False,
            database_url=f"sqlite+aiosqlite:///{tmp / spec.name}.db",
            **extra,
        )
        docs[spec.name] = spec.app_factory(settings).openapi()
    return {name: docs[name] for name in SERVICES}


def _operations(doc: dict[str, Any]):
    for path, item in doc.get("paths", {}).items():
        for method in METHODS:
            if method in item:
                yield path, method, item, item[method]


def lint(doc: dict[str, Any]) -> list[str]:
    """Every problem with the merged document, one sentence each; empty when it is clean."""
    problems: list[str] = []
    try:
        validate(doc)
    except Exception as exc:  # the validator's own error types, each with its message
        problems.append(f"not valid OpenAPI: {exc}")
    registry = Registry().with_resource(
        "urn:doc", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    schemes = doc.get("components", {}).get("securitySchemes", {})
    tags = {t["name"] for t in doc.get("tags", [])}
    grouped = {t: g["name"] for g in doc.get("x-tagGroups", []) for t in g["tags"]}
    seen_ids: dict[str, str] = {}
    roles_known = {r.value for r in Role} - {Role.SERVICE.value}
    if not doc.get("servers"):
        problems.append("no servers")
    titles: dict[str, str] = {}
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        title = schema.get("title", name)
        if title in titles:
            problems.append(f"schemas {titles[title]} and {name} share the title {title!r}")
        titles[title] = name
    for path, method, item, op in _operations(doc):
        where = f"{method.upper()} {path}"
        service = path.split("/")[2] if path.startswith("/v1/") else ""
        if service not in SERVICES:
            problems.append(f"{where}: not under /v1/<service>/")
        oid = op.get("operationId", "")
        m = OPERATION_ID.match(oid)
        if not m or m[1] != service or DEFAULT_ID.search(oid):
            problems.append(f"{where}: operationId {oid!r} is not `{service}_<verb>_<noun>`")
        if oid in seen_ids:
            problems.append(f"{where}: operationId {oid!r} also on {seen_ids[oid]}")
        seen_ids[oid] = where
        if not op.get("description"):
            problems.append(f"{where}: no description")
        for tag in op.get("tags") or []:
            if tag not in tags or grouped.get(tag) != service:
                problems.append(f"{where}: tag {tag!r} undeclared or not in the {service} group")
        if not op.get("tags"):
            problems.append(f"{where}: no tag")
        if "security" not in op:
            problems.append(f"{where}: security not stated")
        roles = op.get("x-alpr-roles")
        if roles is None:
            problems.append(f"{where}: no x-alpr-roles")
            roles = []
        if Role.SERVICE.value in roles and set(roles) == {Role.SERVICE.value}:
            problems.append(f"{where}: internal route exposed")
        scoped: set[str] = set()
        for requirement in op.get("security") or []:
            for scheme, scopes in requirement.items():
                if scheme not in schemes:
                    problems.append(f"{where}: unknown security scheme {scheme!r}")
                scoped.update(scopes)
        if set(roles) - {Role.SERVICE.value} != scoped or not scoped <= roles_known:
            problems.append(f"{where}: scopes {sorted(scoped)} differ from roles {roles}")
        if bool(roles) != bool(op.get("security")):
            problems.append(f"{where}: roles {roles} but security {op.get('security')}")
        params = [*item.get("parameters", []), *op.get("parameters", [])]
        purpose = any(
            p.get("in") == "header"
            and p["name"].lower() == PURPOSE_HEADER.lower()
            and p.get("required")
            for p in params
        )
        if op.get("x-alpr-purpose") is not purpose:
            problems.append(f"{where}: x-alpr-purpose is not {purpose}")
        if roles and "**Roles:**" not in op.get("description", ""):
            problems.append(f"{where}: roles not in the description")
        responses = op.get("responses", {})
        for code in ("429", "503", *(("401", "403") if roles else ())):
            if code not in responses:
                problems.append(f"{where}: answer {code} not documented")
        for code, response in responses.items():
            if code[:1] in "45" and not response.get("content"):
                problems.append(f"{where}: error {code} has no body schema")
        problems.extend(_check_examples(where, op, params, registry))
        if oid in EXAMPLED_BODIES and not any(
            media.get("examples") for media in op.get("requestBody", {}).get("content", {}).values()
        ):
            problems.append(f"{where}: main operation without a body example")
        if (
            oid in EXAMPLED
            and not any(p.get("schema", {}).get("examples") for p in params)
            and (oid not in EXAMPLED_BODIES)
        ):
            problems.append(f"{where}: main operation without parameter examples")
    for oid in {*EXAMPLED, *EXAMPLED_BODIES} - set(seen_ids):
        problems.append(f"main operation {oid} missing")
    return problems


def _check_examples(
    where: str, op: dict[str, Any], params: list[dict[str, Any]], registry: Registry
) -> list[str]:
    """Every example in the document is valid against the schema it illustrates."""
    problems = []
    cases: list[tuple[str, Any, Any]] = []
    for media_type, media in op.get("requestBody", {}).get("content", {}).items():
        for name, example in (media.get("examples") or {}).items():
            cases.append((f"body example {name!r} ({media_type})", media["schema"], example))
    for p in params:
        for value in p.get("schema", {}).get("examples") or []:
            cases.append((f"parameter {p['name']} example", p["schema"], {"value": value}))
    for label, schema, example in cases:
        # The schema's refs (`#/components/...`) resolve in the whole document.
        validator = OAS31Validator(_in_document(schema), registry=registry)
        try:
            validator.validate(example["value"])
        except ValidationError as exc:
            problems.append(f"{where}: {label} is invalid: {exc.message}")
    return problems


def _in_document(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: f"urn:doc{v}" if k == "$ref" and str(v).startswith("#") else _in_document(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_in_document(v) for v in node]
    return node
