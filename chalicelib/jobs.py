"""The scheduled jobs, in the order one tick runs them.

`app.py` wires each to an EventBridge schedule; the local runner calls the same functions in a
loop. Every job is idempotent: a duplicated or overlapping invocation is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chalicelib.core.runtime import Runtime

Job = Callable[[Runtime, int], dict[str, Any]]

# Filled by the flows (payout sender and confirmer, reconcilers, anchoring) as they land.
SCHEDULED_JOBS: list[tuple[str, Job]] = []


def run_tick(rt: Runtime, deadline_ms: int) -> dict[str, dict[str, Any]]:
    """Run every job once, in order, each bounded by the same deadline."""
    return {name: job(rt, deadline_ms) for name, job in SCHEDULED_JOBS}
