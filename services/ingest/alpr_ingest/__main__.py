from alpr_ingest.main import SPEC
from alpr_common.cli import run

run(SPEC)
