"""Issue 13, defect 3: ingest, called directly (not through the gateway), checks the token holder's
live status with the kernel's check, as the gateway does: a deactivated principal, a role no longer
held, lapsed training and a revoked token are refused while the token is unexpired. Here the
status comes from the test plugin's directory; tests/e2e run the same check against access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

SUBJECT = "user:inv1"  # ingest_helpers' investigator


async def test_live_principal_is_served(ingest):
    assert (await ingest.search(plate="ABC1234")).status_code == 200


@pytest.mark.policy("344.7(b)")
@pytest.mark.parametrize(
    ("change", "status"),
    [
        (lambda: {"active": False}, 403),
        (lambda: {"roles": frozenset()}, 403),
        (lambda: {"training_valid_until": datetime.now(UTC) - timedelta(seconds=1)}, 403),
        (lambda: {"tokens_valid_after": datetime.now(UTC) + timedelta(seconds=2)}, 401),
    ],
    ids=["deactivated", "de-roled", "training-lapsed", "tokens-revoked"],
)
async def test_service_refuses_what_the_gateway_refuses(ingest, tokens, change, status):
    headers = ingest.investigator()
    assert (await ingest.search(headers, plate="ABC1234")).status_code == 200
    tokens.directory.update(SUBJECT, **change())
    try:
        resp = await ingest.search(headers, plate="ABC1234")
        assert resp.status_code == status, resp.text
        assert resp.json()["request_id"] == resp.headers["x-request-id"]
    finally:
        tokens.directory.status.pop(SUBJECT)


async def test_signed_out_token_is_refused(ingest, tokens):
    from jose import jwt

    headers = ingest.investigator()
    jti = jwt.get_unverified_claims(headers["Authorization"].split()[1])["jti"]
    tokens.directory.update(SUBJECT, revoked_token_ids=frozenset({jti}))
    try:
        resp = await ingest.search(headers, plate="ABC1234")
        assert resp.status_code == 401 and "signed out" in resp.json()["detail"]
        # Another token of the same person still works.
        assert (await ingest.search(ingest.investigator(), plate="ABC1234")).status_code == 200
    finally:
        tokens.directory.status.pop(SUBJECT)


async def test_unknown_principal_is_refused(ingest, tokens):
    headers = ingest.investigator()
    tokens.directory.status.pop(SUBJECT)
    resp = await ingest.search(headers, plate="ABC1234")
    assert resp.status_code == 401


@pytest.mark.policy("344.4(a)1")
@pytest.mark.parametrize("raw", ["race=x", "race%00=x", "RACE=x", "ra%63e=x", "gender%20=f"])
async def test_protected_attribute_query_refused_by_the_service_itself(ingest, raw):
    resp = await ingest.client.get(f"/v1/reads?plate=ABC1234&{raw}", headers=ingest.investigator())
    assert resp.status_code == 403, resp.text
    assert resp.json()["clause"] == "344.4(a)1"
    assert resp.json()["request_id"] == resp.headers["x-request-id"]
