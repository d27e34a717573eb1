"""Cold start: importing `app` (non-chain routes) vs a bare Chalice app importing boto3.

Each figure is the median of 10 fresh interpreter processes; the ratio is what to compare
(target <= 1.3x), since absolute times depend on the machine.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10

APP = "import app"
BARE = "import boto3; from chalice import Chalice; Chalice(app_name='bare')"
CHAIN_MODULES = (
    "import sys, app; print(sorted(m for m in ('web3', 'eth_account') if m in sys.modules))"
)
TIMER = "import time; t=time.perf_counter(); {code}; print(time.perf_counter()-t)"


def once(code: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(code=code)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def measure() -> tuple[float, float]:
    """Medians for (bare, app), measured alternately so drift hits both alike."""
    bare, app = [], []
    for _ in range(RUNS):
        bare.append(once(BARE))
        app.append(once(APP))
    return statistics.median(bare), statistics.median(app)


def main() -> None:
    bare, app = measure()
    loaded = subprocess.run(
        [sys.executable, "-c", CHAIN_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"cold start: bare chalice+boto3 {bare * 1000:.0f} ms, app {app * 1000:.0f} ms "
        f"(median of {RUNS})"
    )
    print(f"cold start ratio app/bare: {app / bare:.2f}x (target <= 1.30x)")
    print(f"chain libraries imported by app: {loaded}")


if __name__ == "__main__":
    main()
