from alpr_audit.models import metadata
from alpr_common.migrations import run_env

run_env(metadata, service="audit")
