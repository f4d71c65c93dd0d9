import pytest

from alpr_hotlist.main import SPEC


@pytest.fixture
def service_spec():
    return SPEC
