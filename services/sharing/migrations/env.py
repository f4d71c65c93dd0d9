from alpr_common.migrations import run_env
from alpr_sharing.models import metadata

run_env(metadata, service="sharing")
