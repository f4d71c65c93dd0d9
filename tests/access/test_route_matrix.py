"""344.4(c): every access route allows exactly the roles this table says, in the OpenAPI the
gateway reads and in what the service answers."""

from __future__ import annotations

import pytest

from alpr_access.main import create_app
from alpr_common.errors import problem_type
from alpr_common.roles import PERSON_ROLES, Role

CSO = {Role.CHIEF_SECURITY_OFFICER}
PERSONNEL = {Role.CHIEF_SECURITY_OFFICER, Role.ADMIN, Role.TRAINING_COORDINATOR}
PEOPLE = set(PERSON_ROLES)

PUBLIC = {
    ("POST", "/v1/token"),
    ("POST", "/v1/enrolments"),
    ("GET", "/.well-known/jwks.json"),
}
ALLOWED: dict[tuple[str, str], set[Role]] = {
    ("POST", "/v1/ingest-keys/exchange"): {Role.SERVICE},
    ("GET", "/v1/principals/{subject}/status"): {Role.SERVICE},
    ("GET", "/v1/users/me"): PEOPLE,
    ("PUT", "/v1/users/me/password"): PEOPLE,
    ("POST", "/v1/users"): CSO,
    ("GET", "/v1/users"): PERSONNEL,
    ("GET", "/v1/users/{user_id}"): PERSONNEL,
    ("PATCH", "/v1/users/{user_id}"): CSO,
    ("POST", "/v1/users/{user_id}/roles"): CSO,
    ("DELETE", "/v1/users/{user_id}/roles/{role}"): CSO,
    ("POST", "/v1/users/{user_id}/enrolment-codes"): CSO,
    ("POST", "/v1/training-records"): {Role.TRAINING_COORDINATOR},
    ("GET", "/v1/training-records"): {Role.TRAINING_COORDINATOR, Role.CHIEF_SECURITY_OFFICER},
    ("GET", "/v1/lockouts"): CSO,
    ("POST", "/v1/lockout-releases"): CSO,
    ("POST", "/v1/clients"): CSO,
    ("GET", "/v1/clients"): CSO,
    ("GET", "/v1/clients/{client_id}"): CSO,
    ("PATCH", "/v1/clients/{client_id}"): CSO,
    ("DELETE", "/v1/clients/{client_id}"): CSO,
    ("POST", "/v1/clients/{client_id}/secrets"): CSO,
    ("POST", "/v1/ingest-keys"): CSO,
    ("GET", "/v1/ingest-keys"): CSO,
    ("DELETE", "/v1/ingest-keys/{key_id}"): CSO,
    ("GET", "/v1/login-attempts"): {
        Role.CHIEF_SECURITY_OFFICER,
        Role.RISK_MANAGEMENT,
        Role.CITY_AUDITOR,
    },
    ("GET", "/v1/login-digests/{date}"): CSO,
    # Anyone signs out their own token.
    ("POST", "/v1/sign-out"): set(Role),
}
PATH_VALUES = {
    "{subject}": "user:nobody",
    "{user_id}": "nobody",
    "{role}": "officer",
    "{client_id}": "camera-nobody",
    "{key_id}": "nobody",
    "{date}": "2026-01-15",
}


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(name, value)
    return path


@pytest.mark.policy("344.4(c)")
def test_openapi_declares_exactly_the_allowed_roles(tmp_path):
    from alpr_access.settings import AccessSettings

    app = create_app(AccessSettings(environment="test", signing_key_dir=tmp_path))
    declared: dict[tuple[str, str], set[str] | None] = {}
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            security = op.get("security")
            declared[(method.upper(), path)] = (
                {s for req in security for scopes in req.values() for s in scopes}
                if security
                else None
            )

    assert {k for k, v in declared.items() if v is None} == PUBLIC
    assert {k: v for k, v in declared.items() if v is not None} == {
        k: {r.value for r in roles} for k, roles in ALLOWED.items()
    }


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("route", sorted(ALLOWED), ids=lambda r: f"{r[0]} {r[1]}")
async def test_route_answers_by_role(client, tokens, route, role):
    method, path = route

    resp = await client.request(
        method,
        concrete(path),
        headers=tokens.headers(role),
        json={} if method in ("POST", "PUT", "PATCH") else None,
    )

    if role in ALLOWED[route]:
        assert resp.status_code not in (401, 403), resp.text
    else:
        assert resp.status_code == 403, resp.text
        assert resp.json()["type"] == problem_type("Forbidden")


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("route", sorted(ALLOWED), ids=lambda r: f"{r[0]} {r[1]}")
async def test_route_without_token_is_unauthorized(client, route):
    method, path = route

    resp = await client.request(method, concrete(path))

    assert resp.status_code == 401
    assert resp.json()["type"] == problem_type("Unauthorized")
