import pytest

from alpr_access.main import SPEC


@pytest.fixture
def service_spec():
    return SPEC
