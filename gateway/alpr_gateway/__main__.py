from alpr_common.cli import run
from alpr_gateway.main import SPEC

run(SPEC)
