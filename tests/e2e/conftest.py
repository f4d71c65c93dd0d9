"""End-to-end: the six services as real processes on loopback ports, driven over HTTP through the
gateway. Runs on PostgreSQL when it is available (as in production and CI), else on SQLite."""

from collections.abc import Iterator

import httpx
import pytest

from alpr_common.suite import Suite
from tests.helpers.e2e import running_suite

pytestmark = [pytest.mark.e2e]


@pytest.fixture(scope="session")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    yield from running_suite(tmp_path_factory)


@pytest.fixture(scope="session")
def gateway(suite: Suite) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=suite.url("gateway"), timeout=15.0) as client:
        yield client
