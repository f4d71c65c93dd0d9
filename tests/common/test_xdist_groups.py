"""The test run's own scheduling: `--dist loadgroup` keeps an `xdist_group` on one worker.

The end-to-end modules share the suite a worker starts (`tests/e2e/conftest.py`), and several
start a suite of their own; spread over both workers, each of those suites started twice. With
pytest 9, pytest-xdist 3.8 no longer got the group into the node ids, and nothing failed: the run
only took longer (`alpr_common.testing.groups` mends it). This runs a small session of real
workers and reads where each test ran."""

import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

GROUPED = """
import os, pytest
pytestmark = [pytest.mark.xdist_group("together")]

@pytest.mark.parametrize("i", range(4))
def test_grouped(i):
    with open(os.environ["WHERE"], "a") as f:
        f.write(f"{os.environ['PYTEST_XDIST_WORKER']} {__name__}\\n")
"""

LOOSE = """
import os, time, pytest

@pytest.mark.parametrize("i", range(8))
def test_loose(i):
    time.sleep(0.05)
    with open(os.environ["WHERE"], "a") as f:
        f.write(f"{os.environ['PYTEST_XDIST_WORKER']} loose\\n")
"""


def test_an_xdist_group_runs_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_one.py").write_text(GROUPED)
    (tmp_path / "test_two.py").write_text(GROUPED)
    (tmp_path / "test_loose.py").write_text(LOOSE)
    where = tmp_path / "where.txt"
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "xdist.plugin"),
            *("-p", "alpr_common.testing.groups", "-n", "2", "--dist", "loadgroup", str(tmp_path)),
        ],
        cwd=tmp_path,
        # Only xdist and the plugin under test: the workers start in a second, not in the
        # several the suite's other plugins take to import.
        env={**os.environ, "WHERE": str(where), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    workers: dict[str, set[str]] = defaultdict(set)
    for line in where.read_text().splitlines():
        worker, module = line.split()
        workers[module].add(worker)
    grouped = workers["test_one"] | workers["test_two"]
    assert len(grouped) == 1, f"the group ran on {sorted(grouped)}"
    assert sum(1 for _ in where.read_text().splitlines()) == 16
