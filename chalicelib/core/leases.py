"""Leases: at most one holder of a named job at a time, with fencing.

A lease item carries the holder's random owner token and an expiry. Acquire succeeds when the
item is absent or expired; renew and release are conditioned on the token, so nobody can release
someone else's lease. Every write a holder makes under the lease includes `fence()` (a condition
check on the lease item in the same transaction), so a holder whose lease expired and was taken
over cannot write anything any more, even if it is still running.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from boto3.dynamodb.conditions import Attr

from chalicelib.core.clock import Clock
from chalicelib.core.errors import Conflict
from chalicelib.core.store import ConditionFailed, DynamoStore, Op, check_op, key


class LeaseHeld(Conflict):
    """Someone else holds the lease and it has not expired."""

    code = "lease_held"


class LeaseLost(Conflict):
    """Our lease expired and was taken, or was never ours."""

    code = "lease_lost"


def lease_key(name: str) -> dict[str, str]:
    return key(f"lease#{name}", "lease")


@dataclass
class Lease:
    name: str
    owner: str
    expires_at_ms: int
    store: DynamoStore
    clock: Clock

    def fence(self) -> Op:
        """A transaction item that fails unless we still hold this lease, unexpired."""
        return check_op(
            lease_key(self.name),
            Attr("owner").eq(self.owner) & Attr("expires_at").gt(self.clock.now_ms()),
            name="lease",
        )

    def remaining_ms(self) -> int:
        return self.expires_at_ms - self.clock.now_ms()

    def renew(self, ttl_ms: int) -> None:
        """Extend the expiry; LeaseLost if someone else holds it now."""
        now = self.clock.now_ms()
        try:
            self.store.update(
                lease_key(self.name),
                set={"expires_at": now + ttl_ms, "renewed_at": now},
                condition=Attr("owner").eq(self.owner),
            )
        except ConditionFailed as exc:
            raise LeaseLost(f"lease {self.name} is no longer ours") from exc
        self.expires_at_ms = now + ttl_ms

    def release(self) -> None:
        """Give the lease up; a no-op if it is no longer ours (never deletes another's)."""
        try:
            self.store.delete(lease_key(self.name), condition=Attr("owner").eq(self.owner))
        except ConditionFailed:
            pass


def acquire(store: DynamoStore, clock: Clock, name: str, ttl_ms: int) -> Lease:
    """Take the lease `name` if it is free or expired; LeaseHeld otherwise."""
    now = clock.now_ms()
    owner = secrets.token_hex(16)
    item = {
        **lease_key(name),
        "owner": owner,
        "expires_at": now + ttl_ms,
        "acquired_at": now,
        # Garbage only: an abandoned lease item disappears a day after it expired.
        "gc_at": (now + ttl_ms) // 1000 + 86_400,
    }
    try:
        store.put(item, condition=Attr("pk").not_exists() | Attr("expires_at").lte(now))
    except ConditionFailed as exc:
        raise LeaseHeld(f"lease {name} is held by another worker") from exc
    return Lease(name, owner, now + ttl_ms, store, clock)
