"""344.4(c), the data stays in the cluster: only the gateway is exposed, and only over TLS; the
network policies deny by default and allow exactly the designed flows. The policies are checked
by evaluating them over a model of the cluster's pods, so "allow exactly the designed flows" is a
comparison of two sets (split from test_manifests.py)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.k8s.rendering import CALLS, NAMESPACE, Rendered, variant
from tests.k8s.rendering import containers as _containers
from tests.k8s.rendering import matches as _matches


@pytest.fixture(scope="module", params=["dev", "prod", "dev-ingress-nginx"])
def net(request: pytest.FixtureRequest) -> Rendered:
    """The overlays and the alternative edge, for the network policy model."""
    return variant(request.param)


# --- 344.4(c): the data stays in the cluster ---------------------------------------------------


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("name", ["dev", "prod", "dev-ingress-nginx"])
def test_only_the_gateway_is_exposed_and_only_over_tls(name: str) -> None:
    r = variant(name)
    for service in r.of("Service"):
        spec = service["spec"]
        assert spec.get("type", "ClusterIP") == "ClusterIP", service["metadata"]["name"]
        assert not spec.get("externalIPs"), service["metadata"]["name"]
    backends = set()
    for ingress in r.of("Ingress"):
        spec = ingress["spec"]
        if "defaultBackend" in spec:
            backends.add(spec["defaultBackend"]["service"]["name"])
        for rule in spec.get("rules", []):
            for path in rule["http"]["paths"]:
                backends.add(path["backend"]["service"]["name"])
        hosts = {h for rule in spec.get("rules", []) for h in [rule.get("host")]}
        tls_hosts = {h for t in spec.get("tls", []) for h in t.get("hosts", [])}
        assert hosts <= tls_hosts, "every exposed host is served over TLS"
    # Gateway API: every route to a backend hangs off an HTTPS listener whose certificate
    # cert-manager issues; the plain-HTTP listener carries only the redirect to HTTPS.
    certificates = {c["spec"]["secretName"]: c for c in r.of("Certificate")}
    for gateway in r.of("Gateway"):
        listeners = {x["name"]: x for x in gateway["spec"]["listeners"]}
        for listener in listeners.values():
            if listener["protocol"] == "HTTPS":
                assert listener["tls"]["mode"] == "Terminate"
                for ref in listener["tls"]["certificateRefs"]:
                    certificate = certificates[ref["name"]]
                    assert listener["hostname"] in certificate["spec"]["dnsNames"]
            else:
                assert listener["protocol"] == "HTTP"
        for route in r.of("HTTPRoute"):
            (parent,) = route["spec"]["parentRefs"]
            assert parent["name"] == gateway["metadata"]["name"]
            listener = listeners[parent["sectionName"]]
            for rule in route["spec"]["rules"]:
                refs = rule.get("backendRefs", [])
                backends |= {ref["name"] for ref in refs}
                if listener["protocol"] != "HTTPS":
                    assert not refs, "plain HTTP reaches no backend"
                    (redirect,) = rule["filters"]
                    assert redirect["requestRedirect"]["scheme"] == "https"
    if r.of("Gateway") or r.of("Ingress"):
        assert backends == {"gateway"}
    else:
        assert backends == set()
    assert not (r.of("Gateway") and r.of("Ingress")), "one edge, not two"


def test_the_live_alert_stream_is_not_cut_by_the_edge() -> None:
    r = variant("prod")
    (route,) = [x for x in r.of("HTTPRoute") if x["metadata"]["name"] == "gateway"]
    stream = [
        rule
        for rule in route["spec"]["rules"]
        if any(m["path"]["value"] == "/v1/hotlist/alerts/stream" for m in rule["matches"])
    ]
    assert stream and stream[0]["timeouts"]["request"] == "0s"


@pytest.mark.policy("344.4(c)")
def test_network_policies_deny_by_default(net: Rendered) -> None:
    deny_all = [
        p
        for p in net.of("NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny_all, f"{net.overlay}: no default-deny NetworkPolicy"
    # And that is what the model sees: an unknown pod in the namespace can only resolve names.
    flows = _allowed_flows(net)
    assert {f for f in flows if "debug" in (f.src, f.dst)} == {
        Flow("debug", "kube-dns", "UDP", 53),
        Flow("debug", "kube-dns", "TCP", 53),
    }


@pytest.mark.policy("344.4(c)")
def test_network_policies_allow_exactly_the_designed_flows(net: Rendered) -> None:
    actual = _allowed_flows(net)
    expected = _designed_flows(net)
    missing = sorted(map(str, expected - actual))
    extra = sorted(map(str, actual - expected))
    assert not missing and not extra, f"{net.overlay}: missing {missing}, unexpected {extra}"


@pytest.mark.policy("344.4(c)")
def test_egress_and_ingress_rules_are_each_as_tight_as_the_design(net: Rendered) -> None:
    """Defence in depth: one mistaken policy must not open a flow, so each side is exact."""
    expected = _designed_flows(net)
    for side in ("Egress", "Ingress"):
        actual = _allowed_flows(net, only=side)
        mine = {f for f in expected if _ours(net, f.src if side == "Egress" else f.dst)}
        missing = sorted(map(str, mine - actual))
        extra = sorted(map(str, actual - mine))
        assert not missing and not extra, f"{net.overlay} {side}: missing {missing}, extra {extra}"


@pytest.mark.policy("344.4(c)")
def test_no_pod_reaches_the_internet(net: Rendered) -> None:
    flows = _allowed_flows(net)
    assert not [f for f in flows if "internet" in (f.src, f.dst)]
    # The database pods talk to the Kubernetes API server, on private addresses only.
    api = {f for f in flows if f.dst == "api-server"}
    assert {f.src for f in api} == {"alpr-pg-1", "alpr-pg-2"}
    assert {f.port for f in api} == {443, 6443}


# --- a model of the cluster for the network policies --------------------------------------------

PORTS = (("TCP", 8000), ("TCP", 5432), ("UDP", 53), ("TCP", 53), ("TCP", 4318), ("TCP", 443),
         ("TCP", 6443), ("TCP", 80), ("TCP", 9187), ("TCP", 6379))  # fmt: skip


@dataclass(frozen=True)
class Flow:
    src: str
    dst: str
    protocol: str
    port: int

    def __str__(self) -> str:
        return f"{self.src}->{self.dst}:{self.port}/{self.protocol}"


@dataclass
class Endpoint:
    name: str
    namespace: str | None  # None: an address outside the cluster's pods
    labels: dict[str, str] = field(default_factory=dict)
    ip: str | None = None
    named_ports: dict[str, int] = field(default_factory=dict)

    @property
    def ns_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace or ""}


def _endpoints(r: Rendered) -> list[Endpoint]:
    ours = []
    for name, template in r.pod_templates():
        ports = {
            p["name"]: p["containerPort"]
            for c in _containers(template)
            for p in c.get("ports", [])
            if "name" in p
        }
        ours.append(Endpoint(name, NAMESPACE, template["metadata"]["labels"], named_ports=ports))
    for i, role in ((1, "primary"), (2, "replica")):
        labels = {"cnpg.io/cluster": "alpr-pg", "cnpg.io/instanceRole": role}
        ours.append(Endpoint(f"alpr-pg-{i}", NAMESPACE, labels))
    ours.append(Endpoint("debug", NAMESPACE, {"run": "debug"}))
    envoy = {
        "app.kubernetes.io/name": "envoy",
        "app.kubernetes.io/component": "proxy",
        "gateway.envoyproxy.io/owning-gateway-name": "alpr",
        "gateway.envoyproxy.io/owning-gateway-namespace": "alpr",
    }
    return [
        *ours,
        Endpoint(
            "ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
        ),
        Endpoint("gateway-api-proxy", "envoy-gateway-system", envoy),
        Endpoint(
            "other-gateway-proxy",
            "envoy-gateway-system",
            envoy | {"gateway.envoyproxy.io/owning-gateway-name": "other"},
        ),
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        Endpoint("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
        Endpoint(
            "otel-collector", "observability", {"app.kubernetes.io/name": "opentelemetry-collector"}
        ),
        Endpoint("redis", "redis", {"app.kubernetes.io/name": "redis"}),
        Endpoint("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
        Endpoint("other-namespace", "default", {"app": "other"}),
        Endpoint("api-server", None, ip="10.0.0.1"),
        Endpoint("internet", None, ip="203.0.113.10"),
    ]


def _peer_matches(peer: dict[str, Any], endpoint: Endpoint, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        if endpoint.ip is None:
            return False
        address = ipaddress.ip_address(endpoint.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if endpoint.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not _matches(peer["namespaceSelector"], endpoint.ns_labels):
            return False
    elif endpoint.namespace != policy_ns:
        return False
    return _matches(peer.get("podSelector"), endpoint.labels)


def _port_matches(rule: dict[str, Any], dst: Endpoint, protocol: str, port: int) -> bool:
    entries = rule.get("ports") or []
    if not entries:
        return True
    for entry in entries:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str):
            wanted = dst.named_ports.get(wanted)
        if wanted is not None and wanted <= port <= entry.get("endPort", wanted):
            return True
    return False


def _policy_types(policy: dict[str, Any]) -> set[str]:
    spec = policy["spec"]
    if "policyTypes" in spec:
        return set(spec["policyTypes"])
    return {"Ingress"} | ({"Egress"} if "egress" in spec else set())


def _side_allows(
    r: Rendered, pod: Endpoint, peer: Endpoint, direction: str, dst: Endpoint, proto: str, port: int
) -> bool:
    """Whether the policies on `pod` let traffic to/from `peer` through (direction of `pod`)."""
    if pod.namespace != NAMESPACE:
        return True  # not ours to restrict; the other side decides
    selecting = [
        p
        for p in r.of("NetworkPolicy")
        if p["metadata"]["namespace"] == pod.namespace
        and _matches(p["spec"]["podSelector"], pod.labels)
        and direction in _policy_types(p)
    ]
    if not selecting:
        return True
    key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(key) or []:
            peers = rule.get(peers_key) or []
            if (not peers or any(_peer_matches(x, peer, pod.namespace) for x in peers)) and (
                _port_matches(rule, dst, proto, port)
            ):
                return True
    return False


def _ours(r: Rendered, name: str) -> bool:
    return any(e.name == name and e.namespace == NAMESPACE for e in _endpoints(r))


def _allowed_flows(r: Rendered, only: str | None = None) -> set[Flow]:
    """Flows both sides allow; with `only`, the flows that side alone allows from/to our pods."""
    endpoints = _endpoints(r)
    flows = set()
    for src in endpoints:
        for dst in endpoints:
            if src is dst or NAMESPACE not in (src.namespace, dst.namespace):
                continue
            if only == "Egress" and src.namespace != NAMESPACE:
                continue
            if only == "Ingress" and dst.namespace != NAMESPACE:
                continue
            for proto, port in PORTS:
                egress = only == "Ingress" or _side_allows(r, src, dst, "Egress", dst, proto, port)
                ingress = only == "Egress" or _side_allows(r, dst, src, "Ingress", dst, proto, port)
                if egress and ingress:
                    flows.add(Flow(src.name, dst.name, proto, port))
    return flows


def _designed_flows(r: Rendered) -> set[Flow]:
    suite = [name for name, _ in r.pod_templates()]
    database = ["alpr-pg-1", "alpr-pg-2"]
    flows = set()
    if r.of("Gateway"):
        flows.add(Flow("gateway-api-proxy", "gateway", "TCP", 8000))
    if r.of("Ingress"):
        flows.add(Flow("ingress-controller", "gateway", "TCP", 8000))
    for caller, callees in CALLS.items():
        flows |= {Flow(caller, callee, "TCP", 8000) for callee in callees}
    for pod in [*suite, *database, "debug"]:
        flows |= {Flow(pod, "kube-dns", "UDP", 53), Flow(pod, "kube-dns", "TCP", 53)}
    flows |= {Flow(pod, db, "TCP", 5432) for pod in suite for db in database}
    flows |= {Flow(a, b, "TCP", 5432) for a in database for b in database if a != b}
    flows |= {Flow("cnpg-operator", db, "TCP", p) for db in database for p in (5432, 8000)}
    flows |= {Flow(db, "api-server", "TCP", p) for db in database for p in (443, 6443)}
    if r.overlay.startswith("prod"):
        flows |= {Flow(pod, "otel-collector", "TCP", 4318) for pod in suite}
        # Rate limits shared by the gateway replicas (components/ratelimit-redis).
        flows.add(Flow("gateway", "redis", "TCP", 6379))
        # components/monitoring: Prometheus scrapes /metrics on every server pod.
        flows |= {
            Flow("prometheus", d["metadata"]["name"], "TCP", 8000) for d in r.of("Deployment")
        }
    return flows
