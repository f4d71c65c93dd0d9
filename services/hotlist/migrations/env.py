from alpr_hotlist.models import metadata
from alpr_common.migrations import run_env

run_env(metadata, service="hotlist")
