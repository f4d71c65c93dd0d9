"""Issue 18: the gateway's public API document, as an integrator uses it against the running
suite (real processes). The document served at `/openapi.json` lints clean; a Python client
generated from it with openapi-python-client signs in, posts a read batch, searches with a
purpose and reads the alert; and schemathesis, driving every public operation of the document
through the gateway with real credentials, finds no 5xx and no answer outside the document."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from alpr_common.roles import PERSON_ROLES, Role
from alpr_common.suite import Suite
from alpr_gateway.openapi import merge
from tests.helpers.e2e import (
    PASSWORD,
    create_cso,
    create_person,
    eventually,
    login,
    record_training,
    running_suite,
)
from tests.helpers.fuzz import CHECKS, fuzz_settings
from tests.helpers.openapi import lint, service_documents

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

CSO_PASSWORD = "teal-meadow-copper-58"
CAMERA = "e2e-public-api-1"
PLATE = "OAPI123"
SEARCH_PURPOSE = {
    "x_alpr_purpose": "criminal_investigation",
    "x_alpr_case": "2026-1818",
    "x_alpr_reason": "stolen sedan seen leaving the scene",
}
PACKAGE = "alpr_public_client"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """A suite of its own: the fuzz run below creates and changes records at random, which the
    other end-to-end modules (sharing the session's suite) must not see."""
    yield from running_suite(tmp_path_factory)


@pytest.fixture(scope="module")
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.url("gateway"), timeout=15.0) as client:
        yield client


@pytest.fixture(scope="module")
def public_doc(gateway: httpx.Client) -> dict[str, Any]:
    def fetch() -> dict[str, Any] | None:
        r = gateway.get("/openapi.json")
        return r.json() if r.status_code == 200 else None

    return eventually(fetch)


@pytest.fixture(scope="module")
def generated(public_doc: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The document's Python client, generated into a temporary directory and imported."""
    root = tmp_path_factory.mktemp("client")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(public_doc))
    bin_dir = Path(sys.executable).parent
    # The generator formats its output with ruff, which sits beside the interpreter.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(spec),
            "--output-path",
            str(root / PACKAGE),
            "--meta",
            "none",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # Only content types the generator cannot express (XML, CSV, ZIP) may be skipped: every
    # schema and every JSON operation is generated.
    for failure in ("Unable to process schema", "Could not find reference", "Unable to parse"):
        assert failure not in output, output
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(root))


def test_served_document_lints_clean(public_doc: dict[str, Any]) -> None:
    assert lint(public_doc) == []


def _op(package: ModuleType, tag: str, operation: str) -> Any:
    return importlib.import_module(f"{PACKAGE}.api.{tag}.{operation}")


