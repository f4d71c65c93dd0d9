from alpr_audit.cli import COMMANDS
from alpr_audit.main import SPEC
from alpr_common.cli import run

run(SPEC, commands=COMMANDS)
