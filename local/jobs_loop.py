"""The local stand-in for EventBridge: calls the scheduled job functions every 2 seconds.

`make dev` runs it as its own process and restarts it when it dies, so you can kill it at any
moment (`kill -9 <pid>`, the PID the banner prints) and watch the payouts still land exactly
once.
"""

from __future__ import annotations

import time

from chalicelib import jobs
from chalicelib.core.log import log
from chalicelib.core.runtime import get_runtime

INTERVAL_S = 2.0
# Like a Lambda invocation: each tick has a deadline it must finish before.
TICK_BUDGET_MS = 30_000


def main() -> None:
    rt = get_runtime()
    while True:
        started = time.monotonic()
        try:
            summary = jobs.run_tick(rt, rt.clock.now_ms() + TICK_BUDGET_MS)
            # Log only ticks that did something (a count above zero), not "skipped" ones.
            busy = {
                name: counts
                for name, counts in summary.items()
                if any(isinstance(n, int) and n > 0 for n in counts.values())
            }
            if busy:
                log("jobs_tick", summary=busy)
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad tick
            log("jobs_tick_failed", error=type(exc).__name__)
        time.sleep(max(0.0, INTERVAL_S - (time.monotonic() - started)))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