@pytest.fixture(scope="module")
def world(suite: Suite, gateway: httpx.Client) -> dict[str, Any]:
    """People, a camera with a client secret and a hot list holding PLATE (set up with plain
    HTTP: what the generated client is shown doing is the integrator's part)."""
    cso_info = create_cso(suite, "cso-openapi", CSO_PASSWORD)
    cso = login(gateway, "cso-openapi", CSO_PASSWORD, cso_info["totp_secret"])
    people = {
        name: create_person(gateway, cso, name, role)
        for name, role in {
            "oa-trainer": "training_coordinator",
            "oa-admin": "admin",
            "oa-manager": "hotlist_manager",
            "oa-investigator": "investigator",
        }.items()
    }
    trainer = login(gateway, "oa-trainer", PASSWORD, people["oa-trainer"]["totp"])
    for name in ("oa-admin", "oa-manager", "oa-investigator"):
        record_training(gateway, trainer, people[name]["id"], datetime.now(UTC) - timedelta(days=1))
    admin = login(gateway, "oa-admin", PASSWORD, people["oa-admin"]["totp"])
    r = gateway.post(
        "/v1/ingest/cameras",
        headers=admin,
        json={
            "id": CAMERA,
            "name": "Trailer at Congress and 6th",
            "vendor": "native",
            # A trailer is active at once; a fixed camera waits for its placement review.
            "camera_type": "trailer",
            "location": {"lat": 30.2682, "lon": -97.7429},
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": "public api camera", "kind": "camera", "cameras": [CAMERA]},
    )
    assert r.status_code == 201, r.text
    camera = r.json()
    manager = login(gateway, "oa-manager", PASSWORD, people["oa-manager"]["totp"])
    r = gateway.post(
        "/v1/hotlist/hotlists",
        headers=manager,
        json={"name": "Public API stolen", "source": "ncic", "import_format": "canonical"},
    )
    assert r.status_code == 201, r.text
    hotlist_id = r.json()["id"]
    csv = (
        "plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source\n"
        f"{PLATE},TX,stolen_vehicle,V,Stolen vehicle,V918181818,TX2279900,2026-11-01,NCIC\n"
    )
    r = gateway.post(
        "/v1/hotlist/hotlist-imports",
        params={"hotlist_id": hotlist_id},
        content=csv.encode(),
        headers={**manager, "Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    return {
        "cso": cso,
        "trainer": trainer,
        "people": people,
        "camera_client": camera["client"]["id"],
        "camera_secret": camera["client_secret"],
        "hotlist_id": hotlist_id,
    }


def test_generated_client_signs_in_posts_searches_and_reads_an_alert(
    suite: Suite, generated: ModuleType, world: dict[str, Any]
) -> None:
    from pyotp import TOTP

    base = suite.url("gateway")
    models = importlib.import_module(f"{PACKAGE}.models")
    issue_token = _op(generated, "access_tokens", "access_issue_token")
    anonymous = generated.Client(base_url=base)

    # Sign in: a person with password and TOTP, a camera with its client credentials.
    investigator = world["people"]["oa-investigator"]
    signed_in = issue_token.sync_detailed(
        client=anonymous,
        body=models.TokenRequest(
            grant_type=models.TokenRequestGrantType.PASSWORD,
            username=investigator["username"],
            password=PASSWORD,
            totp=TOTP(investigator["totp"]).now(),
        ),
    )
    assert signed_in.status_code == 200, signed_in.content
    person = generated.AuthenticatedClient(base_url=base, token=signed_in.parsed.access_token)
    camera_token = issue_token.sync(
        client=anonymous,
        body=models.TokenRequest(
            grant_type=models.TokenRequestGrantType.CLIENT_CREDENTIALS,
            client_id=world["camera_client"],
            client_secret=world["camera_secret"],
        ),
    )
    assert isinstance(camera_token, models.TokenResponse), camera_token
    camera = generated.AuthenticatedClient(base_url=base, token=camera_token.access_token)

    # Post a read batch.
    captured = datetime.now(UTC).replace(microsecond=0)
    posted = _op(generated, "ingest_reads", "ingest_post_reads").sync_detailed(
        client=camera,
        body=models.ReadBatchIn(
            reads=[
                models.ReadIn(
                    plate=PLATE,
                    region="US-TX",
                    captured_at=captured,
                    camera=CAMERA,
                    confidence=0.96,
                ),
                models.ReadIn(plate="OAPI999", captured_at=captured, camera=CAMERA),
            ]
        ),
    )
    assert posted.status_code == 200, posted.content
    assert posted.parsed.stored == 2 and posted.parsed.rejected == 0

    # Search with a purpose.
    found = _op(generated, "ingest_search", "ingest_search_reads").sync_detailed(
        client=person, plate=PLATE, **SEARCH_PURPOSE
    )
    assert found.status_code == 200, found.content
    assert [item.plate for item in found.parsed.items] == [PLATE]
    refused = _op(generated, "ingest_search", "ingest_search_reads").sync_detailed(
        client=person, plate=PLATE, **{**SEARCH_PURPOSE, "x_alpr_purpose": "revenue_collection"}
    )
    assert refused.status_code == 403 and "344.4(a)5" in refused.content.decode()

    # Read the alert the read raised.
    list_alerts = _op(generated, "hotlist_alerts", "hotlist_list_alerts")

    def alerts() -> list[Any]:
        page = list_alerts.sync(
            client=person, hotlist_id=world["hotlist_id"], plate=PLATE, **SEARCH_PURPOSE
        )
        if page is None or isinstance(page, models.Problem):
            return []
        return list(page.items)

    [alert] = eventually(alerts)
    one = _op(generated, "hotlist_alerts", "hotlist_get_alert").sync_detailed(
        client=person, alert_id=alert.id, **SEARCH_PURPOSE
    )
    assert one.status_code == 200, one.content
    assert one.parsed.plate == PLATE and one.parsed.camera_id == CAMERA
    assert one.parsed.hotlist_id == world["hotlist_id"]


def test_generated_client_posts_with_an_ingest_key(
    suite: Suite, generated: ModuleType, world: dict[str, Any], gateway: httpx.Client
) -> None:
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=world["cso"],
        json={"client_id": world["camera_client"], "label": f"oa-{uuid.uuid4().hex[:6]}"},
    )
    assert r.status_code == 201, r.text
    models = importlib.import_module(f"{PACKAGE}.models")
    # The `ingestKey` scheme: the key in X-ALPR-Ingest-Key, no Bearer prefix.
    camera = generated.AuthenticatedClient(
        base_url=suite.url("gateway"),
        token=r.json()["key"],
        auth_header_name="X-ALPR-Ingest-Key",
        prefix="",
    )
    posted = _op(generated, "ingest_reads", "ingest_post_reads").sync_detailed(
        client=camera,
        body=models.ReadBatchIn(
            reads=[models.ReadIn(plate="OAPIKEY1", captured_at=datetime.now(UTC), camera=CAMERA)]
        ),
    )
    assert posted.status_code == 200, posted.content
    assert posted.parsed.stored == 1


# Operations the fuzz run leaves out, and why: signing out revokes the token the run uses.
NOT_FUZZED = {"access_sign_out"}
FUZZ_PURPOSE = {
    "X-ALPR-Purpose": "criminal_investigation",
    "X-ALPR-Case": "2026-2020",
    "X-ALPR-Reason": "fuzzing the public API document",
}


@pytest.fixture(scope="module")
def credentials(
    suite: Suite, gateway: httpx.Client, world: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """Authorization headers by role: one trained person per person role, and the camera."""
    cso = world["cso"]
    trainer = world["trainer"]  # a TOTP code is accepted once: the login of `world`
    out: dict[str, dict[str, str]] = {}
    for role in sorted(r.value for r in PERSON_ROLES):
        person = create_person(gateway, cso, f"fz-{role[:10]}-{uuid.uuid4().hex[:4]}", role)
        record_training(gateway, trainer, person["id"], datetime.now(UTC) - timedelta(days=1))
        out[role] = login(gateway, person["username"], PASSWORD, person["totp"])
    r = gateway.post(
        "/v1/access/token",
        data={
            "grant_type": "client_credentials",
            "client_id": world["camera_client"],
            "client_secret": world["camera_secret"],
        },
    )
    assert r.status_code == 200, r.text
    out[Role.CAMERA.value] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


# The document the gateway serves is the merge of the services' own documents (checked below
# against the served one); built here, at collection, so that each operation is its own test.
DOCUMENT = merge(service_documents())
schema = schemathesis.openapi.from_dict(
    DOCUMENT,
    # Examples and random cases through the gateway; each service's own fuzz test
    # (tests/<service>/test_openapi_fuzz.py) runs the coverage phase in-process.
    config=SchemathesisConfig.from_dict(
        {"phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}}}
    ),
).exclude(operation_id=sorted(NOT_FUZZED))


def test_served_document_is_the_merge_of_the_services_documents(
    public_doc: dict[str, Any],
) -> None:
    assert {**public_doc, "servers": None} == {**DOCUMENT, "servers": None}


@schema.parametrize()
@fuzz_settings(max_examples=3)
def test_gateway_document_holds_for_every_operation(case, suite, credentials):
    """Schemathesis through the gateway, authenticated as a role each operation allows: no 5xx,
    only documented status codes, content types and bodies."""
    definition = case.operation.definition.raw
    headers: dict[str, str] = {}
    roles = definition.get("x-alpr-roles") or []
    held = [r for r in roles if r in credentials]
    if held:
        headers.update(credentials[held[0]])
    if definition.get("x-alpr-purpose"):
        headers.update(FUZZ_PURPOSE)
    response = case.call(base_url=suite.url("gateway"), headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS)
