"""Issue 13 at the gateway: protected-attribute parameters however spelled (defect 8), headers
bounded (431), `date`/`server` not relayed twice, X-Forwarded-For read only through trusted proxy
hops, and the live check refusing revoked tokens (defect 5)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from jose import jwt

from alpr_common.errors import problem_type
from alpr_common.roles import Role
from alpr_common.testing.plugin import PURPOSE_HEADERS
from alpr_gateway.proxy import client_address, request_target


@pytest.mark.policy("344.4(a)1")
@pytest.mark.parametrize("raw", ["race%00=x", "ra%63e=x", "RACE=x", "race%20=x", "race[]=x"])
async def test_protected_attribute_spellings_are_refused_and_logged(
    client, tokens, directory, logged, raw
):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get(f"/v1/ingest/reads?plate=A&{raw}", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 403, r.text
    assert r.json()["clause"] == "344.4(a)1"
    events = await logged()
    assert [e["type"] for e in events] == ["gateway.request", "gateway.response"]
    assert events[1]["data"]["status"] == 403


async def test_oversized_headers_are_refused_with_431(client, tokens, directory):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    big = {"X-Padding": "a" * (40 * 1024)}
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS | big)
    assert r.status_code == 431, r.text
    assert r.json()["type"] == problem_type("HeadersTooLarge")
    assert r.json()["request_id"] == r.headers["x-request-id"]


async def test_upstream_date_and_server_headers_are_not_relayed(client, app, upstream):
    @upstream.get("/v1/with-server-headers")
    async def with_headers():  # type: ignore[no-untyped-def]
        from fastapi.responses import JSONResponse

        return JSONResponse(
            {"ok": True},
            headers={"server": "uvicorn", "date": "Sat, 05 Dec 2026 11:00:00 GMT"},
        )

    # The route table comes from the upstream's OpenAPI: reload it with the new route.
    from alpr_gateway.main import load_routes

    upstream.openapi_schema = None
    await load_routes(app, app.state.upstream, once=True)
    r = await client.get("/v1/ingest/with-server-headers")
    assert r.status_code == 200, r.text
    assert "server" not in r.headers and "date" not in r.headers


async def test_an_unchanged_route_document_is_not_read_again(client, app, upstream):
    """The route table is refreshed every GATEWAY_ROUTE_REFRESH_SECONDS; a service whose
    document has not changed costs the fetch only, not a parse and a merge on the gateway's
    loop. A changed one is read again."""
    from alpr_gateway.main import load_routes

    table = app.state.routes
    read: list[str] = []
    load = table.load

    def counting(service: str, schema: dict[str, object]) -> None:
        read.append(service)
        load(service, schema)

    table.load = counting
    await load_routes(app, app.state.upstream, once=True)
    assert read == []

    @upstream.get("/v1/added-later")
    async def added() -> dict[str, bool]:
        return {"ok": True}

    upstream.openapi_schema = None
    await load_routes(app, app.state.upstream, once=True)
    assert "ingest" in read  # (here one app answers for every service)
    assert (await client.get("/v1/ingest/added-later")).status_code != 404
    read.clear()
    await load_routes(app, app.state.upstream, once=True)
    assert read == []


NETS = (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),  # not from a proxy: ignored
        ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),  # the ingress's hop
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),  # a forged left entry
        ("10.1.2.3", ["6.6.6.6", "198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # two proxies
        ("10.1.2.3", ["not-an-ip"], "10.1.2.3"),
        ("10.1.2.3", [], "10.1.2.3"),
    ],
)
def test_forwarded_for_is_read_only_through_trusted_hops(peer, xff, expected):
    assert client_address(peer, xff, NETS) == expected


async def test_forwarded_for_from_an_untrusted_peer_is_not_logged_as_the_source(
    client, tokens, directory, logged
):
    _, auth = directory.person(tokens, Role.INVESTIGATOR)
    await client.get(
        "/v1/ingest/reads",
        headers=auth | PURPOSE_HEADERS | {"X-Forwarded-For": "6.6.6.6"},
    )
    request = (await logged())[0]["data"]
    assert request["source_address"] != "6.6.6.6"


async def test_revoked_and_signed_out_tokens_are_refused(client, tokens, directory):
    subject, auth = directory.person(tokens, Role.INVESTIGATOR)
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 200, r.text
    jti = jwt.get_unverified_claims(auth["Authorization"].split()[1])["jti"]
    directory.status[subject]["revoked_token_ids"] = [jti]
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 401 and "signed out" in r.json()["detail"]
    directory.status[subject]["revoked_token_ids"] = []
    later = datetime.now(UTC) + timedelta(seconds=2)
    directory.status[subject]["tokens_valid_after"] = later.isoformat()
    r = await client.get("/v1/ingest/reads", headers=auth | PURPOSE_HEADERS)
    assert r.status_code == 401 and "revoked" in r.json()["detail"]


@pytest.mark.policy("344.4(d)")
async def test_outcome_lost_to_a_dropped_spool_connection_is_recorded_on_retry(
    client, app, upstream, logged, tmp_path
):
    """Defect 7: the spool's connection drops after the request is on record; its outcome is
    written again on a fresh connection instead of leaving a request without a response."""
    from alpr_common.db import Database
    from alpr_gateway.main import load_routes

    real = app.state.db
    broken = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'gone' / 'spool.db'}")
    app.state.gateway.translog.OUTCOME_LINGER_SECONDS = 0  # the outcome is written at once

    @upstream.get("/v1/drop-the-spool")
    async def drop() -> dict[str, bool]:
        app.state.db = broken  # the database goes away while the request is being served
        return {"ok": True}

    upstream.openapi_schema = None
    await load_routes(app, app.state.upstream, once=True)
    try:
        r = await client.get("/v1/ingest/drop-the-spool")
        assert r.status_code == 200, r.text
    finally:
        app.state.db = real
        await broken.dispose()
    events = await logged()
    assert [e["type"] for e in events] == ["gateway.request", "gateway.response"]
    assert events[0]["data"]["request_id"] == events[1]["data"]["request_id"]
    assert app.state.gateway.translog.outcomes_given_up == 0


@pytest.mark.parametrize(
    ("prefix", "path", "query", "target"),
    [
        (b"", "/v1/reads", b"plate=ABC123&limit=5", b"/v1/reads?plate=ABC123&limit=5"),
        (b"/base", "/v1/a b", b"", b"/base/v1/a%20b"),
        (b"", "/v1/x", b"q=a b\xc3\xa9%41\x7f", b"/v1/x?q=a%20b%C3%A9%41%7F"),
        (b"", "/v1/x", b"q=\r\nGET / HTTP/1.1", b"/v1/x?q=%0D%0AGET%20/%20HTTP/1.1"),
    ],
)
def test_the_target_sent_to_a_service_is_a_valid_url(prefix, path, query, target):
    """Raw bytes a server let into the query (a space, a byte outside ASCII, a line break) are
    percent-encoded, and what was already encoded stays as it was."""
    assert request_target(prefix, path, query) == target


async def test_path_parameter_with_control_and_non_ascii_characters_is_forwarded(client):
    """The gateway forwards the path it matched, encoded again: a decoded control character or
    letter outside ASCII reaches the service as sent (a 500 at the gateway before)."""
    r = await client.get("/v1/ingest/echoes/a%0Cb%C3%A9%25%3F")
    assert r.status_code == 200, r.text
    assert r.json() == {"value": "a\x0cbé%?"}
