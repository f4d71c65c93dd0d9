from alpr_access.models import metadata
from alpr_common.migrations import run_env

run_env(metadata, service="access")
