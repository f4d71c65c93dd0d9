from alpr_common.cli import run
from alpr_sharing.cli import COMMANDS
from alpr_sharing.main import SPEC

run(SPEC, commands=COMMANDS)
