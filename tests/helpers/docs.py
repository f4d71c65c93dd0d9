"""Run the shell examples of a Markdown guide and compare each with the answer the guide shows.

A guide's example is a ```sh block; the ```json or ```text block right after it (blank lines
only between) is its answer, compared with what the commands printed. In an answer, `…` stands
for what changes from run to run: a whole value (`"…"`), part of a string (`"2026-…Z"`), the
rest of a list (a last element `"…"`) or further keys of an object (a key `"…": "…"`); in text,
any run of characters within a line. A ```sh block with no answer must still succeed.

The blocks run one after another in bash (`set -euo pipefail`), each from the repository root,
and share their variables and functions as one terminal session would.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ELLIPSIS = "…"
_FENCE = re.compile(r"^```([a-z]*)\s*$")


@dataclass(frozen=True)
class Example:
    line: int
    command: str
    kind: str | None  # json | text | None (no answer shown)
    answer: str | None


def examples(path: Path) -> list[Example]:
    blocks: list[tuple[int, str, str, int]] = []  # (start line, lang, body, end line)
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        start, lang, body = i + 1, m.group(1), []
        i += 1
        while i < len(lines) and lines[i].rstrip() != "```":
            body.append(lines[i])
            i += 1
        blocks.append((start, lang, "\n".join(body), i))
        i += 1
    found = []
    for n, (start, lang, body, end) in enumerate(blocks):
        if lang != "sh":
            continue
        kind = answer = None
        if n + 1 < len(blocks):
            nstart, nlang, nbody, _ = blocks[n + 1]
            between = lines[end + 1 : nstart - 1]
            if nlang in ("json", "text") and all(not b.strip() for b in between):
                kind, answer = nlang, nbody
        found.append(Example(start, body, kind, answer))
    return found


class Session:
    """A bash session: each example runs in a fresh bash that loads the state the one before
    left (exported variables and functions)."""

    def __init__(self, state: Path, env: dict[str, str]) -> None:
        self.state = state
        self.env = env
        state.write_text("")

    def run(self, command: str, timeout: float = 120) -> str:
        script = (
            # -a: every variable a block sets is exported, so the next block has it too.
            f"set -a; source {self.state}\n"
            "set -euo pipefail\n"
            f"{command}\n"
            f"{{ export -p; declare -f; }} > {self.state}.next\n"
        )
        result = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(
                f"the example failed ({result.returncode}):\n{command}\n--- stdout\n"
                f"{result.stdout[-3000:]}\n--- stderr\n{result.stderr[-3000:]}"
            )
        Path(f"{self.state}.next").replace(self.state)
        return result.stdout


def _match_str(expected: str, actual: str) -> bool:
    if ELLIPSIS not in expected:
        return expected == actual
    pattern = ".*".join(re.escape(part) for part in expected.split(ELLIPSIS))
    return re.fullmatch(pattern, actual) is not None


def mismatch(expected: Any, actual: Any, where: str = "$") -> str | None:
    """Where `actual` differs from the answer `expected` (with its `…`), or None."""
    if expected == ELLIPSIS:
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{where}: expected an object, got {actual!r}"
        extra_allowed = expected.get(ELLIPSIS) == ELLIPSIS
        keys = [k for k in expected if k != ELLIPSIS]
        missing = [k for k in keys if k not in actual]
        if missing:
            return f"{where}: missing keys {missing}"
        extra = sorted(set(actual) - set(keys))
        if extra and not extra_allowed:
            return f"{where}: keys the guide does not show {extra}"
        for k in keys:
            problem = mismatch(expected[k], actual[k], f"{where}.{k}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{where}: expected a list, got {actual!r}"
        open_ended = bool(expected) and expected[-1] == ELLIPSIS
        items = expected[:-1] if open_ended else expected
        if len(actual) < len(items) or (not open_ended and len(actual) != len(items)):
            return f"{where}: {len(actual)} items, the guide shows {len(items)}"
        for n, item in enumerate(items):
            problem = mismatch(item, actual[n], f"{where}[{n}]")
            if problem:
                return problem
        return None
    if isinstance(expected, str) and isinstance(actual, str):
        return None if _match_str(expected, actual) else f"{where}: {actual!r} != {expected!r}"
    if expected != actual or type(expected) is not type(actual):
        return f"{where}: {actual!r} != {expected!r}"
    return None


def check(example: Example, output: str) -> str | None:
    """Why the output is not the answer the guide shows, or None."""
    if example.kind is None or example.answer is None:
        return None
    if example.kind == "json":
        try:
            actual = json.loads(output)
        except ValueError:
            return f"the command printed no JSON:\n{output[-2000:]}"
        return mismatch(json.loads(example.answer), actual)
    got = output.strip("\n")
    want = example.answer.strip("\n")
    return None if _match_str(want, got) else f"printed:\n{got}\n\nthe guide shows:\n{want}"
