"""Regenerate the vendored CRD schemas from upstream CRD manifests (tests/k8s/schemas/README.md).

    python tests/k8s/schemas/vendor.py REPO:REF:PATH [KIND ...] ...

Each argument names a CRD file in a checked-out repository (`git show REF:PATH` is read in
REPO); the openAPIV3Schema of every served version of the listed kinds (all kinds when none is
listed) is written as `<group>/<version>/<kind>.json`, made strict the way `kubectl apply
--validate=strict` is: an object that lists its properties accepts no others, unless the CRD
says `x-kubernetes-preserve-unknown-fields`. Descriptions are dropped (they are most of the
bytes); CEL rules (`x-kubernetes-validations`) are kept but not evaluated by the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent


def strict(node: Any) -> Any:
    if isinstance(node, list):
        return [strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    # A `description` string is documentation; a `description` schema is a field of that name.
    out = {k: strict(v) for k, v in node.items() if not (k == "description" and isinstance(v, str))}
    if out.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def vendor(spec: str, kinds: list[str]) -> list[Path]:
    repo, ref, path = spec.split(":", 2)
    text = subprocess.run(
        ["git", "-C", repo, "show", f"{ref}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    written = []
    for crd in yaml.safe_load_all(text):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        kind = crd["spec"]["names"]["kind"]
        if kinds and kind not in kinds:
            continue
        group = crd["spec"]["group"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True) or version.get("deprecated"):
                continue
            schema = strict(version["schema"]["openAPIV3Schema"])
            # The API server checks metadata itself; apiVersion and kind are pinned here.
            schema.setdefault("properties", {})
            schema["properties"]["apiVersion"] = {"const": f"{group}/{version['name']}"}
            schema["properties"]["kind"] = {"const": kind}
            schema["properties"]["metadata"] = {"type": "object"}
            schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
            schema["$schema"] = "http://json-schema.org/draft-07/schema#"
            out = HERE / group / version["name"] / f"{kind}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True) + "\n")
            written.append(out)
    return written


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    specs: list[tuple[str, list[str]]] = []
    for arg in argv:
        if ":" in arg:
            specs.append((arg, []))
        elif specs:
            specs[-1][1].append(arg)
    for spec, kinds in specs:
        for path in vendor(spec, kinds):
            print(f"{path.relative_to(HERE)}  <- {spec}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
