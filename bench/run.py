"""`make bench`: every benchmark under bench/, one after the other, each printing its own table
of figures and ratios against this machine's ceilings measured in the same run. The headline
figures (lines a benchmark starts with `HEADLINE`: read to alert on the RTCC stream, ingest's API
against raw COPY) are printed again together at the end, so figures that trade against each other
are read side by side, from the same run."""

import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent
HEADLINE = "HEADLINE "


def main() -> int:
    scripts = sorted(HERE.glob("*/bench_*.py"))
    if len(sys.argv) > 1:
        scripts = [
            s for s in scripts if any(name in str(s.relative_to(HERE)) for name in sys.argv[1:])
        ]
    failed = []
    headlines: list[str] = []
    for script in scripts:
        print(f"\n=== {script.relative_to(HERE.parent)} ===", flush=True)
        started = time.monotonic()
        with subprocess.Popen(
            [sys.executable, "-u", str(script)], stdout=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                print(line, end="", flush=True)
                if line.startswith(HEADLINE):
                    headlines.append(f"{script.parent.name:>8}: {line[len(HEADLINE) :].strip()}")
        code = proc.returncode
        print(f"--- {script.name}: exit {code} in {time.monotonic() - started:.0f}s", flush=True)
        if code:
            failed.append(script.name)
    if headlines:
        print(f"\n=== headline figures of this run (load average {os.getloadavg()[0]:.1f}) ===")
        for line in headlines:
            print(line)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
