from alpr_audit.commands import COMMANDS
from alpr_audit.main import SPEC
from alpr_common.cli import run

run(SPEC, commands=COMMANDS)
