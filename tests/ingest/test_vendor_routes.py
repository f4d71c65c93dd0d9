"""Every vendor fixture (the shared examples and our own variants) through the HTTP routes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alpr_common.errors import AppError
from alpr_ingest import adapters
from alpr_ingest.adapters import ParseOptions
from tests.helpers.ingest import NOW

FIXTURES = Path(__file__).parent / "fixtures"
FALLBACK_CAMERA = "fixture-cam"
SKIP = {"tiny.jpg"}


def _fixtures() -> list[Path]:
    return sorted(
        p
        for p in FIXTURES.rglob("*")
        if p.is_file() and p.name not in SKIP and p.suffix in (".json", ".xml", ".bin", ".txt")
    )


def _content_type(path: Path, raw: bytes) -> str:
    if path.suffix == ".xml":
        return "application/xml"
    if path.suffix == ".txt":
        return "application/x-www-form-urlencoded"
    if path.suffix == ".bin":
        boundary = raw.split(b"\r\n", 1)[0].strip()[2:].decode()
        return f"multipart/form-data; boundary={boundary}"
    return "application/json"


def _parse(fmt: str, content_type: str, raw: bytes, at):
    return adapters.parse(
        fmt,
        content_type=content_type,
        body=raw,
        received_at=at,
        options=ParseOptions(camera_key=FALLBACK_CAMERA),
    )


def test_every_fixture_format_is_known():
    for path in _fixtures():
        assert path.name.split("_", 1)[0] in adapters.FORMATS, path.name


@pytest.mark.policy("344.2(a)")
@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: str(p.relative_to(FIXTURES)))
async def test_fixture_ingests_through_its_vendor_route(ingest, path):
    fmt = path.name.split("_", 1)[0]
    raw = path.read_bytes()
    content_type = _content_type(path, raw)
    at = NOW
    try:
        expected = _parse(fmt, content_type, raw, at)
        times = [r.captured_at for r in expected.reads]
        if times and (
            max(times) > at + timedelta(minutes=4) or min(times) < at - timedelta(days=29)
        ):
            # A capture from another day: replay it as if received a minute after it was taken.
            at = max(times) + timedelta(minutes=1)
            expected = _parse(fmt, content_type, raw, at)
        error = None
    except AppError as exc:
        expected, error = None, exc
    ingest.clock.now = at
    keys = {FALLBACK_CAMERA}
    if expected is not None:
        keys |= {r.camera for r in expected.reads} | {h.camera for h in expected.heartbeats}
    for key in sorted(keys):
        await ingest.camera(
            keys=() if key == FALLBACK_CAMERA else (key,),
            vendor=fmt,
            camera_id=FALLBACK_CAMERA if key == FALLBACK_CAMERA else None,
        )
    url = f"/v1/vendor-reads/{fmt}" if fmt != "native" else "/v1/reads"
    params = {"camera": FALLBACK_CAMERA} if fmt != "native" else {}
    resp = await ingest.client.post(
        url,
        params=params,
        content=raw,
        headers={**ingest.camera_client(), "Content-Type": content_type},
    )
    if error is not None:
        assert resp.status_code == error.status_code, resp.text
        assert resp.json()["type"] == type(error).type_uri()
        return
    assert resp.status_code == 200, resp.text
    body = resp.json()
    if expected.ack is not None:
        assert body == expected.ack
        return
    assert body["stored"] + body["updated"] + body["duplicate"] == len(expected.reads), body
    assert body["rejected"] == len(expected.rejected), body["rejections"]
    assert body["heartbeats"] == len(expected.heartbeats)
    assert body["ignored"] == len(expected.ignored)
    if expected.reads:
        found = await ingest.search(plate=expected.reads[0].plate)
        assert found.json()["total"] >= 1
