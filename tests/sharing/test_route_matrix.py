"""344.4(c): every sharing route allows exactly the roles this table says, in the OpenAPI the
gateway reads and in what the service answers; the routes that release ALPR data declare the
purpose headers, so the gateway checks them before forwarding."""

from __future__ import annotations

import pytest

from alpr_common.errors import problem_type
from alpr_common.roles import PERSON_ROLES, Role
from alpr_sharing.main import create_app
from alpr_sharing.settings import SharingSettings

R = Role
RECORDS = {R.RECORDS_OFFICER}
REGISTRARS = {R.RECORDS_OFFICER, R.ADMIN}
AGENCY_READERS = {
    R.RECORDS_OFFICER,
    R.CHIEF_OF_POLICE,
    R.ATIU_LIEUTENANT,
    R.ADMIN,
    R.RISK_MANAGEMENT,
    R.CITY_AUDITOR,
    R.AGENCY,
}
REQUEST_READERS = {
    R.AGENCY,
    R.RECORDS_OFFICER,
    R.CHIEF_OF_POLICE,
    R.ATIU_LIEUTENANT,
    R.RISK_MANAGEMENT,
    R.CITY_AUDITOR,
}
PACKAGE_READERS = {
    R.AGENCY,
    R.RECORDS_OFFICER,
    R.CHIEF_OF_POLICE,
    R.RISK_MANAGEMENT,
    R.CITY_AUDITOR,
}
REQUESTERS = {R.AGENCY, R.RECORDS_OFFICER}
DECIDERS = {R.RECORDS_OFFICER, R.CHIEF_OF_POLICE}
MISUSE_READERS = {R.ATIU_LIEUTENANT, R.CHIEF_OF_POLICE, R.RISK_MANAGEMENT, R.CITY_AUDITOR}

ALLOWED: dict[tuple[str, str], set[Role]] = {
    ("POST", "/v1/agencies"): REGISTRARS,
    ("GET", "/v1/agencies"): AGENCY_READERS,
    ("GET", "/v1/agencies/{agency_id}"): AGENCY_READERS,
    ("PATCH", "/v1/agencies/{agency_id}"): REGISTRARS,
    ("GET", "/v1/agencies/{agency_id}/status-changes"): AGENCY_READERS,
    ("POST", "/v1/agencies/{agency_id}/status-decisions"): {R.ATIU_LIEUTENANT},
    ("POST", "/v1/sharing-requests"): REQUESTERS,
    ("GET", "/v1/sharing-requests"): REQUEST_READERS,
    ("GET", "/v1/sharing-requests/{request_id}"): REQUEST_READERS,
    ("POST", "/v1/sharing-requests/{request_id}/reviews"): DECIDERS,
    ("POST", "/v1/sharing-requests/{request_id}/notices"): {R.CHIEF_OF_POLICE},
    ("POST", "/v1/sharing-requests/{request_id}/decisions"): DECIDERS,
    ("POST", "/v1/sharing-requests/{request_id}/withdrawals"): REQUESTERS,
    ("POST", "/v1/sharing-requests/{request_id}/outcomes"): REQUESTERS,
    ("POST", "/v1/sharing-requests/{request_id}/packages"): RECORDS,
    ("GET", "/v1/packages"): PACKAGE_READERS,
    ("GET", "/v1/packages/{package_id}"): PACKAGE_READERS,
    ("GET", "/v1/packages/{package_id}/content"): REQUESTERS,
    ("POST", "/v1/packages/{package_id}/revocations"): {
        R.RECORDS_OFFICER,
        R.ATIU_LIEUTENANT,
        R.CHIEF_OF_POLICE,
    },
    ("POST", "/v1/misuse-reports"): set(PERSON_ROLES),
    ("GET", "/v1/misuse-reports"): MISUSE_READERS,
    ("GET", "/v1/misuse-reports/{report_id}"): MISUSE_READERS,
}
# The only routes that hand out ALPR data: the gateway checks their purpose headers.
PURPOSE_ROUTES = {("GET", "/v1/packages/{package_id}/content")}
NOBODY = "0" * 32


def concrete(path: str) -> str:
    for name in ("{agency_id}", "{request_id}", "{package_id}", "{report_id}"):
        path = path.replace(name, NOBODY)
    return path


def _operations():
    app = create_app(SharingSettings(environment="test"))
    for path, operations in app.openapi()["paths"].items():
        for method, op in operations.items():
            yield (method.upper(), path), op


@pytest.mark.policy("344.4(c)")
def test_openapi_declares_exactly_the_allowed_roles():
    declared = {}
    for key, op in _operations():
        security = op.get("security")
        declared[key] = (
            {s for req in security for scopes in req.values() for s in scopes} if security else None
        )
    public = {k for k, v in declared.items() if v is None}
    assert public == set()  # health routes are left out of the schema
    assert {k: v for k, v in declared.items() if v is not None} == {
        k: {r.value for r in roles} for k, roles in ALLOWED.items()
    }


def test_only_the_download_declares_the_purpose_headers():
    declaring = {
        key
        for key, op in _operations()
        if any(p.get("name", "").lower() == "x-alpr-purpose" for p in op.get("parameters", []))
    }
    assert declaring == PURPOSE_ROUTES


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("route", sorted(ALLOWED), ids=lambda r: f"{r[0]} {r[1]}")
async def test_route_answers_by_role(client, tokens, route):
    method, path = route
    for role in Role:
        resp = await client.request(
            method,
            concrete(path),
            headers=tokens.headers(role.value),
            json={} if method in ("POST", "PUT", "PATCH") else None,
        )
        if role in ALLOWED[route]:
            assert resp.status_code not in (401, 403), (role, resp.text)
        else:
            assert resp.status_code == 403, (role, resp.text)
            assert resp.json()["type"] == problem_type("Forbidden")
    resp = await client.request(method, concrete(path))
    assert resp.status_code == 401
