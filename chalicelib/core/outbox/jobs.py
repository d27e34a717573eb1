"""The payout engine's jobs: send, confirm, finalize (scheduled, on demand, and reconcile).

Every pass works for one wallet at a time, under that wallet's lease: the active wallet sends
new intents and follows its own; each retiring wallet (a rotated-out key) only follows and
unsticks the payouts it signed, until none is left.

Lanes: each purpose (escrow, faucet, anchor) is a lane that works only for its own wallet
(`run_lane`), so lanes can run at the same time (one Lambda or one thread each) and a faucet
burst never holds up a settlement or an anchor. The wallets' leases keep them safe to overlap.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.core.leases import LeaseHeld, acquire
from chalicelib.core.outbox.confirmer import confirm_pass
from chalicelib.core.outbox.engine import Run, with_run
from chalicelib.core.outbox.finalize import run_finalizers
from chalicelib.core.outbox.model import finalize_queue
from chalicelib.core.outbox.sender import send_pass
from chalicelib.core.runtime import Runtime
from chalicelib.core.wallets import ANCHOR, PURPOSES

if TYPE_CHECKING:
    from chalicelib.core.signer import HotSigner

FINALIZE_LEASE = "payout-finalizers"


def lane_signers(rt: Runtime, lane: str) -> list[HotSigner]:
    """The wallets lane `lane` works for.

    Its purpose's active wallet, unless that wallet is shared and an earlier purpose's lane
    already works for it (one lane per wallet, not two fighting for its lease), then the
    retiring wallets assigned to it (`escrow=...`; unassigned ones ride in the anchor lane,
    the quietest). In AWS a lane's role may sign with exactly these keys (wallets.lane_specs).
    """
    if lane not in PURPOSES:
        raise ValueError(f"unknown payout lane {lane!r}")
    signer = rt.wallet(lane)
    own = [signer] if signer and rt.wallets.purposes_of(signer.address)[0] == lane else []
    return own + rt.retiring_by_lane[lane]


def _both(run: Run) -> None:
    send_pass(run)
    confirm_pass(run)


def run_lane(rt: Runtime, deadline_ms: int, lane: str) -> dict[str, Any]:
    """Send and follow the payouts of one lane's wallet(s); no finalizers (`run_finalize`)."""
    signers = lane_signers(rt, lane)
    if not signers:
        return {"skipped": "no_wallet"}
    return _every_wallet(rt, deadline_ms, _both, signers)


def run_finalize(rt: Runtime, deadline_ms: int, lane: str | None = None) -> dict[str, Any]:
    """Tell the flows how their payouts ended: `lane`'s purpose only (the anchor lane also
    takes the markers without a purpose), or every purpose's. Each purpose's markers under a
    lease of their own: lanes running at the same time never call a finalizer twice at once,
    and never wait for another purpose's backlog."""
    purposes: list[str | None] = [*PURPOSES, None] if lane is None else [lane]
    if lane == ANCHOR:
        purposes.append(None)
    total: Counter[str] = Counter()
    skipped: dict[str, Any] = {}
    for i, purpose in enumerate(purposes):
        name = FINALIZE_LEASE if purpose is None else f"{FINALIZE_LEASE}#{purpose}"
        try:
            lease = acquire(rt.store, rt.clock, name, rt.settings.lease_ttl_ms)
        except LeaseHeld:
            skipped["finalize_skipped"] = "lease_held"
            continue
        try:
            share = _share(rt, deadline_ms, len(purposes) - i - 1)
            done = run_finalizers(rt, share, [finalize_queue(purpose)])
            total.update({f"finalize_{k}": v for k, v in done.items()})
        finally:
            lease.release()
    return {**skipped, **total}


def _every_wallet(
    rt: Runtime,
    deadline_ms: int,
    body: Callable[[Run], None],
    signers: list[HotSigner] | None = None,
) -> dict[str, Any]:
    signers = rt.signers if signers is None else signers
    if not signers:
        return with_run(rt, deadline_ms, body)  # reports chain_disabled
    total: Counter[str] = Counter()
    skipped: dict[str, Any] = {}
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

    summary = _every_wallet(rt, deadline_ms, _both)
    return {**summary, **run_finalize(rt, deadline_ms)}
