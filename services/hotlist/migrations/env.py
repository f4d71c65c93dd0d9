from alpr_common.migrations import run_env
from alpr_hotlist.models import metadata

run_env(metadata, service="hotlist")
