"""Every rendered manifest is valid for the API server, and checkov finds nothing to fix.

- Kubernetes kinds: kubernetes-validate (PyPI), strict (no unknown field), against the oldest
  Kubernetes the suite supports and the newest the package knows.
- Custom resources (CloudNativePG, Barman Cloud, Gateway API, cert-manager, Prometheus
  operator, Istio): the CRDs' own openAPIV3Schema, vendored in tests/k8s/schemas/ (origin,
  versions and licence in its README), made strict the same way.
- checkov (PyPI, in its own locked environment: tools/checkov) over every overlay as released:
  zero failed checks; each skip carries its reason in the manifests (`checkov.io/skipN:
  CHECK=reason`).

`make k8s-check` runs these with the rest of tests/k8s.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml
from referencing import Registry, Resource

from tests.k8s.rendering import ALL, ROOT, render, render_text, require_renderer

SCHEMAS = Path(__file__).resolve().parent / "schemas"
# The oldest Kubernetes k8s/README.md supports, and the newest kubernetes-validate knows.
KUBERNETES_VERSIONS = (
    "1.30",
    kubernetes_validate.utils.major_minor(kubernetes_validate.latest_version()),
)
# As deployed: prod pinned by digest (prod as committed names a tag, see test_manifests.py).
CHECKOV_RENDERS = (
    "dev",
    "dev-ingress-nginx",
    "prod-release",
    "prod-restore",
    "prod-mesh",
    "prod-frigate",
)


@pytest.fixture(autouse=True)
def _needs_kustomize() -> None:
    require_renderer()


@cache
def _crd_validator(api_version: str, kind: str) -> jsonschema.Draft7Validator | None:
    path = SCHEMAS / api_version / f"{kind}.json"
    if not path.is_file():
        return None
    return jsonschema.Draft7Validator(json.loads(path.read_text()))


@cache
def _kubernetes_validator(version: str, api_version: str, kind: str) -> jsonschema.Validator | None:
    """kubernetes-validate's strict schema for a kind, loaded once (its own `validate` re-reads
    the multi-megabyte definitions file at every call)."""
    group, _, ver = api_version.rpartition("/")
    group_version = f"{group.split('.', 1)[0]}-{ver}" if group else ver
    directory = f"kubernetes-json-schema/v{version}.0-local-strict"
    try:
        schema = kubernetes_validate.utils.schema_contents(
            f"{directory}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        return None
    definitions = _kubernetes_definitions(directory, version)
    registry: Registry = Resource.from_contents(schema) @ Registry()
    registry = Resource.from_contents(definitions) @ registry
    return jsonschema.Draft202012Validator(schema, registry=registry)


@cache
def _kubernetes_definitions(directory: str, version: str) -> Any:
    return kubernetes_validate.utils.schema_contents(f"{directory}/_definitions.json", version)


def _problems(doc: dict[str, Any]) -> list[str]:
    where = f"{doc['kind']} {doc['metadata'].get('name')}"
    validator = _crd_validator(doc["apiVersion"], doc["kind"])
    if validator is not None:
        return [
            f"{where}: {'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(doc)
        ]
    problems = []
    for version in KUBERNETES_VERSIONS:
        k8s = _kubernetes_validator(version, doc["apiVersion"], doc["kind"])
        if k8s is None:
            return [
                f"{where}: no schema for {doc['apiVersion']} {doc['kind']} in Kubernetes "
                f"{version}: a CRD's? vendor its schema (tests/k8s/schemas/README.md)"
            ]
        problems += [
            f"{where} (Kubernetes {version}): "
            f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in k8s.iter_errors(doc)
        ]
    return problems


@pytest.mark.parametrize("name", ALL)
def test_every_manifest_validates_strictly_against_its_schema(name: str) -> None:
    docs = render(name)
    problems = [p for doc in docs for p in _problems(doc)]
    assert not problems, f"{name}:\n" + "\n".join(problems)
    kinds = {d["kind"] for d in docs}
    assert {"Deployment", "NetworkPolicy", "Cluster"} <= kinds


def test_the_vendored_schemas_reject_what_the_api_server_rejects() -> None:
    """The CRD schemas are strict: a misspelt field fails, as `kubectl apply` would."""
    (cluster,) = [d for d in render("prod") if d["kind"] == "Cluster"]
    assert not _problems(cluster)
    typo = json.loads(json.dumps(cluster))
    typo["spec"]["instnces"] = 3
    assert any("instnces" in p for p in _problems(typo))
    wrong_type = json.loads(json.dumps(cluster))
    wrong_type["spec"]["instances"] = "three"
    assert _problems(wrong_type)
    (route,) = [d for d in render("prod") if d["kind"] == "HTTPRoute"][:1]
    bad = json.loads(json.dumps(route))
    bad["spec"]["rules"][0]["backendRefs"][0]["prot"] = 8000
    assert _problems(bad)
    (deployment,) = [d for d in render("dev") if d["kind"] == "Deployment"][:1]
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    assert any("imagePullPolcy" in p for p in _problems(bad))
    bad = json.loads(json.dumps(deployment))
    bad["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "http"
    assert _problems(bad)


def test_every_vendored_schema_is_documented() -> None:
    readme = (SCHEMAS / "README.md").read_text()
    for path in SCHEMAS.rglob("*.json"):
        group = path.relative_to(SCHEMAS).parts[0]
        assert f"`{group}`" in readme, f"{path}: origin not in tests/k8s/schemas/README.md"
        json.loads(path.read_text())


def test_checkov_finds_nothing_and_every_skip_says_why(tmp_path: Path) -> None:
    for name in CHECKOV_RENDERS:
        (tmp_path / f"{name}.yaml").write_text(render_text(name))
    checkov = ROOT / "tools/checkov/.venv/bin/checkov"
    assert checkov.is_file(), "checkov has its own environment (tools/README.md): `make install`"
    out = subprocess.run(
        [str(checkov), "--directory", str(tmp_path), "--framework", "kubernetes",
         "--skip-download", "--quiet", "--compact", "--output", "json"],
        capture_output=True, text=True, check=False, timeout=900,
    )  # fmt: skip
    assert out.stdout.strip(), f"checkov printed nothing:\n{out.stderr[-3000:]}"
    reports = json.loads(out.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed, skipped = [], []
    for report in reports:
        assert report["summary"]["parsing_errors"] == 0, report["summary"]
        assert report["summary"]["resource_count"] > 0, report["summary"]
        results = report["results"]
        failed += [
            f"{c['check_id']} {c['check_name']}: {c['resource']} ({c['file_path']})"
            for c in results["failed_checks"]
        ]
        skipped += results.get("skipped_checks", [])
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    for check in skipped:
        reason = (check.get("check_result") or {}).get("suppress_comment", "")
        assert len(reason.split()) >= 5, f"{check['check_id']} skipped without a reason"
    # Only dev skips anything (the locally built image); prod as released skips nothing.
    assert {c["file_path"].lstrip("/").split(".")[0] for c in skipped} <= {
        "dev",
        "dev-ingress-nginx",
    }
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 1000


def test_make_k8s_check_runs_these_tests() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    target = makefile.split("\nk8s-check:", 1)[1].split("\n\n", 1)[0]
    assert "tests/k8s" in target
    assert yaml.safe_load  # the manifests are read with PyYAML, like the renders
