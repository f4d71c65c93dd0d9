import pytest

from alpr_sharing.main import SPEC


@pytest.fixture
def service_spec():
    return SPEC
