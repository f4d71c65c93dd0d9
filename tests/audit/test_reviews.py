"""344.6(a): Risk Management's quarterly random audit. A seeded sample of the quarter's queries,
exports and shares that anyone can redraw from the log, never reviewed by the person who made
the query, and the reviewers' findings summarised for the report."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import timedelta

import pytest

QUARTER = "2026Q4"


def _export(ev, subject: str, minute: int) -> dict:
    return ev.event(
        "ingest.export",
        {
            "export_id": uuid.uuid4().hex,
            "hold_id": uuid.uuid4().hex,
            "case_number": "2026-0005555",
            "category": "criminal_investigation",
            "read_count": 3,
            "actor": subject,
            "purpose": "criminal_investigation",
            "reason": "case file for the burglary series",
        },
        subject=subject,
        time=ev.BASE_TIME + timedelta(minutes=minute),
    )


def _share(ev, minute: int) -> dict:
    return ev.event(
        "sharing.package_released",
        {
            "request_id": uuid.uuid4().hex,
            "kind": "agency_data",
            "requester_type": "law_enforcement",
            "agency_id": "agency-1",
            "package_id": uuid.uuid4().hex,
            "read_count": 2,
        },
        subject="user:atiu",
        time=ev.BASE_TIME + timedelta(minutes=minute),
    )


@pytest.fixture
async def quarter_log(ev, send) -> list[dict]:
    """Nine queries by three users, two exports, one share, and what is not in the population:
    a request without a purpose, a login, and a query from the quarter before."""
    events: list[dict] = []
    for i in range(9):
        req, resp = ev.gateway_pair(subject=f"user:{i % 3}", minute=i)
        events += [req, resp]
    no_purpose, no_purpose_resp = ev.gateway_pair(subject="user:0", minute=20)
    no_purpose["data"]["purpose"] = None
    events += [no_purpose, no_purpose_resp, ev.login_attempt()]
    events += [_export(ev, "user:1", 30), _export(ev, "user:2", 31), _share(ev, 32)]
    before, before_resp = ev.gateway_pair(subject="user:0", minute=-60 * 24 * 40)
    events += [before, before_resp]
    await send(events)
    return events


def _rm(tokens, subject: str) -> dict[str, str]:
    return tokens.headers("risk_management", subject=subject)


async def _population(client, auditor_headers) -> list[tuple[int, str]]:
    """The population recomputed from the log the way the docs tell an auditor to."""
    resp = await client.get(
        "/v1/log-entries",
        params={
            "order": "asc",
            "limit": 500,
            "since": "2026-10-01T00:00:00Z",
            "until": "2027-01-01T00:00:00Z",
        },
        headers=auditor_headers,
    )
    assert resp.status_code == 200, resp.text
    kinds = {
        "gateway.request": "query",
        "ingest.export": "export",
        "sharing.package_released": "share",
    }
    return [
        (e["seq"], kinds[e["type"]])
        for e in resp.json()["items"]
        if e["type"] in kinds and (e["type"] != "gateway.request" or e["data"].get("purpose"))
    ]


@pytest.mark.policy("344.6(a)")
async def test_sample_redraws_from_its_seed_and_the_log(
    client, tokens, auditor_headers, quarter_log
):
    resp = await client.post(
        "/v1/review-samples",
        json={"quarter": QUARTER, "seed": 20261, "sample_size": 5},
        headers=_rm(tokens, "user:rm1"),
    )

    assert resp.status_code == 201, resp.text
    sample = resp.json()
    population = await _population(client, auditor_headers)
    assert sample["population_size"] == len(population) == 12
    lines = "".join(f"{kind}:{seq}\n" for seq, kind in population)
    assert sample["population_digest"] == hashlib.sha256(lines.encode()).hexdigest()
    drawn = random.Random(20261).sample(range(len(population)), 5)
    assert [(i["log_seq"], i["kind"]) for i in sample["items"]] == [population[p] for p in drawn]
    assert [i["position"] for i in sample["items"]] == list(range(5))
    assert sample["seed"] == 20261 and sample["sample_size"] == 5


@pytest.mark.policy("344.6(a)")
async def test_redraw_from_the_log_finds_the_same_items_until_the_log_changes(
    client, tokens, quarter_log, ev, send
):
    sample = (
        await client.post(
            "/v1/review-samples",
            json={"quarter": QUARTER, "seed": 99, "sample_size": 4},
            headers=_rm(tokens, "user:rm1"),
        )
    ).json()
    url = f"/v1/review-samples/{sample['id']}/redraw"

    same = await client.get(url, headers=tokens.headers("city_auditor"))
    late, late_resp = ev.gateway_pair(subject="user:5", minute=50)
    await send([late, late_resp])
    changed = await client.get(url, headers=tokens.headers("city_auditor"))

    assert same.status_code == 200, same.text
    assert same.json()["same_population"] is True and same.json()["same_items"] is True
    assert same.json()["log_seqs"] == [i["log_seq"] for i in sample["items"]]
    assert same.json()["population_digest"] == sample["population_digest"]
    assert changed.json()["population_size"] == sample["population_size"] + 1
    assert changed.json()["same_population"] is False


@pytest.mark.policy("344.6(a)")
async def test_second_draw_for_the_same_quarter_is_refused(client, tokens, quarter_log):
    first = await client.post(
        "/v1/review-samples",
        json={"quarter": QUARTER, "sample_size": 3},
        headers=_rm(tokens, "user:rm1"),
    )
    assert first.status_code == 201, first.text
    assert 0 <= first.json()["seed"] < 2**63

    again = await client.post(
        "/v1/review-samples",
        json={"quarter": QUARTER, "sample_size": 3, "seed": 1},
        headers=_rm(tokens, "user:rm1"),
    )

    assert again.status_code == 409, again.text
    assert again.json()["clause"] == "344.6(a)"
    assert again.json()["sample_id"] == first.json()["id"]


@pytest.mark.policy("344.6(a)")
async def test_items_are_never_assigned_to_whoever_made_them(client, tokens, quarter_log):
    resp = await client.post(
        "/v1/review-samples",
        json={"quarter": QUARTER, "seed": 7, "sample_size": 12, "reviewers": ["user:0", "user:1"]},
        headers=_rm(tokens, "user:rm1"),
    )

    assert resp.status_code == 201, resp.text
    items = resp.json()["items"]
    assert len(items) == 12
    assert all(i["reviewer"] in ("user:0", "user:1") for i in items)
    assert all(i["reviewer"] != i["actor"] for i in items)
    by_user0 = next(i for i in items if i["actor"] == "user:0")

    refused = await client.put(
        f"/v1/review-items/{by_user0['id']}/assignment",
        json={"reviewer": "user:0"},
        headers=_rm(tokens, "user:rm1"),
    )

    assert refused.status_code == 409, refused.text
    assert refused.json()["clause"] == "344.6(a)"
    assert "344.6(a)" in refused.json()["detail"]


@pytest.mark.policy("344.6(a)")
async def test_only_the_assigned_reviewer_records_the_finding(client, tokens, quarter_log):
    sample = (
        await client.post(
            "/v1/review-samples",
            json={"quarter": QUARTER, "seed": 3, "sample_size": 12, "reviewers": ["user:rm2"]},
            headers=_rm(tokens, "user:rm1"),
        )
    ).json()
    item = next(i for i in sample["items"] if i["actor"] == "user:1")
    finding = {"finding": "compliant", "criminal_predicate": True}

    maker = await client.post(
        f"/v1/review-items/{item['id']}/finding", json=finding, headers=_rm(tokens, "user:1")
    )
    other = await client.post(
        f"/v1/review-items/{item['id']}/finding", json=finding, headers=_rm(tokens, "user:rm3")
    )
    auditor = await client.post(
        f"/v1/review-items/{item['id']}/finding",
        json=finding,
        headers=tokens.headers("city_auditor", subject="user:rm2"),
    )
    assigned = await client.post(
        f"/v1/review-items/{item['id']}/finding", json=finding, headers=_rm(tokens, "user:rm2")
    )

    assert maker.status_code == 403 and maker.json()["clause"] == "344.6(a)", maker.text
    assert other.status_code == 403 and other.json()["clause"] == "344.6(a)", other.text
    assert auditor.status_code == 403, auditor.text
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["finding"] == "compliant"
    assert assigned.json()["reviewed_by"] == "user:rm2"


@pytest.mark.policy("344.6(a)")
async def test_a_non_compliant_finding_needs_its_reason(client, tokens, quarter_log):
    sample = (
        await client.post(
            "/v1/review-samples",
            json={"quarter": QUARTER, "seed": 3, "sample_size": 1},
            headers=_rm(tokens, "user:rm1"),
        )
    ).json()
    item = sample["items"][0]

    resp = await client.post(
        f"/v1/review-items/{item['id']}/finding",
        json={"finding": "non_compliant", "criminal_predicate": False},
        headers=_rm(tokens, "user:rm1"),
    )

    assert resp.status_code == 422, resp.text
    assert "reason" in resp.text
    stored = await client.get(f"/v1/review-items/{item['id']}", headers=_rm(tokens, "user:rm1"))
    assert stored.json()["finding"] is None


@pytest.mark.policy("344.6(a)")
@pytest.mark.policy("344.4(a)7")
async def test_findings_are_summarised_for_the_quarter(client, tokens, quarter_log):
    sample = (
        await client.post(
            "/v1/review-samples",
            json={"quarter": QUARTER, "seed": 11, "sample_size": 4, "reviewers": ["user:rm9"]},
            headers=_rm(tokens, "user:rm1"),
        )
    ).json()
    items = sample["items"]
    rm9 = _rm(tokens, "user:rm9")
    findings = [
        {"finding": "compliant", "criminal_predicate": True},
        {"finding": "compliant", "criminal_predicate": True},
        {
            "finding": "non_compliant",
            "criminal_predicate": False,
            "reason": "reason given does not match the case (344.4(a)3)",
            "refer_for_investigation": True,
        },
    ]
    for item, body in zip(items, findings, strict=False):
        resp = await client.post(f"/v1/review-items/{item['id']}/finding", json=body, headers=rm9)
        assert resp.status_code == 200, resp.text
    retry = await client.post(
        f"/v1/review-items/{items[2]['id']}/finding", json=findings[2], headers=rm9
    )
    changed = await client.post(
        f"/v1/review-items/{items[2]['id']}/finding", json=findings[0], headers=rm9
    )

    summary = await client.get(
        "/v1/review-summaries",
        params={"quarter": QUARTER},
        headers=tokens.headers("city_auditor"),
    )

    assert retry.status_code == 200 and retry.json()["allegation_id"], retry.text
    assert changed.status_code == 409, changed.text
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert [s["id"] for s in body["samples"]] == [sample["id"]]
    assert (body["sampled"], body["assigned"], body["reviewed"]) == (4, 4, 3)
    assert (body["compliant"], body["non_compliant"]) == (2, 1)
    assert (body["criminal_predicate_present"], body["criminal_predicate_absent"]) == (2, 1)
    assert sum(k["sampled"] for k in body["by_kind"]) == 4
    [bad] = body["non_compliant_items"]
    assert (
        bad["item_id"] == items[2]["id"] and bad["allegation_id"] == retry.json()["allegation_id"]
    )
    allegation = await client.get(
        f"/v1/misuse-allegations/{bad['allegation_id']}", headers=tokens.headers("city_auditor")
    )
    assert allegation.status_code == 200, allegation.text
    assert allegation.json()["source"] == "random_audit"
    assert allegation.json()["alleged_subject"] == items[2]["actor"]
    assert allegation.json()["log_seq"] == items[2]["log_seq"]


@pytest.mark.policy("344.6(a)")
async def test_an_empty_quarter_draws_an_empty_sample(client, tokens, quarter_log):
    resp = await client.post(
        "/v1/review-samples",
        json={"quarter": "2025Q1", "seed": 5, "sample_size": 10},
        headers=_rm(tokens, "user:rm1"),
    )

    assert resp.status_code == 201, resp.text
    assert (resp.json()["population_size"], resp.json()["sample_size"]) == (0, 0)
    assert resp.json()["items"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"sample_size": 3},
        {"quarter": "2026Q5", "sample_size": 3},
        {"quarter": "9999Q4", "sample_size": 3},
        {"quarter": QUARTER, "start": "2026-10-01T00:00:00Z", "sample_size": 3},
        {"start": "2026-12-01T00:00:00Z", "end": "2026-10-01T00:00:00Z", "sample_size": 3},
        {"quarter": QUARTER, "sample_size": 0},
        {"quarter": QUARTER, "sample_size": 3, "extra": 1},
    ],
)
async def test_bad_sample_requests_are_refused_with_a_reason(client, tokens, body):
    resp = await client.post("/v1/review-samples", json=body, headers=_rm(tokens, "user:rm1"))

    assert resp.status_code == 422, resp.text
    assert resp.json()["detail"]
