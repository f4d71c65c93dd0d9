"""`make demo` works from the project's own files: the suite starts, the demo people, cameras and
hot list are made through the gateway, and the camera simulator's reads raise alerts."""

import re
import subprocess

import pytest

from tests.helpers.docs import ROOT

pytestmark = [pytest.mark.e2e]


def test_make_demo_runs_the_suite_and_the_simulator_raises_alerts(tmp_path):
    args = f"--state-dir {tmp_path / 'demo'} --ports free --duration 15 --rate 8 --hit-rate 0.3"
    result = subprocess.run(
        ["make", "--silent", "demo", f"DEMO_ARGS={args}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, out[-3000:] + result.stderr[-3000:]
    for username in ("cso", "trainer", "admin", "manager", "rtcc", "detective", "auditor"):
        assert re.search(rf"^  {username} +\w+ +TOTP secret [A-Z2-7]{{32}}", out, re.M), out
    done = re.search(r"done: reads posted (\d+), stored (\d+), hot (\d+), alerts (\d+)", out)
    assert done, out[-3000:]
    posted, stored, hot, alerts = map(int, done.groups())
    assert posted > 20 and stored == posted
    assert hot > 0 and alerts > 0
