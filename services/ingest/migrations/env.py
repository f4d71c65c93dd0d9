from alpr_common.migrations import run_env
from alpr_ingest.models import metadata

run_env(metadata, service="ingest")
