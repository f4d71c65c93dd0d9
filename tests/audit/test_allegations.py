"""344.4(a)7: alleged misuse is recorded by anyone with access, assigned, investigated under
GO 902 (its case number linked) and closed with a finding and any access consequence; the
quarter's allegations are counted for the report."""

from __future__ import annotations

import pytest

SUMMARY = "officer ran a plate of a former partner with no case (personal use)"


def _rm(tokens, subject: str = "user:rm1") -> dict[str, str]:
    return tokens.headers("risk_management", subject=subject)


async def _report(client, tokens, role: str = "officer", **extra) -> dict:
    resp = await client.post(
        "/v1/misuse-allegations",
        json={"summary": SUMMARY, "alleged_subject": "user:77", **extra},
        headers=tokens.headers(role, subject="user:reporter"),
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.mark.policy("344.4(a)7")
@pytest.mark.parametrize("role", ["officer", "rtcc_operator", "supervisor", "risk_management"])
async def test_anyone_with_access_reports_misuse(client, tokens, role):
    allegation = await _report(client, tokens, role, log_seq=12)

    assert allegation["status"] == "open" and allegation["source"] == "report"
    assert allegation["reported_by"] == "user:reporter" and allegation["log_seq"] == 12
    listed = await client.get("/v1/misuse-allegations", headers=tokens.headers("city_auditor"))
    assert [a["id"] for a in listed.json()["items"]] == [allegation["id"]]


@pytest.mark.policy("344.4(a)7")
@pytest.mark.parametrize("role", ["camera", "agency", "service", "city_auditor"])
async def test_machines_and_the_city_auditor_do_not_file_allegations(client, tokens, role):
    resp = await client.post(
        "/v1/misuse-allegations", json={"summary": SUMMARY}, headers=tokens.headers(role)
    )

    assert resp.status_code == 403, resp.text


@pytest.mark.policy("344.4(a)7")
async def test_allegation_is_tracked_to_a_go902_finding(client, tokens):
    allegation = await _report(client, tokens)
    url = f"/v1/misuse-allegations/{allegation['id']}"

    to_subject = await client.put(
        f"{url}/assignment", json={"assignee": "user:77"}, headers=_rm(tokens)
    )
    assigned = await client.put(
        f"{url}/assignment", json={"assignee": "user:ia5"}, headers=_rm(tokens)
    )
    early = await client.post(f"{url}/finding", json={"finding": "sustained"}, headers=_rm(tokens))
    linked = await client.put(
        f"{url}/go902-case", json={"go902_case": "IA-2026-0042"}, headers=_rm(tokens)
    )
    closed = await client.post(
        f"{url}/finding",
        json={
            "finding": "sustained",
            "notes": "queries without a case; see GO 902 file",
            "access_consequence": "access_revoked",
        },
        headers=_rm(tokens),
    )
    retry = await client.post(
        f"{url}/finding",
        json={"finding": "sustained", "access_consequence": "access_revoked"},
        headers=_rm(tokens),
    )
    reopened = await client.put(
        f"{url}/assignment", json={"assignee": "user:ia6"}, headers=_rm(tokens)
    )

    assert to_subject.status_code == 409 and to_subject.json()["clause"] == "344.4(a)7"
    assert assigned.status_code == 200 and assigned.json()["status"] == "assigned"
    assert early.status_code == 409 and "GO 902" in early.json()["detail"]
    assert linked.status_code == 200 and linked.json()["go902_case"] == "IA-2026-0042"
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["finding"], body["access_consequence"]) == (
        "closed",
        "sustained",
        "access_revoked",
    )
    assert body["closed_by"] == "user:rm1"
    assert retry.status_code == 200
    assert reopened.status_code == 409


@pytest.mark.policy("344.4(a)7")
async def test_quarter_counts_allegations_by_state_and_finding(client, tokens):
    closed = await _report(client, tokens)
    await _report(client, tokens)
    assigned = await _report(client, tokens)
    url = f"/v1/misuse-allegations/{closed['id']}"
    for method, path, body in [
        ("PUT", "assignment", {"assignee": "user:ia5"}),
        ("PUT", "go902-case", {"go902_case": "IA-2026-7"}),
        ("POST", "finding", {"finding": "not_sustained"}),
    ]:
        resp = await client.request(method, f"{url}/{path}", json=body, headers=_rm(tokens))
        assert resp.status_code == 200, resp.text
    resp = await client.put(
        f"/v1/misuse-allegations/{assigned['id']}/assignment",
        json={"assignee": "user:ia5"},
        headers=_rm(tokens),
    )
    assert resp.status_code == 200

    summary = await client.get(
        "/v1/misuse-allegation-summaries",
        params={"start": "2000-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"},
        headers=tokens.headers("city_auditor"),
    )
    earlier = await client.get(
        "/v1/misuse-allegation-summaries",
        params={"quarter": "2001Q1"},
        headers=tokens.headers("city_auditor"),
    )

    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert (body["reported"], body["open"], body["assigned"], body["closed"]) == (3, 1, 1, 1)
    assert body["linked_to_go902"] == 1 and body["from_random_audit"] == 0
    assert body["by_finding"] == [{"key": "not_sustained", "count": 1}]
    assert body["by_access_consequence"] == [{"key": "none", "count": 1}]
    assert earlier.json()["reported"] == 0


@pytest.mark.policy("344.4(a)7")
@pytest.mark.parametrize(
    "body",
    [{}, {"summary": "short"}, {"summary": SUMMARY, "log_seq": 0}, {"summary": SUMMARY, "x": 1}],
)
async def test_bad_allegations_are_refused(client, tokens, body):
    resp = await client.post("/v1/misuse-allegations", json=body, headers=tokens.headers("officer"))

    assert resp.status_code == 422, resp.text
    listed = await client.get("/v1/misuse-allegations", headers=tokens.headers("city_auditor"))
    assert listed.json()["total"] == 0


async def test_unknown_allegation_is_not_found(client, tokens):
    resp = await client.put(
        f"/v1/misuse-allegations/{'0' * 32}/go902-case",
        json={"go902_case": "IA-1"},
        headers=_rm(tokens),
    )

    assert resp.status_code == 404, resp.text
