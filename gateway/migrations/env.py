from alpr_common.migrations import run_env
from alpr_gateway.models import metadata

run_env(metadata, service="gateway")
