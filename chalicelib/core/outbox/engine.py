"""The payout engine's run context: one wallet, one lease, one deadline, one summary.

Only the holder of the wallet's lease assigns nonces, signs and broadcasts; every write that
depends on holding it carries the lease's fence. A run stops before the Lambda deadline and the
next run resumes from what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.leases import Lease, LeaseHeld, acquire
from chalicelib.core.outbox.model import WALLET_STATUSES, payout_key, queue, wallet_queues
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import DynamoStore, Item, Op, update_op

if TYPE_CHECKING:
    from chalicelib.core.chain import Signer, Web3Chain


@dataclass
class Run:
    rt: Runtime
    chain: Web3Chain
    signer: Signer
    lease: Lease
    deadline_ms: int
    # Only the active wallet takes new intents; a retiring one drains what it signed already.
    active: bool = True
    summary: Counter[str] = field(default_factory=Counter)
    # Per-run memo of chain facts that do not change within a run (fees, which addresses
    # are contracts), so each payout does not pay for the same RPC calls again.
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def store(self) -> DynamoStore:
        return self.rt.store

    @property
    def wallet(self) -> str:
        return self.signer.address

    def owns(self, payout: Item) -> bool:
        """Whether `payout` holds a nonce of this run's wallet (only then may it act on it)."""
        return str(payout.get("wallet", "")).lower() == self.wallet.lower()

    def mine(self, status: str) -> list[Item]:
        """This wallet's payouts in `status`, each re-read from its base item (all of them)."""
        return list(self.each_mine(status))

    def each_mine(self, status: str) -> Iterator[Item]:
        """This wallet's payouts in `status`, oldest first, each re-read from its base item
        only when the caller asks for the next one.

        The work index is eventually consistent: its copy may be older than the payout, so
        every decision is taken on the consistent base item, and items that moved on are
        skipped. Lazily, so a run that checks its deadline between payouts acts on the oldest
        of a backlog it could not even read in one run, instead of reading until it is late.
        """
        queues = wallet_queues(status, [self.wallet]) if status in WALLET_STATUSES else [
            queue(status)
        ]
        for copy in (c for q in queues for c in self.store.iter_work(q)):
            if not self.owns(copy):
                continue
            payout = self.store.get(**payout_key(copy["id"]))
            if payout is not None and payout["status"] == status and self.owns(payout):
                yield payout

    def now(self) -> int:
        return self.rt.clock.now_ms()

    def takes(self, payout: Item) -> bool:
        """Whether this run may give `payout` (an intent, no nonce yet) a nonce of its wallet.

        Only the active wallet of the payout's purpose does: a faucet run never signs an
        escrow payout, and a wallet that waits for funds holds up no other purpose's payouts.
        """
        if not self.active:
            return False
        purpose = payout.get("purpose")
        owner = self.rt.wallet(purpose) if purpose else self.rt.signer
        return owner is not None and owner.address.lower() == self.wallet.lower()

    def time_left(self) -> bool:
        """False once the run should stop to finish before its deadline and lease expiry."""
        now = self.now()
        margin = self.rt.settings.job_margin_ms
        if now + margin >= self.deadline_ms:
            return False
        if self.lease.remaining_ms() < self.rt.settings.lease_ttl_ms // 2:
            self.lease.renew(self.rt.settings.lease_ttl_ms)
        return True

    def transition(self, old: str, new: str) -> None:
        self.summary[f"{old}->{new}"] += 1

    def update(self, payout: Item, *, condition: Any, **changes: Any) -> Op:
        """One conditional change of a payout, as a transaction item."""
        changes.setdefault("updated_at", self.now())
        return update_op(
            payout_key(payout["id"]),
            set=changes,
            add={"version": 1},
            condition=condition,
            name="payout",
        )

    def commit(self, ops: list[Op]) -> None:
        """Write `ops` atomically and fenced: nothing lands unless we still hold the lease."""
        self.store.transact([*ops, self.lease.fence()])


def lease_name(wallet: str) -> str:
    return f"payout-engine#{wallet}"


def with_run(
    rt: Runtime, deadline_ms: int, body: Callable[[Run], None], signer: Signer | None = None
) -> dict[str, Any]:
    """Run `body` for one wallet (the shared one by default) under that wallet's lease.

    A held lease makes this run a no-op. A chain that stops answering ends the run early
    with everything stored; the caller goes on with what needs no chain (finalizers).
    """
    from chalicelib.core.chain import ChainUnavailable

    chain = rt.chain
    signer = signer or rt.signer
    if chain is None or signer is None:
        return {"skipped": "chain_disabled"}
    try:
        lease = acquire(rt.store, rt.clock, lease_name(signer.address), rt.settings.lease_ttl_ms)
    except LeaseHeld:
        return {"skipped": "lease_held"}
    active = rt.is_active(signer.address)
    run = Run(rt, chain, signer, lease, deadline_ms, active=active)
    try:
        body(run)
    except ChainUnavailable:
        run.summary["chain_unavailable"] += 1
    finally:
        lease.release()
    return dict(run.summary)
