"""Issue 13, defects 1 and 2 in process: multipart bodies of many (or huge) parts are refused
after a bounded amount of parsing, and deeply nested JSON is a 422, never a 500. The same bodies
go through the gateway to real processes in tests/e2e/test_hardening_e2e.py. XML that declares
entities is refused (defusedxml) in whatever encoding it comes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from alpr_common.errors import problem_type
from alpr_ingest import adapters
from alpr_ingest.adapters.base import MAX_PART_BYTES, MAX_PARTS
from alpr_ingest.adapters.errors import MalformedPayload, TooManyParts

FIXTURES = Path(__file__).parent / "fixtures"
XML = "application/xml"
RECEIVED = datetime(2025, 3, 14, 18, 31, 13, tzinfo=UTC)


def _many_parts(n: int) -> bytes:
    one = b'--B\r\nContent-Disposition: form-data; name="p%d"\r\n\r\nx\r\n'
    return b"".join(one % i for i in range(n)) + b"--B--\r\n"


NESTED = b'{"reads":' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize("fmt", ["hikvision", "platerecognizer", "axis"])
def test_many_tiny_parts_are_refused_after_the_first_few(fmt):
    with pytest.raises(TooManyParts, match=f"more than {MAX_PARTS} parts") as info:
        adapters.parse(
            fmt,
            content_type="multipart/form-data; boundary=B",
            body=_many_parts(200_000),
            received_at=datetime.now(UTC),
        )
    assert info.value.status_code == 413


def test_a_form_of_many_fields_is_refused_before_it_is_parsed():
    body = b"&".join(b"f%d=x" % i for i in range(200_000))
    with pytest.raises(TooManyParts, match="form fields"):
        adapters.parse(
            "platerecognizer",
            content_type="application/x-www-form-urlencoded",
            body=body,
            received_at=datetime.now(UTC),
        )


def test_a_part_larger_than_any_image_is_refused():
    body = (
        b'--B\r\nContent-Disposition: form-data; name="big"; filename="a.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n" + b"\xff" * (MAX_PART_BYTES + 10) + b"\r\n--B--\r\n"
    )
    with pytest.raises(TooManyParts, match="larger than"):
        adapters.parse(
            "hikvision",
            content_type="multipart/form-data; boundary=B",
            body=body,
            received_at=datetime.now(UTC),
        )


def test_part_headers_are_bounded():
    pad = b"".join(b"X-Pad-%d: " % i + b"a" * 3000 + b"\r\n" for i in range(4))
    body = b'--B\r\nContent-Disposition: form-data; name="x"\r\n' + pad
    body += b"\r\nx\r\n--B--\r\n"
    with pytest.raises(TooManyParts, match="bytes of headers"):
        adapters.parse(
            "hikvision",
            content_type="multipart/form-data; boundary=B",
            body=body,
            received_at=datetime.now(UTC),
        )


def test_real_multipart_messages_still_parse_part_by_part():
    raw = (FIXTURES / "hikvision_anpr_multipart.bin").read_bytes()
    boundary = raw.split(b"\r\n", 1)[0].strip()[2:].decode()
    result = adapters.parse(
        "hikvision",
        content_type=f"multipart/form-data; boundary={boundary}",
        body=raw,
        received_at=datetime.now(UTC),
    )
    assert result.reads and result.reads[0].image


@pytest.mark.parametrize("fmt", ["native", "openalpr", "frigate", "dahua", "genetec"])
def test_deeply_nested_json_is_malformed_not_a_recursion_error(fmt):
    with pytest.raises(MalformedPayload, match="nested too deeply"):
        adapters.parse(
            fmt, content_type="application/json", body=NESTED, received_at=datetime.now(UTC)
        )


async def test_hostile_bodies_through_the_routes_are_4xx_with_the_error_shape(ingest):
    camera = (await ingest.camera(vendor="hikvision"))["id"]
    headers = ingest.camera_client(camera)
    r = await ingest.client.post(
        "/v1/vendor-reads/hikvision",
        content=_many_parts(200_000),
        headers=headers | {"Content-Type": "multipart/form-data; boundary=B"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["type"] == problem_type("TooManyParts")
    assert r.json()["request_id"] == r.headers["x-request-id"]
    for route in ("/v1/reads", "/v1/vendor-reads/openalpr", "/v1/vendor-reads/frigate"):
        r = await ingest.client.post(
            route, content=NESTED, headers=headers | {"Content-Type": "application/json"}
        )
        assert r.status_code == 422, (route, r.text)
        assert r.json()["type"] == problem_type("MalformedPayload")
        assert "nested too deeply" in r.json()["detail"]
        assert r.json()["request_id"] == r.headers["x-request-id"]


def test_xml_entity_expansion_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;">]><EventNotificationAlert>&b;</EventNotificationAlert>'
    )
    with pytest.raises(MalformedPayload, match="forbidden XML feature"):
        adapters.parse("hikvision", content_type=XML, body=bomb, received_at=RECEIVED)


@pytest.mark.parametrize(
    "bomb",
    [
        # UTF-16 (expat detects it by itself, with or without a byte-order mark).
        '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        "<EventNotificationAlert>&a;</EventNotificationAlert>".encode("utf-16"),
        (
            '<!DOCTYPE x [<!ENTITY a "aaaa">]><EventNotificationAlert>&a;</EventNotificationAlert>'
        ).encode("utf-16-le"),
        # An external entity in a single-byte encoding the parser knows.
        b'<?xml version="1.0" encoding="ISO-8859-1"?><!DOCTYPE x [<!ENTITY a SYSTEM '
        b'"file:///etc/passwd">]><EventNotificationAlert>&a;</EventNotificationAlert>',
    ],
    ids=["utf-16", "utf-16-le-no-bom", "latin-1-external"],
)
def test_xml_entities_are_refused_in_any_encoding(bomb: bytes):
    with pytest.raises(MalformedPayload, match="forbidden XML feature"):
        adapters.parse("hikvision", content_type=XML, body=bomb, received_at=RECEIVED)


def test_undeclared_entity_is_malformed_not_expanded():
    # No DTD declares it: a reference to nothing, refused as such, never looked up.
    body = b"<EventNotificationAlert>&a;</EventNotificationAlert>"
    with pytest.raises(MalformedPayload, match="undefined entity"):
        adapters.parse("hikvision", content_type=XML, body=body, received_at=RECEIVED)
