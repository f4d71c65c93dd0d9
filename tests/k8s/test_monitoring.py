"""components/monitoring as the prod overlay renders it: Prometheus scrapes every server pod, the
alerts the issue names exist, the Grafana dashboard loads, and every series the rules and the
dashboard query is one the code defines (a renamed metric cannot leave an alert silently dead)."""

from __future__ import annotations

import json
import re

import pytest

from tests.k8s.rendering import ROOT, Rendered, render, require_renderer

SOURCES = [ROOT / "libs", ROOT / "services", ROOT / "gateway"]
SERIES = re.compile(r"\balpr_[a-z0-9_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


@pytest.fixture(scope="module")
def prod() -> Rendered:
    require_renderer()
    return Rendered("prod", render("prod"))


def test_every_server_pod_is_scraped_on_its_http_port(prod: Rendered) -> None:
    [monitor] = prod.of("PodMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["path"] == "/metrics"
    for deployment in prod.of("Deployment"):
        template = deployment["spec"]["template"]
        assert selector.items() <= template["metadata"]["labels"].items()
        ports = {p["name"] for c in template["spec"]["containers"] for p in c.get("ports", [])}
        assert endpoint["port"] in ports, deployment["metadata"]["name"]


def test_the_alerts_an_admin_needs_are_defined(prod: Rendered) -> None:
    [rule] = prod.of("PrometheusRule")
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {
        "ALPROutboxLag",
        "ALPRPurgeMissed",
        "ALPRPurgeFailed",
        "ALPRAuditCheckpointStale",
        "ALPRAuditChainVerificationFailed",
        "ALPRStaleCameras",
        "ALPRHigh5xxRate",
        "ALPRTokenRefusalsSpike",
        "ALPRSearchIndexCronJobNotSucceeding",
    } <= alerts
    for group in rule["spec"]["groups"]:
        for r in group["rules"]:
            assert r["labels"]["severity"] in ("critical", "warning", "info"), r["alert"]
            assert r["annotations"]["summary"] and r["annotations"]["description"], r["alert"]


def test_the_dashboard_is_a_grafana_configmap(prod: Rendered) -> None:
    cm = prod.get("ConfigMap", "alpr-grafana-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["alpr-overview.json"])
    assert dashboard["uid"] == "alpr-overview"
    assert all(p.get("targets") for p in dashboard["panels"] if p["type"] != "row")


def _defined_series() -> set[str]:
    names = set()
    for base in SOURCES:
        for path in base.rglob("*.py"):
            names |= set(re.findall(r'"(alpr_[a-z0-9_]+)"', path.read_text()))
    return names


def _base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_every_queried_series_is_defined_in_the_code(prod: Rendered) -> None:
    [rule] = prod.of("PrometheusRule")
    exprs = [r["expr"] for g in rule["spec"]["groups"] for r in g["rules"]]
    dashboard = json.loads(
        prod.get("ConfigMap", "alpr-grafana-dashboard")["data"]["alpr-overview.json"]
    )
    exprs += [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    defined = {_base(n) for n in _defined_series()}
    queried = {m for e in exprs for m in SERIES.findall(e)}
    assert queried, "no alpr_ series found in the rules"
    unknown = sorted(n for n in queried if _base(n) not in defined)
    assert not unknown, f"series queried but defined nowhere in the code: {unknown}"


def test_monitoring_is_enabled_in_prod(prod: Rendered) -> None:
    assert prod.of("PodMonitor") and prod.of("PrometheusRule")
    prod.get("NetworkPolicy", "allow-prometheus-scrape")
