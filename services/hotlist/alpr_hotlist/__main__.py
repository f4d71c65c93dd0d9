from alpr_hotlist.main import SPEC
from alpr_common.cli import run

run(SPEC)
