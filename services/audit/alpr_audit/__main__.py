from alpr_common.cli import run

from alpr_audit.commands import COMMANDS
from alpr_audit.main import SPEC

run(SPEC, commands=COMMANDS)
