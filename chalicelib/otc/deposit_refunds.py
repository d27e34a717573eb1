"""Refunds of stray deposits: a transfer to escrow that funds no order goes back to its sender.

A deposit the service verified but did not use (a match refused as the taker's own order, a
deposit below the amount asked, one too old to fund anything) is returned on the sender's signed
request (`refund_deposit`, the same EIP-712 wire format as the other OTC actions, the deposit's
tx hash bound from the URL). The deposit's tx guard and the refund payout are written in one
transaction: the tx can then never fund an order, and two concurrent requests make one refund
(the loser answers with the winner's payout). The whole amount that reached escrow goes back.
"""

from __future__ import annotations

from typing import Any

from chalicelib.core import payments
from chalicelib.core.assets import resolve_asset
from chalicelib.core.errors import NotFound
from chalicelib.core.log import log
from chalicelib.core.outbox import intents
from chalicelib.core.outbox.finalize import register_finalizer
from chalicelib.core.outbox.model import payout_id, payout_key, public_view
from chalicelib.core.outbox.purposes import register_owner
from chalicelib.core.runtime import Runtime
from chalicelib.core.store import Item, TransactionFailed
from chalicelib.core.wallets import ESCROW
from chalicelib.otc import deposits, signatures

OWNER_TYPE = "deposit_refund"
# A stray deposit went to escrow: it goes back from escrow, never from another purpose's wallet.
register_owner(OWNER_TYPE, ESCROW)

def refund_key(tx: str) -> str:
    return f"otc:deposit-refund:{tx}"


def refund_deposit(rt: Runtime, raw_tx: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """(202, the refund payout) once; (200, the same payout) for any repeat of the request."""
    tx = deposits.normalize_tx(raw_tx)
    now = rt.clock.now_ms()
    signed = signatures.verify(rt, signatures.REFUND_DEPOSIT, body, tx, check_replay=False)
    asset, _ = resolve_asset(rt.settings, signed.message["asset"])
    key = refund_key(tx)
    used = deposits.used_for(rt, tx)
    if used == key:
        return 200, _view(rt, key)
    if used is not None:
        raise deposits.already_used(used)
    paid = _proven(rt, tx, signed.signer, asset)
    refund = intents.make_intent(
        key, asset, signed.signer, paid.amount, OWNER_TYPE, tx, purpose=ESCROW
    )
    ops = [
        deposits.guard_op(tx, key, now),
        intents.intent_op(refund, now),
        signatures.guard_op(signed, now, tx),
    ]
    try:
        rt.store.transact(ops)
    except TransactionFailed as exc:
        if deposits.used_for(rt, tx) == key:
            return 200, _view(rt, key)  # a concurrent request made the refund: the same one
        signatures.raise_if_replayed(exc)
        deposits.raise_if_used(exc)
        raise
    log("otc_deposit_refund_requested", tx_hash=tx, payout_id=refund.id, sender=signed.signer)
    return 202, _view(rt, key)


def _proven(rt: Runtime, tx: str, sender: str, asset: str) -> payments.Payment:
    """What the deposit moved from `sender` to escrow (any age: it is theirs).

    Only escrow's wallets count: a transfer that funded the faucet or the anchor wallet is
    nobody's deposit, and escrow must never pay it back, not even once that wallet is retiring.
    """
    last: Exception | None = None
    escrow = rt.wallet(ESCROW)
    # A deposit made before a key rotation went to the old escrow wallet.
    for wallet in ([escrow] if escrow else []) + rt.retiring_of(ESCROW):
        expected = payments.Expected(tx, sender, wallet.address, asset, min_amount=1)
        try:
            return payments.verify_payment(rt.chain, expected, rt.settings.confirmations)
        except payments.WrongRecipient as exc:
            last = exc
    if last is None:
        raise NotFound("OTC trading is not configured on this deployment", code="otc_disabled")
    raise last


def _view(rt: Runtime, key: str) -> dict[str, Any]:
    payout = rt.store.get(**payout_key(payout_id(key)))
    assert payout is not None
    return {"refund": public_view(payout, rt.settings)}


def _finished(rt: Runtime, payout: Item) -> None:
    log("otc_deposit_refund_finished", tx_hash=payout["owner_id"], status=payout["status"])


register_finalizer(OWNER_TYPE, _finished)
