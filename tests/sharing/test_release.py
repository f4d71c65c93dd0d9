"""An agency's case-scoped request, approved by the records officer, is released as a package of
exactly the named plates in the window, only the fields asked for, with a SHA-256 manifest;
downloads are logged; revoked and expired grants are refused; a peer down means retry later."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import update

from alpr_sharing.models import ReleasePackage
from tests.helpers.sharing import CASE, bundle_rows, now


async def _approved(sharing, agency, **overrides):
    headers = sharing.agency_client(agency["id"])
    request = await sharing.submitted(headers, **overrides)
    assert request["status"] == "received"
    resp = await sharing.decide(request["id"], "approved", sharing.records())
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "approved"
    return request, headers


@pytest.mark.policy("344.5(b)")
async def test_case_scoped_request_releases_exactly_the_named_plates_in_the_window(sharing):
    t = now()
    inside = [("ABC1234", t - timedelta(hours=h)) for h in (1, 5, 30)]
    other_plate = [("XYZ9876", t - timedelta(hours=2))]
    outside = [("ABC1234", t - timedelta(days=3))]
    await sharing.seed_reads(inside + other_plate + outside)
    agency = await sharing.agency()
    request, headers = await _approved(
        sharing, agency, fields=["plate", "captured_at", "camera_id"]
    )

    resp = await sharing.build(request["id"])
    assert resp.status_code == 201, resp.text
    package = resp.json()
    assert package["read_count"] == 3
    assert package["state"] == "available"
    detail = (await sharing.get(request["id"])).json()
    assert detail["status"] == "fulfilled"

    resp = await sharing.download(package["id"], headers)
    assert resp.status_code == 200, resp.text
    assert hashlib.sha256(resp.content).hexdigest() == package["sha256"]
    rows, manifest, csv_bytes = bundle_rows(resp.content)
    assert {r["plate"] for r in rows} == {"ABC1234"}
    assert len(rows) == 3
    assert list(rows[0]) == ["plate", "captured_at", "camera_id"]
    assert manifest["files"]["reads.csv"]["sha256"] == hashlib.sha256(csv_bytes).hexdigest()
    assert manifest["request_id"] == request["id"]

    downloaded = await sharing.events("sharing.package_downloaded")
    assert len(downloaded) == 1
    assert downloaded[0]["data"]["package_id"] == package["id"]
    released = await sharing.events("sharing.package_released")
    assert [e["data"]["read_count"] for e in released] == [3]


async def test_download_refused_for_another_case_and_after_revocation_or_expiry(sharing):
    await sharing.seed_reads([("ABC1234", now() - timedelta(hours=1))])
    agency = await sharing.agency()
    request, headers = await _approved(sharing, agency)
    package = (await sharing.build(request["id"])).json()

    resp = await sharing.download(package["id"], headers, case="2026-9999999")
    assert resp.status_code == 403
    assert resp.json()["clause"] == "344.5(c)"

    resp = await sharing.client.post(
        f"/v1/packages/{package['id']}/revocations",
        json={"reason": "sent to the wrong unit, revoked at once"},
        headers=sharing.records(),
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["state"] == "revoked"
    resp = await sharing.download(package["id"], headers)
    assert resp.status_code == 410
    assert len(await sharing.events("sharing.grant_revoked")) == 1
    assert await sharing.events("sharing.package_downloaded") == []

    request2, headers2 = await _approved(sharing, agency, client_reference="REF-2")
    package2 = (await sharing.build(request2["id"])).json()
    async with sharing.db.sessionmaker() as session:
        await session.execute(
            update(ReleasePackage)
            .where(ReleasePackage.id == package2["id"])
            .values(expires_at=now() - timedelta(seconds=1))
        )
        await session.commit()
    resp = await sharing.download(package2["id"], headers2)
    assert resp.status_code == 410
    assert "open until" in resp.json()["detail"]


async def test_ingest_down_means_retry_later_and_nothing_recorded(sharing):
    agency = await sharing.agency()
    request, _ = await _approved(sharing, agency)
    sharing.peers.down.add("ingest")
    resp = await sharing.build(request["id"])
    assert resp.status_code == 503
    assert resp.headers["Retry-After"]
    assert (await sharing.get(request["id"])).json()["status"] == "approved"
    assert await sharing.events("sharing.package_released") == []
    sharing.peers.down.clear()
    resp = await sharing.build(request["id"])
    assert resp.status_code == 201, resp.text
    assert len(await sharing.events("sharing.package_released")) == 1


async def test_package_built_only_for_an_approved_request(sharing):
    agency = await sharing.agency()
    request = await sharing.submitted(sharing.agency_client(agency["id"]))
    resp = await sharing.build(request["id"])
    assert resp.status_code == 409
    assert CASE
