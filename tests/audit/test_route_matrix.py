"""Audit's role-by-route matrix, route by route over its own OpenAPI: Risk Management runs the
random audit and records findings (344.6(a)); the City Auditor reads every audit route and
changes nothing (344.6(c)); anyone with access may report misuse (344.4(a)7)."""

from __future__ import annotations

import pytest

from alpr_audit.main import create_app
from alpr_audit.settings import AuditSettings
from alpr_common.errors import problem_type
from alpr_common.roles import PERSON_ROLES, Role

READERS = {Role.RISK_MANAGEMENT, Role.CITY_AUDITOR, Role.CHIEF_SECURITY_OFFICER}
RM = {Role.RISK_MANAGEMENT}
REPORTERS = set(PERSON_ROLES) - {Role.CITY_AUDITOR}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}

# The public transparency page (no plate, no person); health probes are not in the OpenAPI.
PUBLIC: set[tuple[str, str]] = {("GET", "/v1/transparency"), ("GET", "/v1/transparency/html")}
ALLOWED: dict[tuple[str, str], set[Role]] = {
    ("POST", "/v1/events"): {Role.SERVICE},
    ("GET", "/v1/log-entries"): READERS,
    ("GET", "/v1/log-entries/{seq}"): READERS,
    ("GET", "/v1/transactions"): READERS,
    ("GET", "/v1/log-verifications"): READERS,
    ("GET", "/v1/checkpoints"): READERS,
    ("GET", "/v1/checkpoint-keys"): READERS,
    ("POST", "/v1/review-samples"): RM,
    ("GET", "/v1/review-samples"): READERS,
    ("GET", "/v1/review-samples/{sample_id}"): READERS,
    ("GET", "/v1/review-samples/{sample_id}/items"): READERS,
    ("GET", "/v1/review-samples/{sample_id}/redraw"): READERS,
    ("GET", "/v1/review-items/{item_id}"): READERS,
    ("PUT", "/v1/review-items/{item_id}/assignment"): RM,
    ("POST", "/v1/review-items/{item_id}/finding"): RM,
    ("GET", "/v1/review-summaries"): READERS,
    ("POST", "/v1/misuse-allegations"): REPORTERS,
    ("GET", "/v1/misuse-allegations"): READERS,
    ("GET", "/v1/misuse-allegations/{allegation_id}"): READERS,
    ("PUT", "/v1/misuse-allegations/{allegation_id}/assignment"): RM,
    ("PUT", "/v1/misuse-allegations/{allegation_id}/go902-case"): RM,
    ("POST", "/v1/misuse-allegations/{allegation_id}/finding"): RM,
    ("GET", "/v1/misuse-allegation-summaries"): READERS,
    ("GET", "/v1/usage-findings"): READERS,
    ("POST", "/v1/population-imports"): {Role.CHIEF_SECURITY_OFFICER, Role.RISK_MANAGEMENT},
    ("GET", "/v1/population-areas"): READERS,
    ("GET", "/v1/equity-reports"): READERS,
    ("GET", "/v1/equity-reports/areas.csv"): READERS,
    # The 344.6(b) report goes to the Chief of Police too; the policy-change log (item 8) is
    # recorded by Risk Management or the Chief's office.
    ("GET", "/v1/reports/quarterly"): {*READERS, Role.CHIEF_OF_POLICE},
    ("GET", "/v1/reports/quarterly/csv"): {*READERS, Role.CHIEF_OF_POLICE},
    ("GET", "/v1/reports/quarterly/html"): {*READERS, Role.CHIEF_OF_POLICE},
    ("GET", "/v1/policy-changes"): {*READERS, Role.CHIEF_OF_POLICE},
    ("GET", "/v1/policy-changes/{change_id}"): {*READERS, Role.CHIEF_OF_POLICE},
    ("POST", "/v1/policy-changes"): {Role.RISK_MANAGEMENT, Role.CHIEF_OF_POLICE},
}
PATH_VALUES = {
    "{seq}": "1",
    "{sample_id}": "0" * 32,
    "{item_id}": "0" * 32,
    "{allegation_id}": "0" * 32,
    "{change_id}": "0" * 32,
}


def _operations(tmp_path) -> dict[tuple[str, str], dict]:
    app = create_app(
        AuditSettings(
            environment="test",
            checkpoint_dir=tmp_path / "c",
            checkpoint_key_file=tmp_path / "k.pem",
            checkpoint_interval_seconds=0,
        )
    )
    return {
        (method.upper(), path): op
        for path, ops in app.openapi()["paths"].items()
        for method, op in ops.items()
    }


def _roles(op: dict) -> set[str] | None:
    security = op.get("security")
    if not security:
        return None
    return {s for req in security for scopes in req.values() for s in scopes}


def _url(path: str, op: dict) -> tuple[str, dict[str, str]]:
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    params = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
    return path, ({"quarter": "2026Q4"} if "quarter" in params else {})


@pytest.mark.policy("344.6(c)")
def test_openapi_declares_exactly_the_allowed_roles(tmp_path):
    declared = {key: _roles(op) for key, op in _operations(tmp_path).items()}

    assert {k for k, v in declared.items() if v is None} == PUBLIC
    assert {k: v for k, v in declared.items() if v is not None} == {
        k: {r.value for r in roles} for k, roles in ALLOWED.items()
    }


@pytest.mark.policy("344.6(c)")
def test_city_auditor_reads_every_read_route_and_no_mutating_one(tmp_path):
    for (method, path), op in _operations(tmp_path).items():
        roles = _roles(op)
        if roles is None or roles == {Role.SERVICE.value}:
            continue
        if method in MUTATING:
            assert Role.CITY_AUDITOR.value not in roles, (method, path)
        else:
            assert Role.CITY_AUDITOR.value in roles, (method, path)


@pytest.mark.policy("344.6(c)")
@pytest.mark.policy("344.6(a)")
async def test_every_route_answers_by_role(client, tokens, audit_purpose, tmp_path):
    # One test walks the whole matrix: a migrated database per route would cost minutes.
    operations = _operations(tmp_path)
    for route in sorted(ALLOWED):
        method, template = route
        path, params = _url(template, operations[route])
        for role in Role:
            resp = await client.request(
                method,
                path,
                params=params,
                headers={**tokens.headers(role.value), **audit_purpose},
                json={} if method in MUTATING else None,
            )
            where = (method, template, role.value, resp.text)
            if role == Role.CITY_AUDITOR and method in MUTATING:
                assert resp.status_code == 403, where
            elif role == Role.CITY_AUDITOR:
                assert resp.status_code in (200, 404), where
            if role in ALLOWED[route]:
                assert resp.status_code not in (401, 403, 500), where
            else:
                assert resp.status_code == 403, where
                assert resp.json()["type"] == problem_type("Forbidden"), where
