"""`make compliance`: every clause of policy/clauses.toml with the tests that prove it and their
result; clauses without a test are listed as such, and any failure makes the exit code non-zero."""

from __future__ import annotations

import json
import sys
import tomllib
from collections import defaultdict
from pathlib import Path


def render(root: Path, results_path: Path) -> tuple[str, bool]:
    with (root / "policy" / "clauses.toml").open("rb") as f:
        clauses = tomllib.load(f)["clause"]
    results = json.loads(results_path.read_text())
    by_clause: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in results:
        for clause in r["clauses"]:
            by_clause[clause].append(r)
    lines = [
        "# General Order 344 — compliance report",
        "",
        "| clause | owner | rule | tests | result |",
        "|---|---|---|---|---|",
    ]
    ok = True
    untested = 0
    for c in clauses:
        tests = by_clause.get(c["id"], [])
        if not tests:
            untested += 1
            verdict = "NO TEST"
        else:
            failed = [t for t in tests if t["outcome"] not in ("passed", "skipped")]
            passed = sum(t["outcome"] == "passed" for t in tests)
            ok = ok and not failed
            verdict = f"FAIL ({len(failed)})" if failed else f"pass ({passed})"
        owners = ", ".join(c["owner"])
        lines.append(f"| {c['id']} | {owners} | {c['rule']} | {len(tests)} | {verdict} |")
    lines += ["", "## Tests by clause", ""]
    for c in clauses:
        for t in by_clause.get(c["id"], []):
            lines.append(f"- `{c['id']}` {t['outcome']}: `{t['nodeid']}`")
    lines += ["", f"{len(clauses) - untested} of {len(clauses)} clauses have tests."]
    return "\n".join(lines) + "\n", ok


def main() -> int:
    root = Path.cwd()
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else root / "reports" / "policy.json"
    out = root / "reports" / "compliance.md"
    text, ok = render(root, results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
