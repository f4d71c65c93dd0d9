"""`serve --workers N`: several processes on one port, PostgreSQL only (the end-to-end suite runs
ingest that way on PostgreSQL)."""

import os
import subprocess
import sys

import pytest

from alpr_common.cli import worker_env
from alpr_ingest.main import SPEC as INGEST


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


@pytest.mark.parametrize(("index", "delivers"), [(0, True), (1, False), (2, False)])
def test_each_worker_knows_its_place_and_only_the_first_delivers(monkeypatch, index, delivers):
    # The supervisor's environment for worker `index`, as the worker's settings read it.
    for key, value in worker_env(INGEST, index).items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("INGEST_RELAY_WORKERS", raising=False)
    settings = INGEST.settings_cls()
    assert settings.worker_index == index
    assert settings.delivers_outbox is delivers
