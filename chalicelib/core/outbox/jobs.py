"""The payout engine's jobs: send, confirm, finalize (scheduled, on demand, and reconcile).

Every pass works for one wallet at a time, under that wallet's lease: the active wallet sends
new intents and follows its own; each retiring wallet (a rotated-out key) only follows and
unsticks the payouts it signed, until none is left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from chalicelib.core.outbox.confirmer import confirm_pass
from chalicelib.core.outbox.engine import Run, with_run
from chalicelib.core.outbox.finalize import run_finalizers
from chalicelib.core.outbox.sender import send_pass
from chalicelib.core.runtime import Runtime


def _every_wallet(rt: Runtime, deadline_ms: int, body: Callable[[Run], None]) -> dict[str, Any]:
    if not rt.signers:
        return with_run(rt, deadline_ms, body)  # reports chain_disabled
    total: Counter[str] = Counter()
    skipped: dict[str, Any] = {}
    signers = rt.signers
    for i, signer in enumerate(signers):
        summary = with_run(rt, _share(rt, deadline_ms, len(signers) - i), body, signer)
        for name, value in summary.items():
            if isinstance(value, int):
                total[name] += value
            else:
                skipped[name] = value
    return {**skipped, **total}


def _share(rt: Runtime, deadline_ms: int, lanes_left: int) -> int:
    """A wallet's deadline: an equal share of the time left, one share kept for what follows.

    So a wallet with a burst to send (the faucet at a busy event) can use up neither the other
    wallets' time nor the finalizers' that tell the flows, in the same invocation; what it did
    not finish, its next run continues.
    """
    now, margin = rt.clock.now_ms(), rt.settings.job_margin_ms
    left = deadline_ms - now - margin
    if left <= 0:
        return deadline_ms
    return now + margin + left // (lanes_left + 1)


def run_sender(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return _every_wallet(rt, deadline_ms, send_pass)


def run_confirmer(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    return _every_wallet(rt, deadline_ms, confirm_pass)


def run_engine(rt: Runtime, deadline_ms: int) -> dict[str, Any]:
    """One tick: send what is due, follow what was sent, tell the flows what ended.

    Sending and confirming share the wallet's lease, so they run in one invocation rather than
    two schedules that would keep finding the lease held by each other. Finalizers need no
    chain: they run even when the node is down.
    """

    def both(run: Run) -> None:
        send_pass(run)
        confirm_pass(run)

    summary = _every_wallet(rt, deadline_ms, both)
    finalized = run_finalizers(rt, deadline_ms)
    return {**summary, **{f"finalize_{k}": v for k, v in finalized.items()}}
