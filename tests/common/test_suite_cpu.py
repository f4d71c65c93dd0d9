"""The benchmarks' CPU accounting (`alpr_common.suite.cpu_seconds` / `cpu_spent`)."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace
from typing import Any

from alpr_common.suite import cpu_seconds, cpu_spent

BURN_THEN_WAIT = (
    "import sys, time\n"
    "end = time.process_time() + 0.3\n"
    "while time.process_time() < end: pass\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


def test_a_process_that_exits_between_readings_takes_its_time_with_it():
    # Before the fix the rest of the machine was one sum: a process alive at the first reading
    # and gone at the second subtracted its whole life's CPU, and "other" went negative.
    no_suite: Any = SimpleNamespace(procs={})
    child = subprocess.Popen(
        [sys.executable, "-c", BURN_THEN_WAIT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    before = cpu_seconds(no_suite)
    (mine,) = (key for key in before if key.startswith(f"other {child.pid} "))
    assert before[mine] >= 0.25
    child.communicate(b"")
    spent = cpu_spent(before, cpu_seconds(no_suite))
    assert not [key for key in spent if key.startswith("other ")]  # one figure for the rest
    assert spent["other"] >= 0.0
