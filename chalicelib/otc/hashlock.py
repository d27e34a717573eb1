"""The hash-lock secret of an external-pair order, and the one way it is ever released.

At match the service draws 32 random bytes; both parties see only their sha256 (`secret_hash`,
on the order), which the buyer uses to lock QUOTE on the other chain. The secret itself lives in
its own item that no view reads, and is released by `read_secret` alone: to the seller, who
signs for it, once the order is `completed` AND its BASE payout is final on chain (past the
chain's finality, not only confirmed: a re-org could still undo a confirmed payout, and a
released secret cannot be taken back; checked again here, so no bug elsewhere can release it
early). It never appears in a log line.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from chalicelib.core.errors import Conflict, Forbidden, NotFound
from chalicelib.core.log import log
from chalicelib.core.outbox.model import CONFIRMED, payout_key
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed
from chalicelib.otc import signatures
from chalicelib.otc.model import BASE_LEG, COMPLETED, secret_key
from chalicelib.otc.orders import load

SECRET_BYTES = 32


def new_secret(order_id: str) -> Item:
    """A fresh secret item for `order_id` (put in the match transaction)."""
    raw = secrets.token_bytes(SECRET_BYTES)
    return {
        **secret_key(order_id),
        "secret": "0x" + raw.hex(),
        "secret_hash": "0x" + hashlib.sha256(raw).hexdigest(),
    }


def read_secret(rt: Runtime, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
    now = rt.clock.now_ms()
    signed = signatures.verify(rt, signatures.READ_SECRET, body, order_id)
    order = load(rt, order_id)
    if not order.get("secret_hash"):
        raise NotFound("this order has no hash-lock secret", code="no_secret")
    if signed.signer != order.get("seller"):
        raise Forbidden("only the seller can read the secret", code="not_seller")
    if order["status"] != COMPLETED or not _base_final(rt, order):
        raise Conflict(
            "the secret is released once the BASE payout is final on chain",
            code="secret_not_released",
            details={"status": order["status"]},
        )
    item = rt.store.get(**secret_key(order_id))
    if item is None:
        raise NotFound("this order has no hash-lock secret", code="no_secret")
    try:
        # Each read spends its signature: a leaked request cannot be replayed for the secret.
        rt.store.transact([signatures.guard_op(signed, now, order_id)])
    except TransactionFailed as exc:
        signatures.raise_if_replayed(exc)
        raise
    log("otc_secret_released", order_id=order_id, seller=signed.signer)
    return {
        "order_id": order_id,
        "secret": item["secret"],
        "secret_hash": item["secret_hash"],
    }


def _base_final(rt: Runtime, order: Item) -> bool:
    pid = (order.get("payouts") or {}).get(BASE_LEG)
    if not pid:
        return False
    payout = rt.store.get(**payout_key(pid))
    return payout is not None and payout.get("status") == CONFIRMED and bool(payout.get("final_at"))
