"""End-to-end: the six services as real processes on loopback ports, driven over HTTP through the
gateway. Runs on PostgreSQL when it is available (as in production and CI), else on SQLite."""

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from alpr_common.suite import Suite
from alpr_common.testing.groups import group_names
from tests.helpers.e2e import running_suite

pytestmark = [pytest.mark.e2e]
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the session's suite runs on the worker that has it: each module marks itself
    `xdist_group("e2e")` (`--dist loadgroup`). Without the mark a second worker starts a whole
    suite of its own for that module (a minute of a run), and nothing fails."""
    for item in items:
        if HERE not in item.path.parents or "suite" not in getattr(item, "fixturenames", ()):
            continue
        if "e2e" not in group_names(item):
            raise pytest.UsageError(
                f"{item.nodeid}: add pytest.mark.xdist_group('e2e') to its module's pytestmark "
                "(the session's suite is started on one test worker)"
            )


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    yield from running_suite(tmp_path_factory)


@pytest.fixture(scope="session")
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.url("gateway"), timeout=15.0) as client:
        yield client
