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
from dataclasses import dataclass
from pathlib import Path

from local.processes import Child, StackError

# How often the children are polled: a death is reported within this many seconds.
POLL_S = 0.5

WHAT = {"store": "DynamoDB-compatible store", "chain": "chain node (hardhat)", "api": "API"}


@dataclass
class Stack:
    """What is watched. A control step (a key rotation) may swap the API and the job runner."""

    vital: list[Child]  # store, chain node, API: the caller's list, so it stops what is current
    jobs: Child
    start_jobs: Callable[[], Child]

    def replace(self, new: Child) -> None:
        self.vital[[c.name for c in self.vital].index(new.name)] = new


def describe_exit(child: Child, logs: Path) -> str:
    code = child.proc.returncode
    how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
    return (
        f"the {WHAT.get(child.name, child.name)} (pid {child.proc.pid}) {how}; "
        f"see {logs / (child.name + '.log')}. Stopping the stack: run `make dev` again."
    )


def watch(
    stack: Stack,
    logs: Path,
    say: Callable[[str], None],
    control: Callable[[Stack], None] | None = None,
) -> None:
    """Return never; raise StackError as soon as a vital child exits. Stops the job runner.

    `control` runs between polls (it answers an operator's request, such as a key rotation).
    """
    try:
        while True:
            time.sleep(POLL_S)
            if control is not None:
                control(stack)
            for child in stack.vital:
                if child.proc.poll() is not None:
                    raise StackError(describe_exit(child, logs))
            code = stack.jobs.proc.poll()
            if code is not None:
                old = stack.jobs.proc.pid
                stack.jobs = stack.start_jobs()
                say(
                    f"job runner (pid {old}) exited ({code}); "
                    f"restarted it as pid {stack.jobs.proc.pid}"
                )
    finally:
        stack.jobs.stop()
