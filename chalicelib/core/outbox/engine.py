"""The payout engine's run context: one wallet, one lease, one deadline, one summary.

Only the holder of the wallet's lease assigns nonces, signs and broadcasts; every write that
depends on holding it carries the lease's fence. A run stops before the Lambda deadline and the
next run resumes from what is stored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chalicelib.core.leases import Lease, LeaseHeld, acquire
from chalicelib.core.outbox.model import payout_key
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

    def now(self) -> int:
        return self.rt.clock.now_ms()

    def owns(self, payout: Item) -> bool:
        """Whether this run's wallet is the one that signs `payout`.

        A signed payout belongs to the wallet that holds its nonce; an unsigned one to the wallet
        of its purpose (never another: a faucet run never touches an escrow payout).
        """
        if payout.get("wallet"):
            return str(payout["wallet"]).lower() == self.wallet.lower()
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
    """Run `body` for every wallet (or just `signer`'s), each under its own lease.

    Wallets of different purposes have separate nonce lanes: one that waits for funds or holds
    a long queue never delays another. A held lease makes that wallet's part a no-op.
    """
    if signer is None:
        if rt.chain is None:
            return {"skipped": "chain_disabled"}
        parts = [with_run(rt, deadline_ms, body, one) for one in rt.wallets.signers()]
        worked = [p for p in parts if "skipped" not in p]
        if not worked:
            return parts[0] if parts else {"skipped": "no_wallet"}
        total: Counter[str] = Counter()
        for part in worked:
            total.update(part)
        return dict(total)
    chain = rt.chain
    if chain is None:
        return {"skipped": "chain_disabled"}
    try:
        lease = acquire(rt.store, rt.clock, lease_name(signer.address), rt.settings.lease_ttl_ms)
    except LeaseHeld:
        return {"skipped": "lease_held"}
    run = Run(rt, chain, signer, lease, deadline_ms)
    try:
        body(run)
    finally:
        lease.release()
    return dict(run.summary)
