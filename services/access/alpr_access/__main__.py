from alpr_common.cli import run

from alpr_access.cli import COMMANDS
from alpr_access.main import SPEC

run(SPEC, commands=COMMANDS)
