"""Issue 19 item 1 end to end: after a short real workload through the gateway (logins, a camera
posting native and vendor reads, a hot list that matches some of them), every service's
`/metrics`, scraped on its own port as Prometheus scrapes a pod, holds the named series with the
values the workload implies: reads stored equal reads posted, alerts created equal hits, tokens
issued and refused counted. On PostgreSQL ingest runs two workers, whose counts are summed.
`/metrics` is never reachable through the gateway's public routes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from alpr_common.suite import SERVICES, Suite
from tests.helpers.e2e import PASSWORD, create_person, eventually, login, record_training
from tests.helpers.metrics import Samples, has, label_values, parse, value

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


CSO_PASSWORD = "copper-lantern-meadow-42"
CAMERA = "e2e-metrics-cam-1"
# Plates far apart and reads minutes apart: near-identical plates read moments apart on one
# camera are one vehicle pass, merged by ingest.
HOT = ["MKR4710", "QXB2938", "PLV8153"]
COLD = ["ZTD1942", "HWN5518", "BCJ7073", "JDK3346", "VYE9021"]


def scrape(suite: Suite, service: str) -> Samples:
    r = httpx.get(f"{suite.url(service)}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text)


def scrape_all(suite: Suite) -> dict[str, Samples]:
    return {svc: scrape(suite, svc) for svc in SERVICES}


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_every_service_reports_the_workload(suite: Suite, gateway: httpx.Client):
    before = scrape_all(suite)

    # People: a CSO (password grant), one refused login, an admin and a hot-list manager.
    out = suite.command(
        "access",
        "create-cso",
        "--username",
        "cso-metrics",
        "--full-name",
        "Metrics CSO",
        "--badge",
        "9191",
        "--password-stdin",
        "--allow-additional",
        input_text=CSO_PASSWORD + "\n",
    )
    cso_totp = json.loads(out)["totp_secret"]
    refused = gateway.post(
        "/v1/access/token",
        data={"grant_type": "password", "username": "cso-metrics", "password": "wrong-one-1"},
    )
    assert refused.status_code in (400, 401), refused.text
    cso = login(gateway, "cso-metrics", CSO_PASSWORD, cso_totp)
    people = {
        "mt-trainer": "training_coordinator",
        "mt-admin": "admin",
        "mt-manager": "hotlist_manager",
    }
    made = {u: create_person(gateway, cso, u, role) for u, role in people.items()}
    # One login each (a TOTP code is taken once), after the training it must carry.
    tokens = {"mt-trainer": login(gateway, "mt-trainer", PASSWORD, made["mt-trainer"]["totp"])}
    for username in ("mt-admin", "mt-manager"):
        record_training(
            gateway,
            tokens["mt-trainer"],
            made[username]["id"],
            datetime.now(UTC) - timedelta(days=1),
        )
        tokens[username] = login(gateway, username, PASSWORD, made[username]["totp"])

    # A camera with an ingest key, and a hot list holding the HOT plates.
    r = gateway.post(
        "/v1/ingest/cameras",
        headers=tokens["mt-admin"],
        json={
            "id": CAMERA,
            "name": "Metrics pole at 6th and Lamar",
            "vendor": "platerecognizer",
            "camera_type": "trailer",
            "location": {"lat": 30.2700, "lon": -97.7530},
        },
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/clients",
        headers=cso,
        json={"name": "e2e metrics camera", "kind": "camera", "cameras": [CAMERA]},
    )
    assert r.status_code == 201, r.text
    r = gateway.post(
        "/v1/access/ingest-keys",
        headers=cso,
        json={"client_id": r.json()["client"]["id"], "label": "metrics"},
    )
    assert r.status_code == 201, r.text
    camera = {"X-ALPR-Ingest-Key": r.json()["key"]}
    manager = tokens["mt-manager"]
    r = gateway.post(
        "/v1/hotlist/hotlists",
        headers=manager,
        json={"name": "E2E metrics list", "source": "ncic", "import_format": "canonical"},
    )
    assert r.status_code == 201, r.text
    rows = ["plate,state,list_type,list_code,reason,ncic_number,ori,entry_date,source"]
    rows += [
        f"{p},TX,stolen_vehicle,V,Stolen vehicle,V8{n:08d},TX2279900,2026-11-01,NCIC"
        for n, p in enumerate(HOT)
    ]
    r = gateway.post(
        "/v1/hotlist/hotlist-imports",
        params={"hotlist_id": r.json()["id"]},
        content=("\n".join(rows) + "\n").encode(),
        headers={**manager, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    # The new entries' back-match (against reads already stored) has run before these reads
    # come; each read and entry makes one hit whichever path finds it.
    time.sleep(1.0)

    # Reads: a native batch (every plate once, plus one for an unknown camera), the same batch
    # again (all duplicates), and one vendor message.
    now = datetime.now(UTC)
    native = [
        {"plate": p, "captured_at": (now - timedelta(minutes=3 * n)).isoformat(), "camera": CAMERA}
        for n, p in enumerate([*HOT, *COLD[:-1]])
    ]
    batch = {"reads": [*native, {**native[-1], "camera": "no-such-camera"}]}
    for _ in range(2):
        r = gateway.post("/v1/ingest/reads", json=batch, headers=camera)
        assert r.status_code in (200, 201), r.text
    assert r.json()["duplicate"] == len(native) and r.json()["rejected"] == 1, r.text
    vendor = {
        "hook": {"target": "https://alpr.example.gov/ingest", "id": 5, "event": "image.done"},
        "data": {
            "timestamp": now.isoformat(),
            "camera_id": CAMERA,
            "results": [{"plate": COLD[-1].lower(), "region": {"code": "us-tx"}, "score": 0.9}],
        },
    }
    r = gateway.post("/v1/ingest/vendor-reads/platerecognizer", json=vendor, headers=camera)
    assert r.status_code in (200, 201), r.text
    posted = len(native) + 1

    # A request straight to sharing (refused there: no token) shows in its own series.
    assert httpx.get(f"{suite.url('sharing')}/v1/agencies", timeout=10).status_code == 401
    # Twenty requests to ingest, each on a new connection: on PostgreSQL the kernel spreads them
    # over its two workers, and one scrape of either reports all twenty.
    for _ in range(20):
        assert httpx.get(f"{suite.url('ingest')}/v1/cameras", timeout=10).status_code == 401

    def alerts_in() -> Samples | None:
        hotlist = scrape(suite, "hotlist")
        created = grew(before["hotlist"], hotlist, "alpr_hotlist_alerts_created_total")
        return hotlist if created >= len(HOT) else None

    hotlist = eventually(alerts_in)
    after = scrape_all(suite)
    after["hotlist"] = hotlist
    b, a = before, after

    # ingest: every read counted once, by format and outcome, summed over its workers.
    assert grew(b["ingest"], a["ingest"], "alpr_ingest_reads_total", outcome="stored") == posted
    assert (
        grew(b["ingest"], a["ingest"], "alpr_ingest_reads_total", format="native", outcome="stored")
        == posted - 1
    )
    assert grew(b["ingest"], a["ingest"], "alpr_ingest_reads_total", format="platerecognizer") == 1
    assert grew(b["ingest"], a["ingest"], "alpr_ingest_reads_total", outcome="duplicate") == len(
        native
    )
    assert grew(b["ingest"], a["ingest"], "alpr_ingest_reads_rejected_total", reason="camera") == 2
    posts = grew(
        b["ingest"],
        a["ingest"],
        "alpr_http_requests_total",
        method="POST",
        route="/v1/reads",
        status="200",
    ) + grew(
        b["ingest"],
        a["ingest"],
        "alpr_http_requests_total",
        method="POST",
        route="/v1/reads",
        status="201",
    )
    assert posts == 2
    assert (
        grew(
            b["ingest"], a["ingest"], "alpr_http_requests_total", route="/v1/cameras", status="401"
        )
        == 20
    )
    assert value(a["ingest"], "alpr_ingest_cameras", status="active") >= 1
    assert value(a["ingest"], "alpr_ingest_retention_seconds") == 30 * 86400
    assert 0 <= value(a["ingest"], "alpr_ingest_oldest_read_age_seconds") <= 30 * 86400
    # In dev the purge runs in process at startup (in each worker).
    assert value(a["ingest"], "alpr_ingest_purge_runs_total", outcome="ok") >= 1
    assert value(a["ingest"], "alpr_ingest_purge_duration_seconds_count") >= 1

    # gateway: the same posts under the public route template; nothing with a plate in it.
    gw_posts = sum(
        grew(
            b["gateway"],
            a["gateway"],
            "alpr_http_requests_total",
            method="POST",
            route="/v1/ingest/reads",
            status=status,
        )
        for status in ("200", "201")
    )
    assert gw_posts == 2
    for samples in a.values():
        for route in label_values(samples, "alpr_http_requests_total", "route"):
            assert not any(p in route for p in [*HOT, *COLD]), route

    # hotlist: an alert per hot plate, each one hit; the live lookups timed.
    assert grew(b["hotlist"], a["hotlist"], "alpr_hotlist_hits_total") == len(HOT)
    assert grew(b["hotlist"], a["hotlist"], "alpr_hotlist_alerts_created_total") == len(HOT)
    # Whichever path finds a hit first makes the alert: the read's live match, or the new
    # entries' back-match if it ran after the read was stored and before its delivery.
    live = grew(b["hotlist"], a["hotlist"], "alpr_hotlist_alerts_created_total", origin="live")
    back = grew(
        b["hotlist"], a["hotlist"], "alpr_hotlist_alerts_created_total", origin="back_match"
    )
    assert live + back == len(HOT)
    assert grew(b["hotlist"], a["hotlist"], "alpr_hotlist_read_to_alert_seconds_count") == live
    assert grew(b["hotlist"], a["hotlist"], "alpr_hotlist_lookup_seconds_count", origin="live") >= 1
    assert value(a["hotlist"], "alpr_hotlist_alerts", state="new") >= len(HOT)

    # access: tokens issued per grant, the refusal by its reason, training ahead.
    assert grew(b["access"], a["access"], "alpr_access_tokens_issued_total", grant="password") >= 4
    assert (
        grew(
            b["access"],
            a["access"],
            "alpr_access_tokens_refused_total",
            grant="password",
            reason="bad_password",
        )
        == 1
    )
    assert (
        grew(b["access"], a["access"], "alpr_access_tokens_issued_total", grant="ingest_key") >= 1
    )
    assert has(a["access"], "alpr_access_training_lapsing_people", within_days="30")
    assert value(a["access"], "alpr_access_training_lapsed_people") >= 1  # the trainer

    # audit: the chain head moved; the checkpoint written at startup verified and is fresh.
    assert value(a["audit"], "alpr_audit_log_head_seq") > value(
        b["audit"], "alpr_audit_log_head_seq"
    )
    assert value(a["audit"], "alpr_audit_checkpoint_age_seconds") >= 0
    assert (
        value(a["audit"], "alpr_audit_chain_verifications_total", kind="checkpoint", result="ok")
        >= 1
    )
    assert value(a["audit"], "alpr_audit_chain_verification_ok", kind="checkpoint") == 1

    # sharing: its own request series; its requests by state (none need exist yet).
    assert "alpr_sharing_requests" in httpx.get(f"{suite.url('sharing')}/metrics").text
    assert grew(b["sharing"], a["sharing"], "alpr_http_requests_total", route="/v1/agencies") == 1

    # Outboxes: every producer delivered to audit; nothing failed; the backlog drains.
    for svc in ("gateway", "access", "ingest", "hotlist"):
        assert value(a[svc], "alpr_outbox_deliveries_total", destination="audit", outcome="ok") >= 1
        assert value(a[svc], "alpr_outbox_events_delivered_total", destination="audit") >= 1
    # One ingest.reads event per batch that stored something: the native batch and the vendor
    # message (the repeated batch stored nothing).
    assert (
        grew(b["ingest"], a["ingest"], "alpr_outbox_events_delivered_total", destination="hotlist")
        >= 2
    )

    def drained() -> bool:
        return all(
            value(scrape(suite, svc), "alpr_outbox_pending_events") == 0
            for svc in ("ingest", "hotlist")
        )

    eventually(drained)


def test_metrics_are_not_reachable_through_the_gateway(suite: Suite, gateway: httpx.Client):
    for path in (
        "/v1/ingest/metrics",
        "/v1/ingest/../metrics",
        "/v1/ingest/%2E%2E/metrics",
        "/v1/access/.well-known/../../metrics",
        "/v1/audit/v1/../../metrics",
        "/v1/gateway/metrics",
    ):
        r = gateway.get(path)
        assert r.status_code in (401, 403, 404), (path, r.status_code)
        assert "alpr_http_requests_total" not in r.text, path
    # The gateway's own /metrics answers on its port to a scraper, never to a request relayed by
    # the edge in front of it (every proxy adds one of these headers).
    assert "alpr_http_requests_total" in gateway.get("/metrics").text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        r = gateway.get("/metrics", headers={header: "198.51.100.7"})
        assert r.status_code == 404, header
        assert "alpr_http_requests_total" not in r.text
