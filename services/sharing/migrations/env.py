from alpr_sharing.models import metadata
from alpr_common.migrations import run_env

run_env(metadata, service="sharing")
