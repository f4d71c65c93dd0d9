"""The Kubernetes manifests, rendered by kustomize exactly as an administrator renders them.

Needs kustomize >= 5, standalone or inside kubectl (`make install` puts kubectl into .venv);
without one the tests skip and say how to get it. The network policies are checked by evaluating
them over a model of the cluster's pods, so "allow exactly the designed flows" is a comparison
of two sets. Schema validation and checkov are in test_validation.py.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.k8s.rendering import (
    K8S,
    NAMESPACE,
    RELEASE_DIGEST,
    ROOT,
    SERVICES,
    Rendered,
    render,
    require_renderer,
)
from tests.k8s.rendering import command as _command
from tests.k8s.rendering import containers as _containers
from tests.k8s.rendering import matches as _matches

# Whom each service calls (docs/design.md sections 2, 5): tokens from access, events to audit, the
# gateway in front of everything, ingest handing reads to hotlist, hotlist asking ingest for the
# recent reads of a new entry (back-match).
CALLS = {
    "gateway": {"access", "audit", "ingest", "hotlist", "sharing"},
    "access": {"audit"},
    "audit": {"access"},
    "ingest": {"access", "audit", "hotlist"},
    "hotlist": {"access", "audit", "ingest"},
    "sharing": {"access", "audit", "ingest", "hotlist"},
}
SECRETS_DIR = "/var/run/secrets/alpr/settings"


@pytest.fixture(scope="module", params=["dev", "prod"])
def r(request: pytest.FixtureRequest) -> Rendered:
    require_renderer()
    return Rendered(request.param, render(request.param))


@pytest.fixture(scope="module", params=["dev", "prod", "dev-ingress-nginx"])
def net(request: pytest.FixtureRequest) -> Rendered:
    """The overlays and the alternative edge, for the network policy model."""
    return _variant(request.param)


def _variant(name: str) -> Rendered:
    require_renderer()
    return Rendered(name, render(name))


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
    r = _variant(name)
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
    r = _variant("prod-release")
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
    r = _variant("prod")
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
    assert not _variant("dev").of("ScheduledBackup")


@pytest.mark.policy("344.4(d)")
def test_restore_recovers_from_the_backups_without_overwriting_them() -> None:
    r = _variant("prod-restore")
    cluster = r.get("Cluster", "alpr-pg")["spec"]
    (store,) = r.of("ObjectStore")
    source = cluster["bootstrap"]["recovery"]["source"]
    (external,) = [c for c in cluster["externalClusters"] if c["name"] == source]
    params = external["plugin"]["parameters"]
    assert params == {"barmanObjectName": store["metadata"]["name"], "serverName": "alpr-pg"}
    (archiver,) = cluster["plugins"]
    assert archiver["parameters"]["serverName"] != "alpr-pg", "a new server name to archive under"
    # Everything else is prod as released: the roles, databases and suite are unchanged.
    prod = _variant("prod-release")
    assert cluster["managed"] == prod.get("Cluster", "alpr-pg")["spec"]["managed"]
    assert r.of("Deployment") == prod.of("Deployment")


def test_mesh_component_allows_exactly_the_designed_calls_by_identity() -> None:
    r = _variant("prod-mesh")
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


# --- 344.4(c): the data stays in the cluster ---------------------------------------------------


@pytest.mark.policy("344.4(c)")
@pytest.mark.parametrize("name", ["dev", "prod", "dev-ingress-nginx"])
def test_only_the_gateway_is_exposed_and_only_over_tls(name: str) -> None:
    r = _variant(name)
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
    r = _variant("prod")
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
