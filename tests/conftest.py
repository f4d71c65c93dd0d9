import sys
from pathlib import Path

# Shared test helpers (forged JWTs) live in tests/common and are imported by several folders.
sys.path.insert(0, str(Path(__file__).parent / "common"))
