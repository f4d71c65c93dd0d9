"""`make bench`: every benchmark under bench/, one after the other, each printing its own table
of figures and ratios against this machine's ceilings measured in the same run."""

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    scripts = sorted(HERE.glob("*/bench_*.py"))
    if len(sys.argv) > 1:
        scripts = [
            s for s in scripts if any(name in str(s.relative_to(HERE)) for name in sys.argv[1:])
        ]
    failed = []
    for script in scripts:
        print(f"\n=== {script.relative_to(HERE.parent)} ===", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)])
        print(f"--- {script.name}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
