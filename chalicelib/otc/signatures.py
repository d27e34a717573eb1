"""The OTC actions a wallet signs (EIP-712, the service's one wire format), registered once.

The body of each request is the action's fields plus `deadline` and `signature`; the order id
from the URL is signed too (`order_id`). `GET /v1/typed-data/{action}` serves each struct.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import signing
from chalicelib.core.runtime import Runtime
from chalicelib.core.signing import Action, Field, SignedAction
from chalicelib.core.store import Op, TransactionFailed

CREATE_ORDER = signing.register(
    Action(
        "create_order",
        "CreateOrder",
        signer_field="maker",
        fields=(
            Field("maker", "address"),
            Field("pair", "string"),
            Field("side", "string"),
            Field("amount", "string"),
            Field("price", "string"),
            Field("ttl_seconds", "uint256"),
            Field("deposit_tx", "string"),
        ),
        description="OTC: open an order funded by a deposit to the escrow address",
    )
)
MATCH_ORDER = signing.register(
    Action(
        "match_order",
        "MatchOrder",
        signer_field="taker",
        # External pairs take no deposit from the buyer (QUOTE moves on the other chain).
        fields=(Field("taker", "address"), Field("deposit_tx", "string", default="")),
        path_field="order_id",
        description="OTC: take an open order (deposit_tx funds your side on on-chain pairs)",
    )
)
CONFIRM_ORDER = signing.register(
    Action(
        "confirm_order",
        "ConfirmOrder",
        signer_field="seller",
        fields=(Field("seller", "address"), Field("quote_reference", "string")),
        path_field="order_id",
        description="OTC external pairs: the seller confirms the buyer's hash-locked QUOTE",
    )
)
CANCEL_ORDER = signing.register(
    Action(
        "cancel_order",
        "CancelOrder",
        signer_field="maker",
        fields=(Field("maker", "address"),),
        path_field="order_id",
        description="OTC: cancel your open order; its deposit is refunded",
    )
)
READ_SECRET = signing.register(
    Action(
        "read_secret",
        "ReadSecret",
        signer_field="seller",
        fields=(Field("seller", "address"),),
        path_field="order_id",
        description="OTC external pairs: the seller reads the hash-lock secret once completed",
    )
)
REFUND_DEPOSIT = signing.register(
    Action(
        "refund_deposit",
        "RefundDeposit",
        signer_field="sender",
        fields=(Field("sender", "address"), Field("asset", "string")),
        path_field="deposit_tx",
        description="OTC: get back a deposit to the escrow address that funds no order",
    )
)


def verify(
    rt: Runtime,
    action: Action,
    body: dict[str, Any],
    order_id: str | None = None,
    *,
    check_replay: bool = True,
) -> SignedAction:
    """400/401/403 unless `body` is signed by the wallet it names; 409 if already used.

    `check_replay=False` lets an action that may change nothing (a repeated confirm) answer
    with the current state; its transaction, if it makes one, still carries the guard.
    """
    signed = signing.verify(rt.settings, rt.clock.now_ms(), action, body, order_id)
    if check_replay:
        signing.ensure_unused(rt.store, signed)
    return signed


def guard_op(signed: SignedAction, now: int, ref: str) -> Op:
    """The replay guard, to put in the same transaction as the action's own change."""
    return signing.replay_guard_op(signed, now, ref)


def raise_if_replayed(exc: TransactionFailed) -> None:
    signing.raise_if_replayed(exc)
