"""Auditors read the log and the transactions (344.6(c)); reading needs a purpose, since the
log holds queries that may name plates (344.4(a)3); First Amendment queries can be pulled out
for review (344.4(a)4)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alpr_common.errors import problem_type

READERS = ["city_auditor", "risk_management", "chief_security_officer"]
REFUSED = ["officer", "investigator", "camera", "rtcc_operator", "agency"]
READ_ROUTES = ["/v1/log-entries", "/v1/transactions", "/v1/log-entries/1"]


@pytest.fixture
async def traffic(ev, send) -> dict:
    """Three transactions (one refused, one First-Amendment flagged), a request whose outcome is
    not logged yet, and a login attempt."""
    ok_req, ok_resp = ev.gateway_pair(subject="user:7", minute=0)
    refused_req, refused_resp = ev.gateway_pair(
        subject="user:8", status=403, minute=5, purpose="criminal_investigation"
    )
    fa_req, fa_resp = ev.gateway_pair(subject="user:7", flags=["first_amendment"], minute=10)
    pending_req, _ = ev.gateway_pair(subject="user:9", minute=15)
    login = ev.login_attempt()
    await send([ok_req, ok_resp, refused_req, refused_resp, fa_req, fa_resp, pending_req, login])
    return {
        "ok": ok_req,
        "refused": refused_req,
        "fa": fa_req,
        "pending": pending_req,
        "login": login,
    }


def _headers(tokens, role: str, audit_purpose: dict[str, str]) -> dict[str, str]:
    return {**tokens.headers(role), **audit_purpose}


@pytest.mark.policy("344.6(c)")
@pytest.mark.parametrize("role", READERS)
async def test_auditors_read_the_log_and_transactions(client, tokens, audit_purpose, traffic, role):
    headers = _headers(tokens, role, audit_purpose)
    entries = await client.get("/v1/log-entries", headers=headers)
    assert entries.status_code == 200, entries.text
    body = entries.json()
    assert [e["seq"] for e in body["items"]] == list(range(8, 0, -1))
    assert body["next"] is None and body["total"] is None  # the log is not counted

    txs = await client.get("/v1/transactions", headers=headers)
    assert txs.status_code == 200, txs.text
    assert len(txs.json()["items"]) == 4


@pytest.mark.policy("344.6(c)")
@pytest.mark.parametrize("role", REFUSED)
@pytest.mark.parametrize(
    "path", [*READ_ROUTES, "/v1/log-verifications", "/v1/checkpoints", "/v1/checkpoint-keys"]
)
async def test_other_roles_are_refused(client, tokens, audit_purpose, role, path):
    resp = await client.get(path, headers=_headers(tokens, role, audit_purpose))
    assert resp.status_code == 403
    assert resp.json()["type"] == problem_type("Forbidden")


@pytest.mark.policy("344.6(c)")
@pytest.mark.parametrize("path", READ_ROUTES)
async def test_reading_the_log_without_a_purpose_is_refused(client, tokens, traffic, path):
    resp = await client.get(path, headers=tokens.headers("city_auditor"))
    assert resp.status_code == 422
    assert "x-alpr-purpose" in resp.json()["detail"].lower()


@pytest.mark.policy("344.6(c)")
async def test_reading_the_log_for_a_prohibited_purpose_is_refused(client, tokens, audit_purpose):
    headers = {
        **_headers(tokens, "city_auditor", audit_purpose),
        "X-ALPR-Purpose": "revenue_collection",
    }
    resp = await client.get("/v1/log-entries", headers=headers)
    assert resp.status_code == 403


@pytest.mark.policy("344.6(c)")
async def test_unauthenticated_reads_are_refused(client, audit_purpose):
    resp = await client.get("/v1/log-entries", headers=audit_purpose)
    assert resp.status_code == 401


@pytest.mark.policy("344.6(c)")
async def test_transactions_join_each_request_with_its_outcome(
    client, tokens, audit_purpose, traffic
):
    headers = _headers(tokens, "risk_management", audit_purpose)
    body = (await client.get("/v1/transactions", params={"order": "asc"}, headers=headers)).json()
    by_id = {t["request_id"]: t for t in body["items"]}
    ok = by_id[traffic["ok"]["data"]["request_id"]]
    assert ok["method"] == "GET" and ok["path"] == "/v1/ingest/reads"
    assert ok["query"] == "plate=ABC1234"
    assert ok["subject"] == "user:7" and ok["roles"] == ["investigator"]
    assert ok["purpose"] == "criminal_investigation" and ok["case_number"] == "2026-0001234"
    assert ok["reason"].startswith("burglary")
    assert ok["status"] == 200 and ok["latency_ms"] == 12.5 and ok["bytes"] == 512
    assert ok["request_seq"] == 1 and ok["response_seq"] == 2
    refused = by_id[traffic["refused"]["data"]["request_id"]]
    assert refused["status"] == 403 and refused["refused_reason"] == "refused"
    pending = by_id[traffic["pending"]["data"]["request_id"]]
    assert pending["status"] is None and pending["response_seq"] is None

    four = (
        await client.get("/v1/transactions", params={"status_class": "4xx"}, headers=headers)
    ).json()
    assert [t["request_id"] for t in four["items"]] == [traffic["refused"]["data"]["request_id"]]
    mine = (
        await client.get("/v1/transactions", params={"subject": "user:7"}, headers=headers)
    ).json()
    assert len(mine["items"]) == 2


@pytest.mark.policy("344.6(c)")
async def test_log_entry_filters(client, tokens, audit_purpose, traffic, ev):
    headers = _headers(tokens, "city_auditor", audit_purpose)

    async def seqs(**params) -> list[int]:
        resp = await client.get(
            "/v1/log-entries", params={"order": "asc", **params}, headers=headers
        )
        assert resp.status_code == 200, resp.text
        return [e["seq"] for e in resp.json()["items"]]

    assert await seqs(type="gateway.response") == [2, 4, 6]
    assert await seqs(type="access.*") == [8]
    assert await seqs(source="access") == [8]
    assert await seqs(subject="user:8") == [3, 4]
    assert await seqs(request_id=traffic["fa"]["data"]["request_id"]) == [5, 6]
    assert await seqs(status_class="4xx") == [4]
    assert await seqs(status_class="2xx", type="gateway.response") == [2, 6]
    start = ev.BASE_TIME + timedelta(minutes=5)
    assert await seqs(
        since=start.isoformat(), until=(start + timedelta(minutes=6)).isoformat()
    ) == [3, 4, 5, 6]
    # Pages follow `next` (keyset on seq), in either order, filters kept.
    for order, want in (
        ("asc", [[1, 2, 3], [4, 5, 6], [7, 8]]),
        ("desc", [[8, 7, 6], [5, 4, 3], [2, 1]]),
    ):
        url, got = f"/v1/log-entries?order={order}&limit=3", []
        while url:
            page = (await client.get(url, headers=headers)).json()
            got.append([e["seq"] for e in page["items"]])
            url = page["next"] and f"/v1/log-entries{page['next']}"
        assert got == want, order
    gw = (
        await client.get(
            "/v1/log-entries", params={"type": "gateway.*", "limit": 2}, headers=headers
        )
    ).json()
    rest = (await client.get(f"/v1/log-entries{gw['next']}", headers=headers)).json()
    assert [e["seq"] for e in rest["items"]] == [5, 4]


@pytest.mark.policy("344.6(c)")
async def test_one_entry_by_seq(client, tokens, audit_purpose, traffic):
    headers = _headers(tokens, "city_auditor", audit_purpose)
    entry = (await client.get("/v1/log-entries/8", headers=headers)).json()
    assert entry["type"] == "access.login_attempt"
    assert entry["data"]["outcome"] == "failure"
    missing = await client.get("/v1/log-entries/99", headers=headers)
    assert missing.status_code == 404 and missing.json()["type"] == problem_type("LogEntryNotFound")


@pytest.mark.policy("344.6(c)")
async def test_unknown_filters_and_naive_times_are_refused(client, tokens, audit_purpose):
    headers = _headers(tokens, "city_auditor", audit_purpose)
    for params in (
        {"plate": "ABC1234"},
        {"since": "2026-11-02T14:00:00"},
        {"limit": 501},
        {"page_size": 10},
        {"cursor": "x" * 600},
        {"flag": "First Amendment"},
    ):
        resp = await client.get("/v1/log-entries", params=params, headers=headers)
        assert resp.status_code == 422, params


@pytest.mark.policy("344.4(a)4")
async def test_first_amendment_queries_can_be_pulled_for_review(
    client, tokens, audit_purpose, traffic
):
    headers = _headers(tokens, "chief_security_officer", audit_purpose)
    rid = traffic["fa"]["data"]["request_id"]
    txs = (
        await client.get("/v1/transactions", params={"flag": "first_amendment"}, headers=headers)
    ).json()
    assert [t["request_id"] for t in txs["items"]] == [rid]
    assert txs["items"][0]["flags"] == ["first_amendment"]
    entries = (
        await client.get("/v1/log-entries", params={"flag": "first_amendment"}, headers=headers)
    ).json()
    assert [e["seq"] for e in entries["items"]] == [5]
    none = (await client.get("/v1/transactions", params={"flag": "first"}, headers=headers)).json()
    assert none["items"] == []
