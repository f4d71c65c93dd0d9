from alpr_ingest.models import metadata
from alpr_common.migrations import run_env

run_env(metadata, service="ingest")
