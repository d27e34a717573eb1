"""The payout engine's jobs: send, confirm, finalize (scheduled, on demand, and reconcile)."""

from __future__ import annotations

from typing import Any

from chalicelib.core.outbox.confirmer import confirm_pass
from chalicelib.core.outbox.engine import Run, with_run
from chalicelib.core.outbox.finalize import run_finalizers
from chalicelib.core.outbox.sender import send_pass
from chalicelib.core.runtime import Runtime


def run_sender(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return with_run(rt, deadline_ms, send_pass)


def run_confirmer(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return with_run(rt, deadline_ms, confirm_pass)


def run_engine(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """One tick: send what is due, follow what was sent, tell the flows what ended.

    Sending and confirming share the wallet's lease, so they run in one invocation rather than
    two schedules that would keep finding the lease held by each other.
    """

    def both(run: Run) -> None:
        send_pass(run)
        confirm_pass(run)

    summary = with_run(rt, deadline_ms, both)
    finalized = run_finalizers(rt, deadline_ms)
    return {**summary, **{f"finalize_{k}": v for k, v in finalized.items()}}
