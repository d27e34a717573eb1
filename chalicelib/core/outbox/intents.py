"""Payout intents: what a flow writes, in its own transaction, to have tokens sent exactly once.

A flow builds the intent with `intent_op` and puts it in the same `TransactWriteItems` as its own
state change (a claimed code, a settling order), so neither can exist without the other. The id
comes from the idempotency key: the same key with the same parameters is the same payout; with
other parameters it is refused (409 `idempotency_key_conflict`).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.core.addresses import normalize_address
from chalicelib.core.errors import BadRequest, Conflict
from chalicelib.core.money import MAX_UINT256
from chalicelib.core.outbox import purposes
from chalicelib.core.outbox.model import NATIVE, REQUESTED, index_fields, payout_id, payout_key
from chalicelib.core.store import DynamoStore, Item, Op, TransactionFailed, put_op

INTENT_OP = "payout"
MAX_KEY_LENGTH = 200


class IdempotencyKeyConflict(Conflict):
    """The idempotency key already names a payout with other parameters."""

    code = "idempotency_key_conflict"


@dataclass(frozen=True)
class Intent:
    """What to pay, to whom, on behalf of which flow item."""

    key: str
    asset: str
    to: str
    amount: int
    owner_type: str
    owner_id: str
    data: str | None = None  # calldata for contract calls (anchoring); None for transfers
    purpose: str = ""  # whose wallet pays: escrow, faucet or anchor (see purposes.py)

    @property
    def id(self) -> str:
        return payout_id(self.key)

    def same_as(self, item: Item) -> bool:
        return (
            item.get("asset") == self.asset
            and item.get("to") == self.to
            and int(item.get("amount", -1)) == self.amount
            and item.get("data") == self.data
            and item.get("owner_type") == self.owner_type
            and item.get("owner_id") == self.owner_id
            and item.get("purpose") == self.purpose
        )


def make_intent(
    key: str,
    asset: str,
    to: str,
    amount: int,
    owner_type: str,
    owner_id: str,
    data: str | None = None,
    *,
    purpose: str,
) -> Intent:
    """Validate and normalise the parameters of a payout paid from `purpose`'s wallet."""
    purposes.check(owner_type, purpose)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise BadRequest("payout key must be 1..200 characters", code="invalid_payout_key")
    if asset != NATIVE:
        asset = normalize_address(asset, field="asset")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_UINT256:
        raise BadRequest("amount must be an integer of base units", code="invalid_amount")
    if amount == 0 and data is None:
        raise BadRequest("amount must be greater than zero", code="invalid_amount")
    to = normalize_address(to, field="to")
    return Intent(key, asset, to, amount, owner_type, owner_id, data, purpose)


def intent_item(intent: Intent, now: int) -> Item:
    pid = intent.id
    return {
        **payout_key(pid),
        "id": pid,
        "idem_key": intent.key,
        "asset": intent.asset,
        "to": intent.to,
        "amount": str(intent.amount),  # uint256 does not fit a DynamoDB number
        "data": intent.data,
        "owner_type": intent.owner_type,
        "owner_id": intent.owner_id,
        "purpose": intent.purpose,
        "status": REQUESTED,
        "attempts": [],
        "version": 1,
        "created_at": now,
        "updated_at": now,
        **index_fields(REQUESTED, now, pid, purpose=intent.purpose),
    }


def intent_op(intent: Intent, now: int) -> Op:
    """The transaction item that creates the payout (fails if its key already exists).

    Refuses (WrongWallet) an intent whose owner may not spend from its purpose's wallet, however
    the intent was built.
    """
    purposes.check(intent.owner_type, intent.purpose)
    return put_op(intent_item(intent, now), if_absent=True, name=INTENT_OP)


def existing_or_conflict(intent: Intent, failed: TransactionFailed) -> Item | None:
    """After a failed transaction: the existing same payout, or IdempotencyKeyConflict.

    Returns None when the payout item was not what failed (another condition lost).
    """
    failure = failed.failed(INTENT_OP)
    if failure is None or failure.item is None:
        return None
    if not intent.same_as(failure.item):
        raise IdempotencyKeyConflict(
            "this idempotency key already names a payout with other parameters",
            details={"payout_id": intent.id},
        )
    return failure.item


def request_payout(
    store: DynamoStore, intent: Intent, now: int, extra: list[Op] | None = None
) -> tuple[Item, bool]:
    """Create the payout (with any of the flow's own ops); idempotent by key.

    Returns the payout and whether this call created it (False: it existed, same parameters).
    """
    try:
        store.transact([intent_op(intent, now), *(extra or [])])
    except TransactionFailed as exc:
        existing = existing_or_conflict(intent, exc)
        if existing is None:
            raise
        return existing, False
    return intent_item(intent, now), True
