"""Leases: one holder at a time, expiry, owner-only renew/release, fencing of stale holders."""

from __future__ import annotations

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.leases import Lease, LeaseHeld, LeaseLost, acquire, lease_key
from chalicelib.core.store import DynamoStore, TransactionFailed, key, put_op, update_op

TTL = 30_000


def _lease_item(store: DynamoStore, name: str) -> dict | None:
    k = lease_key(name)
    return store.get(k["pk"], k["sk"])


def test_acquire_records_owner_and_expiry(moto_store: DynamoStore, clock: FixedClock) -> None:
    lease = acquire(moto_store, clock, "sender", TTL)
    item = _lease_item(moto_store, "sender")
    assert item is not None
    assert item["owner"] == lease.owner and len(lease.owner) >= 32
    assert item["expires_at"] == clock.now_ms() + TTL == lease.expires_at_ms
    assert item["gc_at"] > (clock.now_ms() + TTL) // 1000  # garbage collection comes later
    assert lease.remaining_ms() == TTL


def test_a_second_acquirer_is_refused_while_the_lease_is_held(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    first = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL - 1)
    with pytest.raises(LeaseHeld) as info:
        acquire(moto_store, clock, "sender", TTL)
    assert info.value.status == 409 and info.value.code == "lease_held"
    assert _lease_item(moto_store, "sender")["owner"] == first.owner
    # Other lease names are independent.
    acquire(moto_store, clock, "confirm", TTL)


def test_acquire_succeeds_after_expiry_and_the_old_holder_cannot_renew(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    old = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL + 1)
    new = acquire(moto_store, clock, "sender", TTL)
    assert new.owner != old.owner
    with pytest.raises(LeaseLost) as info:
        old.renew(TTL)
    assert info.value.code == "lease_lost"
    item = _lease_item(moto_store, "sender")
    assert item["owner"] == new.owner
    assert item["expires_at"] == new.expires_at_ms


def test_renew_by_the_holder_extends_the_lease(moto_store: DynamoStore, clock: FixedClock) -> None:
    lease = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL - 1_000)
    lease.renew(TTL)
    assert lease.expires_at_ms == clock.now_ms() + TTL
    assert _lease_item(moto_store, "sender")["expires_at"] == lease.expires_at_ms
    clock.advance(5_000)  # past the original expiry, within the renewed one
    with pytest.raises(LeaseHeld):
        acquire(moto_store, clock, "sender", TTL)


def test_release_by_a_non_owner_does_not_delete_the_lease(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    holder = acquire(moto_store, clock, "sender", TTL)
    impostor = Lease("sender", "0" * 32, holder.expires_at_ms, moto_store, clock)
    impostor.release()  # a no-op, not an error
    assert _lease_item(moto_store, "sender")["owner"] == holder.owner
    with pytest.raises(LeaseHeld):
        acquire(moto_store, clock, "sender", TTL)


def test_release_by_the_owner_frees_the_lease(moto_store: DynamoStore, clock: FixedClock) -> None:
    holder = acquire(moto_store, clock, "sender", TTL)
    holder.release()
    assert _lease_item(moto_store, "sender") is None
    again = acquire(moto_store, clock, "sender", TTL)
    assert again.owner != holder.owner


def test_an_old_holder_releasing_after_takeover_leaves_the_new_lease(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    old = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL)
    new = acquire(moto_store, clock, "sender", TTL)
    old.release()
    assert _lease_item(moto_store, "sender")["owner"] == new.owner


def test_a_holder_whose_lease_was_stolen_cannot_write_under_it(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    moto_store.put_new({**key("nonce", "meta"), "next": 7})
    old = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL + 1)
    new = acquire(moto_store, clock, "sender", TTL)

    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([
            old.fence(),
            update_op(key("nonce", "meta"), add={"next": 1}, name="nonce"),
            put_op({**key("payout#old", "meta"), "nonce": 7}, if_absent=True, name="payout"),
        ])
    failure = info.value.failed("lease")
    assert failure is not None
    assert failure.reason == "ConditionalCheckFailed"
    assert failure.item["owner"] == new.owner
    assert [f.name for f in info.value.failures] == ["lease"]
    assert moto_store.get("nonce", "meta")["next"] == 7
    assert moto_store.get("payout#old", "meta") is None

    moto_store.transact([
        new.fence(),
        update_op(key("nonce", "meta"), add={"next": 1}, name="nonce"),
        put_op({**key("payout#new", "meta"), "nonce": 7}, if_absent=True, name="payout"),
    ])
    assert moto_store.get("nonce", "meta")["next"] == 8
    assert moto_store.get("payout#new", "meta")["nonce"] == 7


def test_an_expired_lease_fences_its_holder_even_before_anyone_takes_it(
    moto_store: DynamoStore, clock: FixedClock
) -> None:
    lease = acquire(moto_store, clock, "sender", TTL)
    clock.advance(TTL)
    with pytest.raises(TransactionFailed) as info:
        moto_store.transact([lease.fence(), put_op({**key("x", "meta")}, name="x")])
    assert info.value.failed("lease") is not None
    assert moto_store.get("x", "meta") is None
