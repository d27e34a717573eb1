"""The hot wallet's nonce counter and solvency flag (one item per wallet).

The counter is the next nonce the service will assign. It only moves forward: by one inside the
transaction that gives a payout its nonce, or up to the chain's nonce when the chain is ahead
(something else used the wallet). It is never lowered.
"""

from __future__ import annotations

from boto3.dynamodb.conditions import Attr

from chalicelib.core.log import alert, log
from chalicelib.core.store import ConditionFailed, DynamoStore, Item, Key, Op, key, update_op


def wallet_key(address: str) -> Key:
    return key(f"wallet#{address}", "nonce")


def load_counter(store: DynamoStore, address: str, chain_nonce: int, now: int) -> tuple[int, Item]:
    """The counter, created at the chain's nonce on first use and raised if the chain is ahead;
    with the wallet's item as read (its solvency flag saves the sender a read and a write)."""
    item = store.get(**_split(wallet_key(address)))
    if item is None:
        fresh = {**wallet_key(address), "next_nonce": chain_nonce, "updated_at": now}
        try:
            store.put_new(fresh)
            return chain_nonce, fresh
        except ConditionFailed as exc:
            item = exc.item or {}
    current = int(item.get("next_nonce", 0))
    if current < chain_nonce:
        try:
            store.update(
                wallet_key(address),
                set={"next_nonce": chain_nonce, "updated_at": now},
                condition=Attr("next_nonce").eq(current),
            )
            log("nonce_counter_raised", wallet=address, old=current, new=chain_nonce)
            return chain_nonce, {**item, "next_nonce": chain_nonce}
        except ConditionFailed as exc:
            item = exc.item or item
            return int(item.get("next_nonce", chain_nonce)), item
    return current, item


def assign_op(address: str, nonce: int, now: int, count: int = 1) -> Op:
    """Advance the counter from exactly `nonce` by `count` (the caller's payouts take them)."""
    return update_op(
        wallet_key(address),
        set={"next_nonce": nonce + count, "updated_at": now},
        condition=Attr("next_nonce").eq(nonce),
        name="wallet",
    )


def mark_insolvent(
    store: DynamoStore, address: str, need: dict[str, int], have: dict[str, int], now: int
) -> None:
    """Record that payouts wait for funds; alert only on the transition (one alert, not per run)."""
    try:
        store.update(
            wallet_key(address),
            set={"insolvent_since": now},
            condition=Attr("insolvent_since").not_exists(),
        )
    except ConditionFailed:
        return
    alert("hot_wallet_insolvent", wallet=address, need=need, have=have)


def clear_insolvent(store: DynamoStore, address: str, item: Item | None) -> None:
    if item is None or "insolvent_since" not in item:
        return
    try:
        store.update(
            wallet_key(address),
            remove=["insolvent_since"],
            condition=Attr("insolvent_since").exists(),
        )
        log("hot_wallet_funded", wallet=address)
    except ConditionFailed:
        pass


def _split(k: Key) -> dict[str, str]:
    return {"pk": k["pk"], "sk": k["sk"]}
