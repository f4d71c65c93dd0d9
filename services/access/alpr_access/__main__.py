from alpr_access.main import SPEC
from alpr_common.cli import run

run(SPEC)
