"""Watch the local stack's processes: report at once what dies, restart only the job runner.

The store and the chain node hold the stack's whole state in memory (the table, the deployed
token and registry, the hot wallet's funds), so a restarted one would be an empty stand-in that
every request and every job tick then fails against. When either of them, or the API, exits,
the stack says which one, with its exit code and log, and stops. The job runner holds no state
(it resumes from the table under its lease), so it is restarted, with a message giving its new
PID.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from local.processes import Child, StackError

# How often the children are polled: a death is reported within this many seconds.
POLL_S = 0.5

WHAT = {"store": "DynamoDB-compatible store", "chain": "chain node (hardhat)", "api": "API"}


def describe_exit(child: Child, logs: Path) -> str:
    code = child.proc.returncode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
    return (
        f"the {WHAT.get(child.name, child.name)} (pid {child.proc.pid}) {how}; "
        f"see {logs / (child.name + '.log')}. Stopping the stack: run `make dev` again."
    )


def watch(
    vital: list[Child],
    jobs: Child,
    start_jobs: Callable[[], Child],
    logs: Path,
    say: Callable[[str], None],
) -> None:
    """Return never; raise StackError as soon as a vital child exits. Stops the job runner."""
    try:
        while True:
            time.sleep(POLL_S)
            for child in vital:
                if child.proc.poll() is not None:
                    raise StackError(describe_exit(child, logs))
            code = jobs.proc.poll()
            if code is not None:
                old = jobs.proc.pid
                jobs = start_jobs()
                say(f"job runner (pid {old}) exited ({code}); restarted it as pid {jobs.proc.pid}")
    finally:
        jobs.stop()
