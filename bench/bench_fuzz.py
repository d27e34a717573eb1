"""Fuzzing figures: requests Schemathesis generated against the app, and server errors (target 0).

Runs the suite's Schemathesis test (`tests/e2e/test_openapi_fuzz.py`, the same bound as CI) and
reads the counts it records; also prints the wall time (CI budget: about two minutes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stats = Path(tmp) / "fuzz.json"
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "tests/e2e/test_openapi_fuzz.py"],
            cwd=ROOT, env={**os.environ, "SETTLEKIT_FUZZ_STATS": str(stats)},
            capture_output=True, text=True, check=False,
        )
        elapsed = time.perf_counter() - started
        if not stats.exists():
            print(proc.stdout[-3000:], proc.stderr[-3000:])
            raise SystemExit("the fuzz run recorded no figures")
        figures = json.loads(stats.read_text())
    verdict = "passed" if proc.returncode == 0 else "FAILED"
    print(f"schemathesis: {figures['requests']} requests over {figures['operations']} operations, "
          f"{figures['server_errors']} server errors (target 0), run {verdict} in {elapsed:.0f} s")


if __name__ == "__main__":
    main()
