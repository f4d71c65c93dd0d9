from alpr_access.cli import COMMANDS
from alpr_access.main import SPEC
from alpr_common.cli import run

run(SPEC, commands=COMMANDS)
