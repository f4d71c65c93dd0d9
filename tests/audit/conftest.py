import pytest

from alpr_audit.main import SPEC


@pytest.fixture
def service_spec():
    return SPEC
