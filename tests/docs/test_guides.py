"""The guides in docs/ run as written: every shell example of docs/getting-started.md (and of
docs/vendors.md) against a fresh suite on the embedded default (SQLite, as `make run`), each
answer compared with the one the guide shows (tests/helpers/docs.py says how)."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from alpr_common.suite import SERVICES, Suite, free_port
from tests.helpers.docs import ROOT, Session, check, examples

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="module")
def fresh_suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """A suite of its own: the guide starts from an empty one (its first step makes the first
    CSO, which a suite shared with other tests already has)."""
    s = Suite(state_dir=tmp_path_factory.mktemp("guide"), ports={v: free_port() for v in SERVICES})
    s.migrate()
    s.start()
    try:
        s.wait_ready(timeout=120)
        yield s
    finally:
        s.stop()


def _run_guide(session: Session, guide: Path) -> None:
    found = examples(guide)
    assert found, f"{guide} has no examples"
    for example in found:
        output = session.run(example.command)
        problem = check(example, output)
        assert problem is None, f"{guide.name} line {example.line}: {problem}"


def test_getting_started_then_the_vendors_guide_run_as_written(fresh_suite, tmp_path):
    """One terminal session, as a newcomer's: the vendors' guide reuses getting-started's
    variables (the CSO's and the administrator's tokens)."""
    env = {**os.environ, **fresh_suite.env(), "ALPR": fresh_suite.url("gateway")}
    session = Session(tmp_path / "shell-state", {**env, "TMPDIR": str(tmp_path)})
    _run_guide(session, ROOT / "docs" / "getting-started.md")
    _run_guide(session, ROOT / "docs" / "vendors.md")
