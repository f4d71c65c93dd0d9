from alpr_common.cli import run
from alpr_hotlist.main import SPEC

run(SPEC)
