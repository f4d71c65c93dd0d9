from alpr_common.cli import run
from alpr_ingest.cli import COMMANDS
from alpr_ingest.main import SPEC

run(SPEC, commands=COMMANDS)
