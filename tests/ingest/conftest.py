import pytest

from alpr_ingest.main import SPEC


@pytest.fixture
def service_spec():
    return SPEC
