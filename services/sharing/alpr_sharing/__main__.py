from alpr_sharing.main import SPEC
from alpr_common.cli import run

run(SPEC)
