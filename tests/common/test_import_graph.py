"""The import graph of the first-party packages, read from the source with `ast`: no cycle among
module-level imports; a service imports the kernel (`alpr_common`) and itself, never another
service; the kernel and the gateway import no service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "alpr_common": ROOT / "libs/common/alpr_common",
    "alpr_gateway": ROOT / "gateway/alpr_gateway",
    **{
        f"alpr_{d.name}": d / f"alpr_{d.name}"
        for d in sorted((ROOT / "services").iterdir())
        if (d / f"alpr_{d.name}").is_dir()
    },
}
SERVICES = {name for name in PACKAGES if name not in ("alpr_common", "alpr_gateway")}


def _module_name(package: str, root: Path, path: Path) -> str:
    parts = [package, *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {
        _module_name(package, root, path): path
        for package, root in PACKAGES.items()
        for path in sorted(root.rglob("*.py"))
    }


MODULES = _modules()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.Module, *, module_level: bool) -> Iterator[ast.Import | ast.ImportFrom]:
    """Imports at module level (what runs when the module is imported; `if TYPE_CHECKING:`
    blocks do not), or every import anywhere in the module."""
    if not module_level:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                yield node
        return
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node):
                stack.extend(node.body)
            stack.extend(node.orelse)
        elif isinstance(node, ast.Try):
            stack.extend([*node.body, *node.orelse, *node.finalbody])
            for handler in node.handlers:
                stack.extend(handler.body)
        elif isinstance(node, ast.With):
            stack.extend(node.body)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import statement names (a `from package import name` names the submodule
    when there is one)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
        return
    base = node.module or ""
    if node.level:
        is_package = MODULES[module].name == "__init__.py"
        parts = module.split(".")
        anchor = parts if is_package else parts[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    for alias in node.names:
        candidate = f"{base}.{alias.name}"
        yield candidate if candidate in MODULES else base


def _imports(module: str, *, module_level: bool) -> set[str]:
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    return {
        target
        for node in _import_nodes(tree, module_level=module_level)
        for target in _targets(module, node)
    }


def _top(module: str) -> str:
    return module.split(".")[0]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module, or of one importing itself
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def test_the_packages_are_found():
    assert {"alpr_common", "alpr_gateway", "alpr_access", "alpr_hotlist"} <= set(PACKAGES)
    assert "alpr_common.contracts.ingest" in MODULES


@pytest.mark.parametrize("module_level", [True, False], ids=["module-level", "any-import"])
def test_no_import_cycle_among_first_party_modules(module_level):
    """Neither among the imports that run at import time nor counting those inside functions
    and `if TYPE_CHECKING:` blocks (a lazy import that only hides a cycle is still one)."""
    graph = {
        module: {t for t in _imports(module, module_level=module_level) if t in MODULES}
        for module in MODULES
    }
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_first_party_imports_follow_the_layers(package):
    """A service imports the kernel and itself; the kernel and the gateway import no service.
    Imports inside functions count too: a lazy import is still a dependency."""
    allowed = {"alpr_common", package}
    wrong = sorted(
        f"{module} imports {target}"
        for module in MODULES
        if _top(module) == package
        for target in _imports(module, module_level=False)
        if _top(target) in PACKAGES and _top(target) not in allowed
    )
    assert wrong == []
