"""`serve --workers N`: several processes on one port, PostgreSQL only (the end-to-end suite runs
ingest that way on PostgreSQL)."""

import os
import subprocess
import sys


def test_several_workers_are_refused_on_sqlite(tmp_path):
    env = dict(os.environ)
    env["SHARING_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'sharing.db'}"
    env["SHARING_ENVIRONMENT"] = "test"
    result = subprocess.run(
        [sys.executable, "-m", "alpr_sharing", "serve", "--workers", "2", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "need PostgreSQL" in result.stderr
