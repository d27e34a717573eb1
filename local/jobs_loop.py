"""The local stand-in for EventBridge: calls the scheduled job functions every 2 seconds.

Each payout lane (escrow, faucet, anchor: one wallet each) runs in a thread of its own, as each
is a Lambda of its own in AWS, so a faucet burst never delays a settlement or an anchor; the
other jobs (anchors, OTC expiry/reconcile/reserves, finalizers, webhooks) run in the main
thread's tick. The wallets' leases make the overlap safe.

`make dev` runs it as its own process and restarts it when it dies, so you can kill it at any
moment (`kill -9 <pid>`, the PID the banner prints) and watch the payouts still land exactly
once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from chalicelib import jobs
from chalicelib.core.log import log
from chalicelib.core.runtime import Runtime, get_runtime
from chalicelib.core.wallets import PURPOSES

INTERVAL_S = 2.0
# Like a Lambda invocation: each tick has a deadline it must finish before.
TICK_BUDGET_MS = 30_000


def busy_part(summary: dict[str, Any]) -> dict[str, Any]:
    """What did something (a count above zero), not the "skipped" ones: what is worth a log."""
    out = {}
    for name, counts in summary.items():
        if isinstance(counts, dict):
            if any(isinstance(n, int) and n > 0 for n in counts.values()):
                out[name] = counts
        elif isinstance(counts, int) and counts > 0:
            out[name] = counts
    return out


def every(interval_s: float, stop: threading.Event, step: Callable[[], Any], name: str) -> None:
    """Call `step` every `interval_s` (back to back when it takes longer) until `stop` is set."""
    while not stop.is_set():
        started = time.monotonic()
        try:
            step()
        except Exception as exc:  # noqa: BLE001 - the loop must survive a bad tick
            log("jobs_tick_failed", job=name, error=type(exc).__name__)
        stop.wait(max(0.0, interval_s - (time.monotonic() - started)))


def start_lanes(
    rt: Runtime, stop: threading.Event, interval_s: float = INTERVAL_S
) -> list[threading.Thread]:
    """One daemon thread per payout lane, each with its own deadline per run."""

    def lane_step(lane: str) -> None:
        busy = busy_part(jobs.lane_sends(rt, rt.clock.now_ms() + TICK_BUDGET_MS, lane))
        if busy:
            log("jobs_tick", lane=lane, summary=busy)

    threads = [
        threading.Thread(
            target=every, args=(interval_s, stop, lambda lane=lane: lane_step(lane), lane),
            name=f"lane-{lane}", daemon=True,
        )
        for lane in PURPOSES
    ]
    for thread in threads:
        thread.start()
    return threads


def tick(rt: Runtime) -> None:
    """The jobs other than the lanes, once, in order."""
    summary = jobs.run_tick(rt, rt.clock.now_ms() + TICK_BUDGET_MS, jobs.LANELESS_JOBS)
    busy = busy_part(summary)
    if busy:
        log("jobs_tick", summary=busy)


def main() -> None:
    rt = get_runtime()
    stop = threading.Event()
    start_lanes(rt, stop)
    every(INTERVAL_S, stop, lambda: tick(rt), "tick")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
